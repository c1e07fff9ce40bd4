"""Running the API: uvicorn on this process's asyncio loop (the loop the runs use),
on a socket bound here so that port 0 works and the address is known; SIGINT/SIGTERM
stop it gracefully (no new connections, runs given `grace_s`, then cancelled, the
store flushed)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn

from engine.core.registry import Registry
from engine.errors import ServeError
from engine.server.api.app import create_app
from engine.server.api.auth import TokenCheck
from engine.server.api.queue_triggers import QueueTriggers
from engine.server.api.service import Service, ServiceOptions


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # ours are installed on the loop by `serve`; uvicorn's would re-raise them


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket. Made with proto IPPROTO_TCP, not 0 as
    `socket.create_server` makes it: asyncio sets TCP_NODELAY only on sockets whose
    proto says TCP, and without it a keep-alive client waited ~40 ms for every answer
    (Nagle's algorithm against the client's delayed ACK; docs/notes.md)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        if os.name == "posix":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as e:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    return sock


async def serve(registry: Registry, options: ServiceOptions, *, host: str, port: int,
                token: str | None, grace_s: float = 10.0,
                log: Callable[[str], None] | None = None) -> None:
    say = log or (lambda line: print(line, file=sys.stderr, flush=True))
    sock = bind(host, port)
    service = Service(registry, options)
    app = create_app(service, TokenCheck(token))
    config = uvicorn.Config(app, loop="none", lifespan="off", log_level="warning",
                            access_log=False, ws_max_size=options.max_ws_message_bytes,
                            timeout_graceful_shutdown=max(1, int(grace_s)),
                            ws_ping_interval=20.0, ws_ping_timeout=20.0)
    server = _Server(config)
    loop = asyncio.get_running_loop()

    def stop(*_: Any) -> None:
        if server.should_exit:
            server.force_exit = True
        say("stopping… (press Ctrl-C again to quit at once)")
        server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop)
    bound = sock.getsockname()[:2]
    shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
    say(f"flowserver listening on http://{shown}:{bound[1]} (workflows: "
        f"{service.folder.root}; store: {service.store.path}; docs: /docs)")
    queues = QueueTriggers(registry, service.folder.root, service.store,
                           options.queue_backend,
                           max_concurrent_runs=options.max_concurrent_runs, grace_s=grace_s,
                           log=say)
    try:
        await queues.start()
        await server.serve(sockets=[sock])
    finally:
        await queues.stop()
        await service.close(grace_s)
        say("stopped")
