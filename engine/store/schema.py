"""The run store's tables, their version (`PRAGMA user_version`) and the forward
migrations between versions.

A store written by a newer FlowUI is refused rather than read half-right: its
tables may mean something this version does not know. Events and node outputs are
stored in chunks, one row per run per flush (a JSON array), not one row per event:
a 2,000-node run makes 6,000 records, and one row each would cost more in SQLite's
per-row work than the run itself spends executing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from engine.errors import StoreError

VERSION = 3

# The statement that adds a workflow snapshot (the writer, the journal).
INSERT_WORKFLOW = "INSERT OR IGNORE INTO workflows (hash, snapshot) VALUES (?, ?)"

_V1 = """
CREATE TABLE IF NOT EXISTS workflows (
    hash TEXT PRIMARY KEY,          -- sha256 of the snapshot: one copy per distinct workflow
    snapshot TEXT NOT NULL          -- the workflow as run, as its file would be saved
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS runs (
    id TEXT NOT NULL UNIQUE,
    workflow TEXT NOT NULL,         -- its name
    workflow_path TEXT,
    workflow_hash TEXT,
    source TEXT NOT NULL,           -- cli | serve | editor | retry
    trigger TEXT,                   -- JSON, masked: what trigger nodes fired with
    inputs TEXT,                    -- JSON, masked
    status TEXT NOT NULL,           -- queued validating running completed failed
                                    -- cancelled interrupted
    queued_at REAL NOT NULL,        -- seconds since the epoch, each lifecycle step
    validating_at REAL,
    running_at REAL,
    finished_at REAL,
    interrupted_at REAL,
    dead_letter_at REAL,            -- serve mode: a run that did not complete
    duration_ms REAL,
    error TEXT,                     -- JSON {type, message, node}
    failed_node TEXT,
    outputs TEXT,                   -- JSON: the run's result outputs
    node_errors TEXT,               -- JSON list
    retry_of TEXT,                  -- the run id this one retried
    pid INTEGER, host TEXT, heartbeat REAL  -- who is writing it, for `interrupted`
);
CREATE INDEX IF NOT EXISTS runs_by_time ON runs(queued_at);
CREATE INDEX IF NOT EXISTS runs_by_workflow ON runs(workflow, queued_at);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs(status, queued_at);
CREATE INDEX IF NOT EXISTS runs_by_hash ON runs(workflow_hash);
CREATE INDEX IF NOT EXISTS runs_dead ON runs(dead_letter_at) WHERE dead_letter_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS events (
    run INTEGER NOT NULL,           -- runs.rowid
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    data TEXT NOT NULL,             -- JSON array of [name, seq, timestamp, *fields]
    PRIMARY KEY (run, first_seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outputs (
    run INTEGER NOT NULL,
    batch INTEGER NOT NULL,
    data TEXT NOT NULL,             -- JSON array of NodeOutputs without run_id
    PRIMARY KEY (run, batch)
) WITHOUT ROWID;
"""

# Version 2: the output cache (engine.store.output_cache).
_V2 = """
CREATE TABLE IF NOT EXISTS cache (
    key BLOB PRIMARY KEY,           -- engine.core.cache_keys: what determines the output
    ident BLOB NOT NULL,            -- the output's identity, for the keys after it
    outputs TEXT NOT NULL,          -- JSON object by port, masked values never stored
    cacheable INTEGER NOT NULL,     -- 0: only partial runs take it (a POST's answer)
    size INTEGER NOT NULL,          -- bytes of `outputs`, for the size limit
    used_at REAL NOT NULL           -- last stored or reused: least recently used go first
);
CREATE INDEX IF NOT EXISTS cache_by_use ON cache(used_at);
CREATE TABLE IF NOT EXISTS cache_nodes (
    workflow TEXT NOT NULL,         -- the workflow's name
    node TEXT NOT NULL,             -- a top-level node id
    key BLOB NOT NULL,              -- its key when it last ran or was reused
    recipe TEXT NOT NULL,           -- JSON: what that key was made of (stale reasons)
    at REAL NOT NULL,
    PRIMARY KEY (workflow, node)
) WITHOUT ROWID;
"""

# Version 3: durable work queues (engine.server.queues.sqlite_queue). An item is a row
# from `put` until it is acknowledged (deleted) or dead-lettered (kept, state 'dead').
_V3 = """
CREATE TABLE IF NOT EXISTS queue_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: first in, first out by id
    queue TEXT NOT NULL,            -- the queue's name
    value TEXT NOT NULL,            -- JSON
    put_at REAL NOT NULL,
    deliveries INTEGER NOT NULL DEFAULT 0,  -- times taken
    lease_until REAL,               -- taken: invisible to others until then
    lease_token TEXT,               -- who holds the lease: only they may ack or nack it
    state TEXT NOT NULL DEFAULT 'ready',    -- ready | dead
    error TEXT                      -- JSON: why the last delivery failed
);
CREATE INDEX IF NOT EXISTS queue_ready ON queue_items(queue, state, id)
"""

# MIGRATIONS[n] brings a store from version n to n + 1 (0: an empty file).
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    0: lambda db: _script(db, _V1),
    1: lambda db: _script(db, _V2),
    2: lambda db: _script(db, _V3),
}


def _script(db: sqlite3.Connection, script: str) -> None:
    # Not executescript: it commits first, and a step must be one transaction.
    for statement in script.split(";\n"):
        if statement.strip():
            db.execute(statement)


def migrate(db: sqlite3.Connection, path: Path) -> None:
    """Bring the store at `path` to VERSION, one step at a time, each step in its own
    transaction; refuse a newer one. Concurrent openers take turns (BEGIN IMMEDIATE)."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > VERSION:
        raise StoreError(
            f"the run store {path} was written by a newer FlowUI (store version {version}, "
            f"this FlowUI reads up to {VERSION}): upgrade FlowUI, or use another store with "
            "--store PATH (or FLOWUI_DATA_DIR)")
    while version < VERSION:
        db.execute("BEGIN IMMEDIATE")
        try:
            current = db.execute("PRAGMA user_version").fetchone()[0]
            if current == version:  # another process may have migrated meanwhile
                MIGRATIONS[version](db)
                db.execute(f"PRAGMA user_version = {version + 1}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        version = db.execute("PRAGMA user_version").fetchone()[0]
