"""`--queue store|redis://HOST:PORT`: the backend of queue.trigger and queue.push
(engine/server/queues), for `flowcli serve` and `flowserver`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from engine.cli.common import fail


def queue_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--queue", "queue_url", metavar="store|redis://HOST:PORT", default=None,
        envvar="FLOWUI_QUEUE", show_envvar=True,
        help="Where queue.trigger takes items and queue.push puts them: the run store's "
             "file (default), or a Redis server several servers share.")(command)


def install_queue(url: str | None, store_path: str | Path | None) -> Any:
    """Open the backend and make it this process's (queue.push uses it); exit 1 with one
    line when it cannot be reached."""
    from engine.errors import FlowError
    from engine.server.queues import install, open_queue

    try:
        backend = open_queue(url, Path(store_path) if store_path else None)
    except FlowError as e:
        fail(str(e), 1)
    install(backend)
    return backend
