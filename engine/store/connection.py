"""Opening the run store's SQLite file the way every process must: WAL, a busy
timeout, short write transactions retried while another process holds the lock.

Many processes share one store (the editor, several `flowcli run`, a `flowcli
serve`). WAL lets readers go on while one writer commits; `busy_timeout` makes
SQLite itself wait for the lock; what still comes back as SQLITE_BUSY (a WAL
checkpoint, a lock upgrade) is retried here with backoff, so "database is locked"
never reaches a user: after `BUSY_GIVE_UP_S` they get a StoreError that says which
file is held and what to do. A file that is not a database, or a damaged one, is
moved aside (`runs.db.corrupt-<time>`) and a new store started, with a warning.
"""

from __future__ import annotations

import contextlib
import logging
import random
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from engine.errors import StoreError
from engine.store.schema import migrate
from engine.support.paths import data_dir

T = TypeVar("T")
log = logging.getLogger("flowui.store")

BUSY_TIMEOUT_S = 5.0  # SQLite waits this long for a lock before it says busy
BUSY_GIVE_UP_S = 60.0  # we retry a busy store this long in all before giving up
STORE_NAME = "runs.db"
_BUSY_CODES = (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED (primary codes of extended ones too)
_DAMAGED = ("file is not a database", "malformed", "disk image", "file is encrypted")


def default_path() -> Path:
    """`<data folder>/runs.db`: FLOWUI_DATA_DIR, else the platform's user data dir."""
    return data_dir() / STORE_NAME


def connect(path: Path, *, warn: Callable[[str], None] | None = None) -> sqlite3.Connection:
    """An open, migrated connection to the store at `path` (created when missing).
    A damaged file is moved aside and `warn` told; a newer store raises StoreError."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StoreError(f"cannot create the folder of the run store {path}: "
                         f"{e.strerror or e}; choose another with --store PATH") from None
    try:
        return _open(path)
    except sqlite3.DatabaseError as e:
        if not damaged(e):
            raise as_store_error(e, path) from None
        aside = move_aside(path)
        (warn or log.warning)(f"the run store {path} is damaged ({e}); it was moved to "
                              f"{aside} and a new store started")
        try:
            return _open(path)
        except sqlite3.DatabaseError as again:
            raise as_store_error(again, path) from None


def _open(path: Path) -> sqlite3.Connection:
    try:
        # isolation_level=None: we say BEGIN IMMEDIATE ourselves, so a writer takes the
        # lock up front instead of failing to upgrade a read lock half-way (SQLITE_BUSY
        # that no timeout can wait out). check_same_thread=False: the writer commits in
        # a worker thread, one flush at a time.
        db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                             check_same_thread=False)
    except sqlite3.OperationalError as e:
        raise as_store_error(e, path) from None
    try:
        db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        retrying(lambda: db.execute("PRAGMA journal_mode = WAL").fetchone())
        # NORMAL in WAL mode: a commit is in the WAL file (the OS's page cache) when it
        # returns, so a killed process loses nothing committed; only a power cut can
        # lose the last transactions, never corrupt the file.
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        retrying(lambda: migrate(db, path))
    except BaseException:
        db.close()
        raise
    return db


def busy(error: BaseException) -> bool:
    if not isinstance(error, sqlite3.OperationalError):
        return False
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _BUSY_CODES
    return "locked" in str(error) or "busy" in str(error)


def damaged(error: BaseException) -> bool:
    return isinstance(error, sqlite3.DatabaseError) and any(
        word in str(error) for word in _DAMAGED)


def retrying(fn: Callable[[], T], *, give_up_s: float = BUSY_GIVE_UP_S) -> T:
    """`fn()`, called again (with backoff and jitter) while the store is busy."""
    end = time.monotonic() + give_up_s
    delay = 0.002
    while True:
        try:
            return fn()
        except sqlite3.OperationalError as e:
            if not busy(e) or time.monotonic() + delay > end:
                raise
        time.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, 0.25)


def write(db: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T], path: Path) -> T:
    """`fn(db)` in one short write transaction, retried while the store is busy."""

    def attempt() -> T:
        db.execute("BEGIN IMMEDIATE")
        try:
            result = fn(db)
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise
        return result

    try:
        return retrying(attempt)
    except sqlite3.Error as e:
        raise as_store_error(e, path) from None


def read(fn: Callable[[], T], path: Path) -> T:
    """`fn()` (queries), retried while the store is busy; errors as StoreError."""
    try:
        return retrying(fn)
    except sqlite3.Error as e:
        raise as_store_error(e, path) from None


def as_store_error(error: sqlite3.Error, path: Path) -> StoreError:
    """One clear line for the user: what, where, what to do."""
    if busy(error):
        return StoreError(f"the run store {path} stayed locked by another process for over "
                          f"{BUSY_GIVE_UP_S:g} s; try again, or use --no-store / --store PATH")
    if damaged(error):
        return StoreError(f"the run store {path} is damaged ({error}); move it aside (FlowUI "
                          "then starts a new one) or choose another with --store PATH")
    return StoreError(f"the run store {path} cannot be used: {error}; check the file and its "
                      "folder's permissions, or choose another with --store PATH")


def move_aside(path: Path) -> Path:
    """Rename a damaged store (and its -wal/-shm files) to `<name>.corrupt-<time>`."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{suffix}").rename(f"{aside}{suffix}")
    return aside
