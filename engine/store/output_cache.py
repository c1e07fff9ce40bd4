"""The output cache's entries in the run store (tables `cache` and `cache_nodes`).

`StoredOutputs` is the `engine.core.output_cache.OutputStore` a writer's runs use:
lookups read the file (and what this process has not committed yet); new entries,
uses and node recipes are committed with the writer's next flush, in the same
transaction as the run's events, so the cache costs no commit of its own. When the
entries pass the size limit (`FLOWUI_CACHE_MAX_MB`, default 512), the least recently
used are evicted down to 90% of it, in that same transaction.

A killed process loses at most the entries of its last flush interval: the cache
is an optimisation, and a lost entry only means that node runs again.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from engine.core.output_cache import CacheEntry, NodeRecord
from engine.errors import StoreError
from engine.store import connection
from engine.support import json_out

DEFAULT_MAX_MB = 512
# An entry used again within this long is not written again: re-running an unchanged
# workflow writes nothing for it (least-recently-used order is kept to this grain).
FRESH_S = 3600.0
EVICT_TO = 0.9  # of the limit, so that eviction does not run on every flush


def max_bytes_from_env() -> int:
    """The cache's size limit: FLOWUI_CACHE_MAX_MB (megabytes) or the default."""
    text = os.environ.get("FLOWUI_CACHE_MAX_MB", "")
    if not text:
        return DEFAULT_MAX_MB * 1_000_000
    try:
        value = float(text)
    except ValueError:
        raise StoreError(f"FLOWUI_CACHE_MAX_MB={text!r} is not a number of megabytes; "
                         "set it to e.g. 512, or unset it for the default") from None
    if value < 0:
        raise StoreError(f"FLOWUI_CACHE_MAX_MB={text!r} is negative; use 0 to keep nothing")
    return int(value * 1_000_000)


class StoredOutputs:
    """Cache entries in one store file, for the runs of one StoreWriter."""

    def __init__(self, path: Path, *, max_bytes: int | None = None) -> None:
        self.path = path
        self.max_bytes = max_bytes_from_env() if max_bytes is None else max_bytes
        self._db = connection.connect(path)  # reads only; the writer's connection writes
        self._puts: dict[bytes, tuple[CacheEntry, float]] = {}
        self._uses: dict[bytes, float] = {}
        self._records: dict[tuple[str, str], tuple[NodeRecord, float]] = {}
        self._total: int | None = None  # bytes stored, once known
        # per workflow, read once: node -> (key, output identity, when recorded)
        self._known: dict[str, dict[str, tuple[bytes, bytes, float]]] = {}

    # --- engine.core.output_cache.OutputStore -----------------------------------------------

    def get(self, key: bytes) -> CacheEntry | None:
        pending = self._puts.get(key)
        if pending is not None:
            return pending[0]
        try:
            row = self._db.execute(
                "SELECT ident, outputs, cacheable FROM cache WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error:
            return None  # the cache must never break a run: the node just runs
        return None if row is None else CacheEntry(key, row[0], row[1], bool(row[2]))

    def put(self, entry: CacheEntry | None, record: NodeRecord) -> None:
        now = time.time()
        if entry is not None:
            self._puts[entry.key] = (entry, now)
        self._records[(record.workflow, record.node)] = (record, now)

    def touch(self, key: bytes, record: NodeRecord) -> None:
        now = time.time()
        self._uses[key] = now
        self._records[(record.workflow, record.node)] = (record, now)

    def current(self, workflow: str, node: str, key: bytes) -> bytes | None:
        known = self._known.get(workflow)
        if known is None:
            known = self._known[workflow] = self._load(workflow)
        found = known.get(node)
        if found is None or found[0] != key or found[2] < time.time() - FRESH_S:
            return None
        return found[1]

    def _load(self, workflow: str) -> dict[str, tuple[bytes, bytes, float]]:
        try:
            rows = self._db.execute(
                "SELECT n.node, n.key, c.ident, n.at FROM cache_nodes AS n JOIN cache AS c "
                "ON c.key = n.key WHERE n.workflow = ?", (workflow,)).fetchall()
        except sqlite3.Error:
            return {}
        return {node: (key, ident, at) for node, key, ident, at in rows}

    def recipe(self, workflow: str, node: str) -> tuple[bytes, dict[str, Any]] | None:
        pending = self._records.get((workflow, node))
        if pending is not None:
            return pending[0].key, pending[0].recipe()
        try:
            row = self._db.execute("SELECT key, recipe FROM cache_nodes WHERE workflow = ? "
                                   "AND node = ?", (workflow, node)).fetchone()
        except sqlite3.Error:
            return None
        return None if row is None else (row[0], orjson.loads(row[1]))

    def has_workflow(self, workflow: str) -> bool:
        """Whether any node of `workflow` has run (or been reused) with this store."""
        if any(w == workflow for w, _node in self._records):
            return True
        try:
            return self._db.execute("SELECT 1 FROM cache_nodes WHERE workflow = ? LIMIT 1",
                                    (workflow,)).fetchone() is not None
        except sqlite3.Error:
            return False

    # --- the writer's side -------------------------------------------------------------------

    def pending(self) -> bool:
        return bool(self._puts or self._uses or self._records)

    def take(self) -> Changes:
        """What to commit with the writer's next flush; pending lookups keep seeing it
        until `committed`."""
        puts = [(e.key, e.ident, e.outputs, int(e.cacheable), len(e.outputs), at)
                for e, at in self._puts.values()]
        uses = [(at, key) for key, at in self._uses.items()]
        records = [(r.workflow, r.node, r.key, json_out.compact(r.recipe()), at)
                   for r, at in self._records.values()]
        self._uses, self._records = {}, {}
        return Changes(self, puts, uses, records)

    def committed(self, changes: Changes) -> None:
        for key, *_ in changes.puts:
            self._puts.pop(key, None)

    def close(self) -> None:
        self._db.close()


@dataclass
class Changes:
    """One flush's worth of cache rows; `write` runs inside the writer's transaction."""

    cache: StoredOutputs
    puts: list[tuple[Any, ...]]
    uses: list[tuple[float, bytes]]
    records: list[tuple[Any, ...]]

    def write(self, db: sqlite3.Connection) -> None:
        cache = self.cache
        if self.puts:
            db.executemany("INSERT OR REPLACE INTO cache (key, ident, outputs, cacheable, "
                           "size, used_at) VALUES (?, ?, ?, ?, ?, ?)", self.puts)
        if self.uses:
            db.executemany("UPDATE cache SET used_at = ? WHERE key = ?", self.uses)
        if self.records:
            db.executemany("INSERT OR REPLACE INTO cache_nodes (workflow, node, key, recipe, "
                           "at) VALUES (?, ?, ?, ?, ?)", self.records)
        if not self.puts:
            return
        if cache._total is None:
            cache._total = db.execute("SELECT coalesce(sum(size), 0) FROM cache").fetchone()[0]
        else:
            cache._total += sum(p[4] for p in self.puts)
        if cache._total > cache.max_bytes:
            cache._total = evict(db, int(cache.max_bytes * EVICT_TO))


def evict(db: sqlite3.Connection, keep_bytes: int) -> int:
    """Delete the least recently used entries until at most `keep_bytes` remain; the
    bytes that remain."""
    total = db.execute("SELECT coalesce(sum(size), 0) FROM cache").fetchone()[0]
    doomed: list[tuple[bytes]] = []
    for key, size in db.execute("SELECT key, size FROM cache ORDER BY used_at"):
        if total <= keep_bytes:
            break
        doomed.append((key,))
        total -= size
    db.executemany("DELETE FROM cache WHERE key = ?", doomed)
    return int(total)


@dataclass(frozen=True)
class CacheInfo:
    entries: int
    reusable: int  # cacheable entries (the rest serve partial runs only)
    bytes: int
    max_bytes: int
    oldest_use: float | None
    newest_use: float | None
    nodes: int  # node recipes kept (what stale reasons compare)


def info(db: sqlite3.Connection, max_bytes: int) -> CacheInfo:
    entries, reusable, size, oldest, newest = db.execute(
        "SELECT count(*), coalesce(sum(cacheable), 0), coalesce(sum(size), 0), "
        "min(used_at), max(used_at) FROM cache").fetchone()
    nodes = db.execute("SELECT count(*) FROM cache_nodes").fetchone()[0]
    return CacheInfo(entries, reusable, size, max_bytes, oldest, newest, nodes)


def clear(db: sqlite3.Connection) -> int:
    """Delete every entry and recipe; how many entries there were."""
    n = db.execute("SELECT count(*) FROM cache").fetchone()[0]
    db.execute("DELETE FROM cache")
    db.execute("DELETE FROM cache_nodes")
    return int(n)
