"""The default queue backend: a table in the run store's SQLite file (store version 3).

Every put and take is one committed write transaction (WAL), so an item put survives
a SIGKILL, and so does a lease: a consumer killed mid-run leaves its item leased until
`lease_until`, then the next `take` (this server restarted, or another process on the
same file) gets it again with `deliveries` one higher. BEGIN IMMEDIATE serialises
takers across processes: no two take the same lease.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from engine.server.queues.backend import Item, Outcome, check_name, encode_value
from engine.store.connection import connect, read, write
from engine.support import json_out


class SqliteQueue:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = f"sqlite:{path}"
        self._db = connect(path)  # migrated: the queue_items table exists
        self._lock = threading.Lock()  # one transaction at a time on this connection

    def _write(self, fn: Any) -> Any:
        with self._lock:
            return write(self._db, fn, self.path)

    def put(self, name: str, value: Any) -> str:
        check_name(name)
        text = encode_value(value)
        row_id = self._write(lambda db: db.execute(
            "INSERT INTO queue_items (queue, value, put_at) VALUES (?, ?, ?)",
            (name, text, time.time())).lastrowid)
        return str(row_id)

    def take(self, name: str, *, visibility_s: float, max_deliveries: int) -> Item | None:
        check_name(name)

        def attempt(db: sqlite3.Connection) -> Item | None:
            now = time.time()
            while True:
                row = db.execute(
                    "SELECT id, value, deliveries FROM queue_items WHERE queue = ? AND "
                    "state = 'ready' AND (lease_until IS NULL OR lease_until <= ?) "
                    "ORDER BY id LIMIT 1", (name, now)).fetchone()
                if row is None:
                    return None
                row_id, text, deliveries = row
                if deliveries >= max_deliveries:  # its last holder died: no more tries
                    db.execute("UPDATE queue_items SET state = 'dead', lease_until = NULL, "
                               "lease_token = NULL, error = coalesce(error, ?) WHERE id = ?",
                               (json_out.dumps({"type": "LeaseExpired", "message":
                                                f"delivered {deliveries} times; the last "
                                                "consumer stopped without an answer"}),
                                row_id))
                    continue
                token = uuid.uuid4().hex
                db.execute("UPDATE queue_items SET deliveries = ?, lease_until = ?, "
                           "lease_token = ? WHERE id = ?",
                           (deliveries + 1, now + visibility_s, token, row_id))
                return Item(name, str(row_id), json.loads(text), deliveries + 1, token)

        item: Item | None = self._write(attempt)
        return item

    def extend(self, item: Item, visibility_s: float) -> bool:
        n = self._write(lambda db: db.execute(
            "UPDATE queue_items SET lease_until = ? WHERE id = ? AND lease_token = ? "
            "AND state = 'ready'", (time.time() + visibility_s, int(item.id), item.token)
        ).rowcount)
        return bool(n)

    def ack(self, item: Item) -> bool:
        n = self._write(lambda db: db.execute(
            "DELETE FROM queue_items WHERE id = ? AND lease_token = ?",
            (int(item.id), item.token)).rowcount)
        return bool(n)

    def nack(self, item: Item, *, max_deliveries: int, error: Any = None,
             count: bool = True) -> Outcome:
        err = json_out.dumps(error) if error is not None else None

        def give_back(db: sqlite3.Connection) -> Outcome:
            row = db.execute("SELECT deliveries FROM queue_items WHERE id = ? AND "
                             "lease_token = ?", (int(item.id), item.token)).fetchone()
            if row is None:
                return "lost"
            deliveries = row[0] if count else row[0] - 1
            dead = deliveries >= max_deliveries
            db.execute("UPDATE queue_items SET deliveries = ?, lease_until = NULL, "
                       "lease_token = NULL, state = ?, error = coalesce(?, error) "
                       "WHERE id = ?", (deliveries, "dead" if dead else "ready", err,
                                        int(item.id)))
            return "dead" if dead else "redelivered"

        outcome: Outcome = self._write(give_back)
        return outcome

    def counts(self, name: str) -> dict[str, int]:
        def q() -> dict[str, int]:
            with self._lock:
                rows = self._db.execute(
                    "SELECT state, lease_until > ?, count(*) FROM queue_items "
                    "WHERE queue = ? GROUP BY 1, 2", (time.time(), name)).fetchall()
            out = {"ready": 0, "leased": 0, "dead": 0}
            for state, leased, n in rows:
                key = "dead" if state == "dead" else "leased" if leased else "ready"
                out[key] += n
            return out

        result: dict[str, int] = read(q, self.path)
        return result

    def dead(self, name: str) -> list[dict[str, Any]]:
        def q() -> list[dict[str, Any]]:
            with self._lock:
                rows = self._db.execute(
                    "SELECT id, value, deliveries, error FROM queue_items WHERE queue = ? "
                    "AND state = 'dead' ORDER BY id", (name,)).fetchall()
            return [{"id": str(i), "value": json.loads(v), "deliveries": d,
                     "error": json.loads(e) if e else None} for i, v, d, e in rows]

        result: list[dict[str, Any]] = read(q, self.path)
        return result

    def close(self) -> None:
        with self._lock:
            self._db.close()
