"""Which queue backend this process uses: `open_queue` makes one from `--queue`, the
server `install`s it, and `queue.push` nodes reach it through `current()`. In a
process that installed none (`flowcli run`, the editor) it is the one the environment
variable FLOWUI_QUEUE names (as `--queue` does), else the run store's."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from engine.server.queues.backend import QueueBackend, QueueError

_installed: QueueBackend | None = None
_lock = threading.Lock()


def open_queue(url: str | None, store_path: Path | None = None) -> QueueBackend:
    """The backend `url` names: None or "store" for the run store's file (at
    `store_path`, default the data folder's), redis://… for a Redis server."""
    if url in (None, "", "store"):
        from engine.server.queues.sqlite_queue import SqliteQueue
        from engine.store.connection import default_path

        return SqliteQueue(store_path or default_path())
    assert url is not None
    if url.startswith(("redis://", "rediss://", "unix://")):
        from engine.server.queues.redis_queue import RedisQueue

        return RedisQueue(url)
    raise QueueError(f"--queue {url!r} is not a queue backend: use `store` (the run store, "
                     "the default) or redis://HOST:PORT")


def install(backend: QueueBackend | None) -> None:
    global _installed
    with _lock:
        _installed = backend


def current() -> QueueBackend:
    global _installed
    with _lock:
        if _installed is None:
            _installed = open_queue(os.environ.get("FLOWUI_QUEUE") or None)
        return _installed


current_queue = current  # its name in the public API (`from engine import current_queue`)
