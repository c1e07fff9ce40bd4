"""Serve mode (`flowcli serve`): runs a workflow's triggers until stopped.

Each webhook request or interval tick starts one run, at most
`settings.max_concurrent_runs` at once; further requests wait in a bounded queue and
get 503 when it is full. Failed and cancelled runs leave their payload in a
dead-letter folder. A stop lets in-flight runs finish within a grace period, then
cancels them. The HTTP side is aiohttp's low-level server on this asyncio loop.

With a run store (`writer`), every accepted request is recorded as `queued`, and
committed, before it waits for a slot or runs: a server killed with requests in
flight leaves them in the store, where the next read marks them interrupted dead
letters that `flowcli runs retry` can run again. Runs that did not complete are
dead letters in the store as well as in the folder.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import socket
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from engine.core.bus import EventBus
from engine.core.events import Event
from engine.core.execution import OutputsHook, every_hook
from engine.core.preflight import Checked
from engine.core.registry import Registry
from engine.core.runner import Run, Runner, RunResult, new_run_id
from engine.core.validation import resolve_inputs
from engine.errors import ServeError
from engine.secrets.redactor import Redactor
from engine.server.credentials import credential_values, without_credentials
from engine.server.http_io import (
    JsonServer,
    OneLineLog,
    Unacceptable,
    json_response,
    one_line,
    read_body,
    result_response,
)
from engine.store.writer import RunHandle, StoreWriter
from engine.support import bounded_json, json_out
from engine.support.atomic import write_text_atomic
from engine.support.paths import data_dir
from engine.support.threads import in_thread
from engine.workflow.model import Workflow

CANCEL_WAIT_S = 10.0  # after the grace period: how long cancelled runs get to wind down


@dataclass
class ServeOptions:
    inputs: dict[str, Any] = field(default_factory=dict)
    host: str | None = None  # overrides every webhook's host
    port: int | None = None  # overrides every webhook's port
    max_concurrent_runs: int | None = None  # overrides settings.max_concurrent_runs
    queue_size: int | None = None  # requests waiting for a run slot; default 4 x the bound
    grace_s: float = 10.0
    dead_letter_dir: Path | None = None
    timeout_s: float | None = None  # per run, overrides settings.timeout_s
    # Filing what is loaded as permanent (gc.freeze) suits a process that only serves;
    # an editor serving its workflow's triggers must not (Qt wrappers: gcpause.py).
    freeze_heap: bool = True
    # queue.trigger's backend (engine.server.queues); None: the process's current one
    queue: Any = None


@dataclass(frozen=True)
class Trigger:
    node_id: str
    kind: str  # the node class's `trigger_kind`: "http", "interval" or "queue"
    config: dict[str, Any]  # validated, templates rendered with the workflow's inputs


def find_triggers(workflow: Workflow, registry: Registry, inputs: Mapping[str, Any],
                  runner: Runner) -> list[Trigger]:
    """The enabled top-level trigger nodes, their config rendered and validated."""
    triggers = []
    names = {"inputs": resolve_inputs(workflow, inputs)}
    for spec in workflow.nodes:
        cls = registry.get(spec.type)
        if cls is None or spec.disabled or cls.trigger_kind is None:
            continue
        raw = runner.templates.render_value(spec.config, names, where=f"node {spec.id!r}")
        config = cls.Config.model_validate(raw).model_dump()
        triggers.append(Trigger(spec.id, cls.trigger_kind, config))
    return triggers


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "workflow"


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Server:
    """One workflow served: its listening sockets, interval timers and run slots."""

    def __init__(self, workflow: Workflow, registry: Registry, *, base_dir: Path,
                 options: ServeOptions | None = None, runner: Runner | None = None,
                 subscribers: tuple[Callable[[Event], Any], ...] = (),
                 log: Callable[[str], None] | None = None,
                 writer: StoreWriter | None = None,
                 on_outputs: OutputsHook | None = None) -> None:
        self.workflow = workflow
        self.registry = registry
        self.base_dir = base_dir
        self.workflow_path: Path | None = None  # its file, recorded with each run
        self.options = options or ServeOptions()
        self.runner = runner or Runner(registry)
        self.bus = EventBus()  # shared by every run: subscribing anew costs per request
        for fn in subscribers:
            self.bus.subscribe(fn)
        self.writer = writer  # the run store's, or None (--no-store)
        self._on_outputs = every_hook(writer.on_outputs if writer else None, on_outputs)
        if writer is not None:
            self.bus.subscribe(writer.on_event)
        self.log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self.max_runs = self.options.max_concurrent_runs or workflow.settings.max_concurrent_runs
        self.queue_size = (self.options.queue_size if self.options.queue_size is not None
                           else 4 * self.max_runs)
        self.dead_letter_dir = self.options.dead_letter_dir or (
            data_dir() / "dead-letter" / _slug(workflow.name or "workflow"))
        self.addresses: list[tuple[str, int]] = []  # where it listens, once started
        self.triggers: list[Trigger] = []
        self._checked: Checked | None = None  # once, before serving: every run reuses it
        self._running = 0  # runs holding a slot
        self._waiters: deque[asyncio.Future[bool]] = deque()
        self._runs: set[Run] = set()
        self._inflight = 0  # executions from slot to dead letter written
        self._idle: asyncio.Event | None = None
        self._stop: asyncio.Event | None = None
        self._stopping = False
        self._http_runners: list[Any] = []
        self._sites: list[Any] = []
        self._timers: list[asyncio.Task[None]] = []
        self._tick_tasks: set[asyncio.Task[None]] = set()
        self._consumers: list[Any] = []  # engine.server.queues.consumer, one per queue.trigger

    # --- life cycle ------------------------------------------------------------------------

    def check(self) -> None:
        """Validate once before serving: the workflow, its inputs, its secrets and triggers.
        Raises WorkflowInvalidError or ServeError."""
        self._checked = self.runner.preflight(self.workflow, self.options.inputs,
                                              base_dir=self.base_dir)
        try:
            self.triggers = find_triggers(self.workflow, self.registry, self.options.inputs,
                                          self.runner)
        except Exception as e:
            raise ServeError(f"a trigger's config is invalid: {e}") from None
        if not any(t.kind in ("http", "interval", "queue") for t in self.triggers):
            raise ServeError("the workflow has no trigger to serve: add an http.webhook, "
                             "time.interval or queue.trigger node (or use `flowcli run` to "
                             "run it once)")

    def stop(self) -> None:
        """Begin a graceful stop (from a signal handler on the loop)."""
        if self._stop is not None:
            self._stop.set()

    async def serve(self) -> None:
        """Serve until `stop()`, or until the interval triggers are done when there is no
        webhook. Returns after a graceful stop."""
        if not self.triggers:
            self.check()
        self._stop = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        stop_task = asyncio.create_task(self._stop.wait())
        try:
            await self._start_http()
            for t in self.triggers:
                if t.kind == "interval":
                    self._timers.append(asyncio.create_task(self._interval(t)))
            self._start_consumers()
            # What is loaded by now lives as long as the server: keep it out of the cyclic
            # collector's full passes, which would otherwise walk it again and again.
            if self.options.freeze_heap:
                gc.freeze()
            waits: set[asyncio.Future[Any]] = {stop_task}
            if not self._sites and not self._consumers:
                # interval triggers only: done when their counts are reached
                waits.add(asyncio.gather(*self._timers))
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop_task.cancel()
            await self._shutdown()
            for consumer in self._consumers:  # items in hand answered before we go
                await consumer.drain()
            if self.writer is not None:
                await self.writer.close()

    def _start_consumers(self) -> None:
        """One consumer per queue.trigger; each stops when it sees `_stopping`, and is
        drained after `_shutdown` (its items in hand answered)."""
        from engine.server.queues import current
        from engine.server.queues.consumer import QueueConsumer

        for t in self.triggers:
            if t.kind == "queue":
                consumer = QueueConsumer(self, t, self.options.queue or current())
                self._consumers.append(consumer)
                consumer.start()

    async def _start_http(self) -> None:
        groups: dict[tuple[str, int], dict[str, dict[str, str]]] = {}
        for t in self.triggers:
            if t.kind != "http":
                continue
            host = self.options.host or t.config["host"]
            port = t.config["port"] if self.options.port is None else self.options.port
            routes = groups.setdefault((host, port), {})
            routes.setdefault(t.config["path"], {})[t.config["method"]] = t.node_id
        for (host, port), routes in groups.items():
            try:
                family = socket.AF_INET6 if ":" in host else socket.AF_INET
                sock = socket.create_server((host, port), family=family, backlog=1024)
            except OSError as e:
                raise ServeError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
            bound = sock.getsockname()[:2]
            self.addresses.append(bound)

            async def handler(request: Any, routes: dict[str, dict[str, str]] = routes) -> Any:
                return await self._handle(request, routes)

            runner = web.ServerRunner(JsonServer(handler, access_log=None,
                                              logger=self._http_logger()),
                                      shutdown_timeout=2.0)
            await runner.setup()
            site = web.SockSite(runner, sock)
            await site.start()
            self._http_runners.append(runner)
            self._sites.append(site)
            for path, methods in routes.items():
                for method, node in methods.items():
                    self.log(f"listening on http://{bound[0]}:{bound[1]}{path} "
                             f"({method}) -> {node}")
        if self._sites:
            self.log(f"at most {self.max_runs} concurrent runs, {self.queue_size} waiting; "
                     "Ctrl-C to stop")

    def _http_logger(self) -> logging.Logger:
        """aiohttp's own complaints (a client that vanished, a body it could not drain
        after we answered) as one line in our log, never a traceback."""
        logger = logging.getLogger(f"flowui.serve.{id(self)}")
        logger.propagate = False
        if not logger.handlers:
            logger.addHandler(OneLineLog(self.log))
        return logger

    async def _shutdown(self) -> None:
        assert self._idle is not None
        self._stopping = True
        for timer in self._timers:
            timer.cancel()
        for site in self._sites:  # no new connections from here on
            await site.stop()
        while self._waiters:  # queued requests never started: 503, the client may retry
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(False)
        if self._inflight:
            self.log(f"stopping: waiting up to {self.options.grace_s:g} s for "
                     f"{len(self._runs)} run(s) to finish")
            try:
                await asyncio.wait_for(self._idle.wait(), self.options.grace_s)
            except TimeoutError:
                self.log(f"grace period over: cancelling {len(self._runs)} run(s); their "
                         f"payloads go to {self.dead_letter_dir}")
                for run in list(self._runs):
                    run.cancel()
                try:
                    await asyncio.wait_for(self._idle.wait(), CANCEL_WAIT_S)
                except TimeoutError:
                    self.log("some runs did not end after being cancelled")
        for runner in self._http_runners:  # answers are written, idle connections closed
            await runner.cleanup()
        self.log("stopped")

    # --- run slots ---------------------------------------------------------------------------

    def _refusing(self) -> bool:
        """True when `_acquire` would refuse at once (stopping, or the queue is full)."""
        return self._stopping or (not (self._running < self.max_runs and not self._waiters)
                                  and len(self._waiters) >= self.queue_size)

    def _busy(self) -> Any:
        why = "the server is stopping" if self._stopping else \
            f"busy: {self.max_runs} runs and {len(self._waiters)} waiting requests"
        return json_response(503, {"error": why}, {"Retry-After": "1"})

    async def _acquire(self) -> bool:
        """A run slot, waiting in the bounded queue if needed; False: refuse (503)."""
        if self._stopping:  # e.g. its body was still arriving when the stop began
            return False
        if self._running < self.max_runs and not self._waiters:
            self._running += 1
            return True
        if len(self._waiters) >= self.queue_size:
            return False
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            return await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled() and fut.result():
                self._release()  # the slot was handed over just as we were cancelled
            else:
                self._waiters.remove(fut)
            raise

    def _release(self) -> None:
        while self._waiters:  # hand the slot straight to the next request in line
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(True)
                return
        self._running -= 1

    async def _record(self, payload: dict[str, Any], masked: list[str]) -> RunHandle | None:
        """The accepted request in the store as queued, durable (None: no store)."""
        if self.writer is None:
            return None
        assert self._checked is not None
        redactor = Redactor([*self._checked.secrets.values(), *masked])
        handle = self.writer.begin(
            new_run_id(), self.workflow, path=self.workflow_path, inputs=self._checked.inputs,
            trigger=without_credentials(payload), source="serve", redactor=redactor,
            durable=True)  # in the store's journal now; committed with the next flush
        return handle

    async def _execute(self, payload: dict[str, Any], masked: list[str],
                       handle: RunHandle | None = None,
                       ) -> tuple[Run | None, RunResult]:
        """One run in a slot already held; releases it; dead-letters a failure."""
        assert self._idle is not None
        self._inflight += 1
        self._idle.clear()
        run: Run | None = None
        try:
            try:
                assert self._checked is not None
                if handle is not None:
                    handle.validating()
                run = self.runner.start(self._checked, trigger=payload, bus=self.bus,
                                        base_dir=self.base_dir,
                                        timeout_s=self.options.timeout_s,
                                        masked=masked,
                                        run_id=handle.run_id if handle else None,
                                        on_outputs=self._on_outputs)
                self._runs.add(run)
                result = await run.wait()
            except Exception as e:  # an engine fault must not lose the payload
                result = RunResult(run.run_id if run else "-", "failed", {}, error={
                    "type": type(e).__name__, "message": str(e), "node": None})
            finally:
                if run is not None:
                    self._runs.discard(run)
                self._release()
            if result.status != "completed":
                await self._dead_letter(run, result, payload, handle)
            return run, result
        finally:
            self._inflight -= 1
            if not self._inflight:
                self._idle.set()

    async def _dead_letter(self, run: Run | None, result: RunResult,
                           payload: dict[str, Any], handle: RunHandle | None = None) -> None:
        if handle is not None:  # the store has the payload already: mark it
            handle.dead_letter(result.error if result.status == "completed" else None)
        payload = without_credentials(payload)  # the client's, kept out of the folder
        if run is not None and run.redactor:  # a stored record: secrets never leave a run
            payload = run.redactor.scrub(payload)
        record = {"run_id": result.run_id, "time": _now_iso(), "workflow": self.workflow.name,
                  "trigger": payload.get("node"), "status": result.status,
                  "payload": payload, "error": result.error, "failed_node": result.failed_node}
        path = self.dead_letter_dir / f"{result.run_id}.json"
        text = json_out.dumps(record, indent=2) + "\n"

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(path, text)

        try:
            await in_thread(write)
        except OSError as e:  # say so loudly, with the payload, rather than lose it
            self.log(f"cannot write dead letter {path}: {e}; payload: {text}")

    # --- HTTP ----------------------------------------------------------------------------------

    async def _handle(self, request: Any, routes: dict[str, dict[str, str]]) -> Any:
        started = time.perf_counter()
        try:
            response, run_id = await self._answer(request, routes)
        except web.HTTPException as e:  # e.g. 413 from aiohttp: a body over its size limit
            response, run_id = json_response(e.status, {"error": one_line(e.text or e.reason)}), "-"
        except Exception as e:  # a fault of ours: a JSON answer and a log line, no traceback
            self.log(f"error: {request.method} {request.path}: {type(e).__name__}: {e}")
            why = f"internal error: {type(e).__name__}"
            response, run_id = json_response(500, {"error": why}), "-"
        self.log(f"{request.method} {request.path} {response.status} "
                 f"{(time.perf_counter() - started) * 1000:.1f}ms {run_id}")
        return response

    async def _answer(self, request: Any, routes: dict[str, dict[str, str]]) -> tuple[Any, str]:
        methods = routes.get(request.path)
        if methods is None:
            return json_response(404, {"error": f"no webhook at {request.path}"}), "-"
        node = methods.get(request.method) or methods.get("ANY")
        if node is None:
            return json_response(405, {"error": f"{request.method} is not accepted here"},
                         {"Allow": ", ".join(methods)}), "-"
        try:
            body = await read_body(request)
        except Unacceptable as e:
            return json_response(e.status, {"error": str(e)}), "-"
        query = request.query
        payload = {"node": node, "method": request.method, "path": request.path,
                   "headers": {k.lower(): v for k, v in request.headers.items()},
                   "query": {k: (v[0] if len(v) == 1 else v)
                             for k in query for v in (query.getall(k),)},
                   "body": body}
        try:  # headers and query too: a lone surrogate from a %-escape is not text
            bounded_json.check(payload)
        except bounded_json.JsonLimitError as e:
            return json_response(400, {"error": f"the request cannot be taken: {e}"}), "-"
        if self._refusing():
            return self._busy(), "-"
        masked = credential_values(payload)  # the client's credentials, kept out of records
        handle = await self._record(payload, masked)
        if not await self._acquire():
            if handle is not None:  # the client gets 503 and may send it again
                handle.abandon("cancelled", {"type": "refused", "node": None,
                                             "message": "the server stopped before the run "
                                             "started; the client was answered 503"})
            return self._busy(), "-"
        run, result = await self._execute(payload, masked, handle)
        try:
            response = result_response(run, result)
        except (ValueError, TypeError) as e:  # NaN, a surrogate, an object: not JSON
            # Said once, with the run id, and kept: a retrying client must not run it twice.
            why = f"the run's response cannot be sent as JSON: {e}"
            await self._dead_letter(run, RunResult(
                result.run_id, "failed", result.outputs,
                error={"type": "ResponseError", "message": why, "node": None}), payload, handle)
            response = json_response(500, {"run_id": result.run_id, "error": {
                "type": "ResponseError", "node": None,
                "message": why + "; the payload was kept as a dead letter"}},
                {"X-FlowUI-Run-Id": result.run_id})
        return response, result.run_id

    # --- intervals -------------------------------------------------------------------------------

    async def _interval(self, trigger: Trigger) -> None:
        every, count = float(trigger.config["every_s"]), trigger.config.get("count")
        loop = asyncio.get_running_loop()
        start = loop.time()
        tick = 0
        while count is None or tick < count:
            delay = start + tick * every - loop.time()  # fixed rate: no drift
            if delay < 0:  # late (a busy loop): shift the schedule rather than burst
                start, delay = start - delay, 0.0
            await asyncio.sleep(delay)
            if self._stopping:
                return
            if self._running >= self.max_runs or self._waiters:
                self.log(f"warning: {trigger.node_id} tick {tick} skipped: "
                         f"{self.max_runs} runs are already going")
            else:
                self._running += 1
                task = asyncio.create_task(self._tick(trigger, tick))
                self._tick_tasks.add(task)
                task.add_done_callback(self._tick_tasks.discard)
            tick += 1
        if self._tick_tasks:  # a count-limited timer is done when its runs are
            await asyncio.gather(*self._tick_tasks, return_exceptions=True)

    async def _tick(self, trigger: Trigger, tick: int) -> None:
        started = time.perf_counter()
        payload = {"node": trigger.node_id, "tick": tick, "time": _now_iso()}
        _, result = await self._execute(payload, [], await self._record(payload, []))
        self.log(f"TICK {trigger.node_id} {tick} {result.status} "
                 f"{(time.perf_counter() - started) * 1000:.1f}ms {result.run_id}")
