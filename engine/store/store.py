"""The run store: the reading API the command line, the editor and flowserver use,
and deleting and pruning. Writing a run as it goes is `engine.store.writer`'s job.

Every read first marks as `interrupted` the runs whose writing process is gone (the
same host and its pid has ended, or no heartbeat for `STALE_S`): a run whose process
was killed reads as interrupted at once, and a serve-mode run that was accepted but
never finished becomes a dead letter that can be retried.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from engine.core.events import Event
from engine.core.execution import NodeOutputs
from engine.errors import RunNotFoundError
from engine.store import connection, journal
from engine.store.encode import MAX_VALUE_BYTES, decode_events, decode_outputs
from engine.store.liveness import HOST, STALE_S, alive
from engine.store.records import (
    ACTIVE,
    SUMMARY_COLUMNS,
    RunDetail,
    RunPage,
    RunSummary,
    loads,
)

_ACTIVE_SQL = "('queued', 'validating', 'running')"
_PRUNE_CHUNK = 500  # runs deleted per transaction: other writers wait at most that long


class RunStore:
    """One store file, open for reading, deleting and pruning. Not thread-safe: one
    per thread (the writer keeps its own connection)."""

    def __init__(self, path: str | Path | None = None, *,
                 warn: Callable[[str], None] | None = None,
                 max_value_bytes: int = MAX_VALUE_BYTES) -> None:
        self.path = Path(path).expanduser() if path is not None else connection.default_path()
        self.max_value_bytes = max_value_bytes
        self._warn = warn
        self.db = connection.connect(self.path, warn=warn)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def writer(self, **options: Any) -> Any:
        """A StoreWriter on this file (its own connection), for runs of this process."""
        from engine.store.writer import StoreWriter

        return StoreWriter(self.path, max_value_bytes=self.max_value_bytes, warn=self._warn,
                           **options)

    # --- reading ---------------------------------------------------------------------------

    def list_runs(self, *, workflow: str | None = None, status: str | None = None,
                  since: float | None = None, limit: int = 50,
                  cursor: str | None = None) -> RunPage:
        """Runs newest first. `workflow`: a name or a file path; `status`: a status or
        `dead_letter`; `since`: seconds since the epoch; `cursor`: from the last page."""
        self.sweep()
        where: list[str] = []
        args: list[Any] = []
        if workflow is not None:
            where.append("(workflow = ? OR workflow_path = ?)")
            args += [workflow, str(Path(workflow).expanduser().resolve())]
        if status == "dead_letter":
            where.append("dead_letter_at IS NOT NULL")
        elif status is not None:
            where.append("status = ?")
            args.append(status)
        if since is not None:
            where.append("queued_at >= ?")
            args.append(since)
        if cursor:
            at, _, rowid = cursor.partition(":")
            where.append("(queued_at < ? OR (queued_at = ? AND rowid < ?))")
            args += [float(at), float(at), int(rowid)]
        sql = (f"SELECT {SUMMARY_COLUMNS}, rowid FROM runs "
               f"{'WHERE ' + ' AND '.join(where) if where else ''} "
               "ORDER BY queued_at DESC, rowid DESC LIMIT ?")
        rows = self._read(lambda: self.db.execute(sql, [*args, limit + 1]).fetchall())
        runs = [RunSummary.from_row(row[:-1]) for row in rows[:limit]]
        more = len(rows) > limit
        last = rows[limit - 1] if more else None
        return RunPage(runs, f"{last[5]!r}:{last[-1]}" if last else None)

    def resolve(self, prefix: str) -> str:
        """The full id of the one run whose id starts with `prefix`; RunNotFoundError
        when none does or several do."""
        prefix = prefix.strip()
        if not prefix:
            raise RunNotFoundError("a run id is empty; `flowcli runs list` shows the ids")
        rows = self._read(lambda: self.db.execute(
            "SELECT id FROM runs WHERE id >= ? AND id < ? ORDER BY id LIMIT 3",
            (prefix, prefix + "\U0010ffff")).fetchall())
        if not rows:
            raise RunNotFoundError(f"no run {prefix!r} in the run store {self.path}; "
                                   "`flowcli runs list` shows the runs there")
        if len(rows) > 1 and rows[0][0] != prefix:
            shown = ", ".join(r[0] for r in rows[:2]) + (", ..." if len(rows) > 2 else "")
            raise RunNotFoundError(f"run id {prefix!r} is ambiguous: it starts {shown}; "
                                   "give more of the id")
        return str(rows[0][0])

    def get(self, run_id: str) -> RunDetail:
        """One run (a full id or an unambiguous prefix)."""
        self.sweep()
        run_id = self.resolve(run_id)
        row = self._read(lambda: self.db.execute(
            f"SELECT {SUMMARY_COLUMNS}, workflow_hash, inputs, trigger, outputs, node_errors, "
            "pid, host, (SELECT snapshot FROM workflows WHERE hash = workflow_hash) "
            "FROM runs WHERE id = ?", (run_id,)).fetchone())
        if row is None:  # deleted meanwhile
            raise RunNotFoundError(f"run {run_id} is no longer in the run store {self.path}")
        n = len(SUMMARY_COLUMNS.split(","))
        digest, inputs, trigger, outputs, node_errors, pid, host, snapshot = row[n:]
        return RunDetail(RunSummary.from_row(row[:n]), digest, loads(snapshot), loads(inputs),
                         loads(trigger), loads(outputs), loads(node_errors) or [], pid, host)

    def events(self, run_id: str, *, after_seq: int = 0) -> list[Event]:
        """The run's events in order (those with seq > `after_seq`)."""
        run_id = self.resolve(run_id)
        chunks = self._read(lambda: self.db.execute(
            "SELECT data FROM events WHERE run = (SELECT rowid FROM runs WHERE id = ?) "
            "AND last_seq > ? ORDER BY first_seq", (run_id, after_seq)).fetchall())
        found = decode_events(run_id, (c[0] for c in chunks))
        return [e for e in found if e.seq > after_seq] if after_seq else found

    def outputs(self, run_id: str) -> list[NodeOutputs]:
        """Every node's full outputs (values over the size limit as marked previews)."""
        run_id = self.resolve(run_id)
        chunks = self._read(lambda: self.db.execute(
            "SELECT data FROM outputs WHERE run = (SELECT rowid FROM runs WHERE id = ?) "
            "ORDER BY batch", (run_id,)).fetchall())
        return decode_outputs(run_id, (c[0] for c in chunks))

    def change_token(self) -> tuple[int, int, int]:
        """Changes whenever any process commits to the store: poll it (it costs two
        tiny queries) and re-read the list only when it differs from the last one."""
        def read() -> tuple[int, int, int]:
            version = self.db.execute("PRAGMA data_version").fetchone()[0]
            top = self.db.execute("SELECT max(rowid) FROM runs").fetchone()[0] or 0
            return version, top, self.db.total_changes
        return self._read(read)

    def count(self) -> int:
        return int(self._read(lambda: self.db.execute("SELECT count(*) FROM runs")
                              .fetchone()[0]))

    # --- interrupted runs --------------------------------------------------------------------

    def sweep(self, now: float | None = None) -> int:
        """Mark the runs whose writer is gone as interrupted (and serve-mode ones as
        dead letters); how many were marked."""
        now = time.time() if now is None else now
        journal.recover(self.db, self.path, now)
        rows = self._read(lambda: self.db.execute(
            f"SELECT rowid, pid, host, heartbeat FROM runs WHERE status IN {_ACTIVE_SQL}"
        ).fetchall())
        gone = [rowid for rowid, pid, host, beat in rows if not alive(pid, host, beat, now)]
        if not gone:
            return 0

        def mark(db: sqlite3.Connection) -> int:
            return db.executemany(
                "UPDATE runs SET status = 'interrupted', interrupted_at = ?, "
                "dead_letter_at = CASE WHEN source = 'serve' THEN ? ELSE dead_letter_at END "
                f"WHERE rowid = ? AND status IN {_ACTIVE_SQL}",
                [(now, now, rowid) for rowid in gone]).rowcount
        return int(connection.write(self.db, mark, self.path))

    # --- deleting ------------------------------------------------------------------------------

    def delete(self, run_id: str) -> str:
        """Delete one run (id or prefix) with its events and outputs; its full id."""
        run_id = self.resolve(run_id)
        connection.write(self.db, lambda db: _delete_rows(db, [run_id]), self.path)
        return run_id

    def prune(self, *, keep: int | None = None, older_than_s: float | None = None,
              now: float | None = None) -> int:
        """Delete finished runs beyond the newest `keep`, or started more than
        `older_than_s` ago; runs still going are never pruned. How many were deleted."""
        if keep is None and older_than_s is None:
            raise ValueError("prune needs keep or older_than_s")
        self.sweep()
        where = [f"status NOT IN {_ACTIVE_SQL}"]
        args: list[Any] = []
        if older_than_s is not None:
            where.append("queued_at < ?")
            args.append((time.time() if now is None else now) - older_than_s)
        sql = f"SELECT id FROM runs WHERE {' AND '.join(where)} ORDER BY queued_at DESC, " \
              "rowid DESC"
        if keep is not None:
            sql += " LIMIT -1 OFFSET ?"
            args.append(keep)
        ids = [r[0] for r in self._read(lambda: self.db.execute(sql, args).fetchall())]
        for start in range(0, len(ids), _PRUNE_CHUNK):
            part = ids[start:start + _PRUNE_CHUNK]
            connection.write(self.db, partial(_delete_rows, ids=part), self.path)
        return len(ids)

    def _read(self, fn: Callable[[], Any]) -> Any:
        return connection.read(fn, self.path)


def _delete_rows(db: sqlite3.Connection, ids: list[str]) -> None:
    marks = ", ".join("?" * len(ids))
    rows = db.execute(f"SELECT rowid, workflow_hash FROM runs WHERE id IN ({marks})",
                      ids).fetchall()
    rowids = [(r[0],) for r in rows]
    db.executemany("DELETE FROM events WHERE run = ?", rowids)
    db.executemany("DELETE FROM outputs WHERE run = ?", rowids)
    db.executemany("DELETE FROM runs WHERE rowid = ?", rowids)
    for digest in {r[1] for r in rows if r[1]}:  # a snapshot no run uses any more
        db.execute("DELETE FROM workflows WHERE hash = ? AND NOT EXISTS "
                   "(SELECT 1 FROM runs WHERE workflow_hash = ?)", (digest, digest))


__all__ = ["ACTIVE", "HOST", "STALE_S", "RunStore"]
