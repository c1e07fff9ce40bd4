"""flowserver's queue consumers: every enabled `queue.trigger` of every workflow in the
served folder takes items from its queue, as `flowcli serve` would for that file.

Each such workflow gets a serve-mode Server (engine.server.serve_mode) that runs only
its queue triggers (webhooks and intervals are `flowcli serve`'s; the API's runs are
started by POST /runs). The folder is read once, at start: a workflow added or edited
later is consumed after a restart (docs/limits.md). A workflow that cannot be served
(invalid, a secret missing) is skipped with a log line; the API still starts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.core.registry import Registry
from engine.errors import FlowError
from engine.server.serve_mode import ServeOptions, Server
from engine.store.store import RunStore
from engine.workflow.file import load

SUFFIX = ".flow.json"


def _has_queue_trigger(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError:
        return False
    return '"queue.trigger"' in text  # cheap: most files have none and are not parsed


class QueueTriggers:
    def __init__(self, registry: Registry, root: Path, store: RunStore, backend: Any,
                 *, max_concurrent_runs: int, grace_s: float,
                 log: Callable[[str], None]) -> None:
        self.registry = registry
        self.root = root
        self.store = store
        self.backend = backend
        self.max_runs = max_concurrent_runs
        self.grace_s = grace_s
        self.log = log
        self.servers: list[Server] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        for path in sorted(self.root.glob(f"*{SUFFIX}")):
            if not _has_queue_trigger(path):
                continue
            try:
                server = self._server(path)
            except FlowError as e:
                self.log(f"not consuming the queues of {path.name}: {e}")
                continue
            self.servers.append(server)
            self._tasks.append(asyncio.create_task(server.serve()))

    def _server(self, path: Path) -> Server:
        workflow = load(path)
        options = ServeOptions(max_concurrent_runs=self.max_runs, grace_s=self.grace_s,
                               freeze_heap=False, queue=self.backend)
        name = path.name

        def log(line: str) -> None:
            self.log(f"{name}: {line}")

        server = Server(workflow, self.registry, base_dir=path.parent, options=options,
                        writer=self.store.writer(), log=log)
        server.workflow_path = path
        server.check()
        server.triggers = [t for t in server.triggers if t.kind == "queue"]
        if not server.triggers:
            raise FlowError("its queue.trigger nodes are all disabled")
        return server

    async def stop(self) -> None:
        """Graceful: no new items; runs get the grace period; items in hand answered."""
        for server in self.servers:
            server.stop()
        if self._tasks:
            results = await asyncio.gather(*self._tasks, return_exceptions=True)
            for server, result in zip(self.servers, results, strict=True):
                if isinstance(result, BaseException):
                    self.log(f"{server.workflow_path}: stopped with {result!r}")
