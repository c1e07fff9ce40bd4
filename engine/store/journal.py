"""Runs made durable without waiting for a commit: the store's journal.

Serve mode must have an accepted request in the store before its run starts, so
that a SIGKILL cannot lose it. Waiting for a SQLite commit per group of requests
cost half its throughput (docs/notes.md: ~400 us of SQLite work per commit).
Instead the writer appends the run's row to a journal file of its own, one
`os.write` of one line: in the kernel when the call returns, which is what a
commit gives in WAL mode with `synchronous = NORMAL` too (a killed process loses
nothing; a power cut may lose the last lines, never corrupt anything). The row is
committed with the writer's next flush; once a commit covers every line, the file
is emptied.

A journal whose process is gone is imported by the next reader or writer of the
store (`recover`): its runs go in as queued (`INSERT OR IGNORE`: those committed
already stay as they are), then the sweep marks them interrupted, and serve-mode
ones dead letters, like any run whose writer died. The rows are the writer's own,
already masked: a journal holds no secret the store would not.

Files: `<store>.journal/<host>-<pid>-<start>.jsonl`; a line is `["workflow", hash,
snapshot]` or `["run", *row]` (row: row_changes.INSERT_RUN's values).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

import orjson

from engine.store import connection
from engine.store.liveness import HOST, STALE_S, alive
from engine.store.row_changes import INSERT_RUN
from engine.store.schema import INSERT_WORKFLOW

log = logging.getLogger("flowui.store")

SUFFIX = ".journal"
_NAME = re.compile(r"^(?P<host>.*)-(?P<pid>\d+)-(?P<start>\d+)\.jsonl$")


_OWN: set[str] = set()  # this process's journals (names), which its own reads must not import


def _safe(host: str) -> str:
    return re.sub(r"[^A-Za-z0-9._]", "_", host) or "host"


def folder_of(store_path: Path) -> Path:
    return store_path.with_name(store_path.name + SUFFIX)


class Journal:
    """The journal of one writer (one process). Not thread-safe: the writer's loop."""

    def __init__(self, store_path: Path) -> None:
        self.folder = folder_of(store_path)
        self.path = self.folder / f"{_safe(HOST)}-{os.getpid()}-{time.time_ns()}.jsonl"
        _OWN.add(self.path.name)
        self._fd: int | None = None
        self._hashes: set[str] = set()
        self.written = 0  # lines since the file was last emptied
        self._size = 0

    def add(self, row: tuple[Any, ...], snapshot: tuple[str, str] | None) -> None:
        """Append a run's row (and its workflow's snapshot, the first time), durable
        when this returns. Raises OSError when the journal cannot be written."""
        lines = b""
        if snapshot is not None and snapshot[0] not in self._hashes:
            lines += orjson.dumps(["workflow", *snapshot]) + b"\n"
        lines += orjson.dumps(["run", *row]) + b"\n"
        if self._fd is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        os.write(self._fd, lines)  # one call: a line is whole or absent
        if snapshot is not None:
            self._hashes.add(snapshot[0])
        self.written += 1
        self._size += len(lines)

    def committed(self, lines: int) -> None:
        """A commit holds the first `lines` lines: when that is all, empty the file
        (its snapshots are committed too, so later rows may name them)."""
        if self._fd is not None and lines >= self.written and self._size:
            os.ftruncate(self._fd, 0)
            self._size = 0
            self.written = 0

    def close(self) -> None:
        """After the last commit: remove the file if it holds nothing uncommitted."""
        if self._fd is None:
            return
        os.close(self._fd)
        self._fd = None
        _OWN.discard(self.path.name)
        if not self._size:
            with contextlib.suppress(OSError):
                self.path.unlink()


def recover(db: sqlite3.Connection, store_path: Path, now: float | None = None) -> int:
    """Import the journals whose writer is gone into the store; how many runs were in
    them (some may have been committed already). A journal that cannot be read is
    left where it is with a warning, never a failure of the caller."""
    folder = folder_of(store_path)
    try:
        names = os.listdir(folder)
    except OSError:  # no journal was ever written: the usual case
        return 0
    now = time.time() if now is None else now
    found = 0
    for name in names:
        match = _NAME.match(name)
        if match is None:
            continue
        if name in _OWN:
            continue
        path = folder / name
        try:
            size, mtime = (st := path.stat()).st_size, st.st_mtime
        except OSError:  # imported by another process meanwhile
            continue
        pid = int(match["pid"])
        if match["host"] == _safe(HOST):  # a pid of ours that is not us: reused, so gone
            gone = pid == os.getpid() or not alive(pid, HOST, None, now)
        else:  # another machine's: only lines left uncommitted for long say it is gone
            gone = size > 0 and now - mtime > STALE_S
        if not gone:
            continue
        found += _import(db, store_path, path)
    return found


def _import(db: sqlite3.Connection, store_path: Path, path: Path) -> int:
    workflows: list[tuple[Any, ...]] = []
    runs: list[tuple[Any, ...]] = []
    try:
        data = path.read_bytes()
    except OSError as e:
        log.warning("%s: cannot read this run journal (%s); its runs are not imported", path, e)
        return 0
    for line in data.splitlines():
        try:
            kind, *fields = orjson.loads(line)
        except (orjson.JSONDecodeError, ValueError, TypeError):
            continue  # a line cut short by a crash of the machine itself
        if kind == "workflow" and len(fields) == 2:
            workflows.append(tuple(fields))
        elif kind == "run" and len(fields) == INSERT_RUN.count("?"):
            runs.append(tuple(fields))

    def insert(db: sqlite3.Connection) -> None:
        db.executemany(INSERT_WORKFLOW, workflows)
        db.executemany(INSERT_RUN, runs)

    if workflows or runs:
        connection.write(db, insert, store_path)
    with contextlib.suppress(OSError):
        path.unlink()
    return len(runs)
