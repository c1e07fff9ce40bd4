"""What the API's routes share: the runner, the run store (read and written on this
loop), the workflows folder, the live events and the run slots.

`POST /runs` starts a run here: the workflow is compiled once per file content (a
cache keyed by name and hash) and checked with its inputs before anything is
recorded, so an invalid request is refused with every problem (422) instead of
becoming a failed run. An accepted run is recorded as queued (in the store's journal
before the answer, so a SIGKILL cannot lose it: it reads as interrupted) and answered;
at most `max_concurrent_runs` run together and up to `queue_size` more wait for a
slot (then 503). A run is kept in memory (its live events) until the store has
committed its end.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.core.events import RunCompleted
from engine.core.preflight import Checked, PreparedWorkflow
from engine.core.registry import Registry
from engine.core.runner import Run, Runner, new_run_id
from engine.errors import WorkflowFileError, WorkflowInvalidError
from engine.secrets.redactor import Redactor
from engine.server.api.errors import ApiError
from engine.server.api.folder import WorkflowFolder
from engine.server.api.live import INTERVAL_S, MAX_LAG, LiveHub
from engine.server.api.metrics import Metrics
from engine.store.store import RunStore
from engine.store.writer import RunHandle, StoreWriter
from engine.support import bounded_json
from engine.workflow.file import from_data, loads
from engine.workflow.model import Workflow

MAX_PREPARED = 64  # compiled workflows kept (by name and content hash)


@dataclass
class ServiceOptions:
    workflows_dir: Path
    store_path: Path | None = None  # default: <data dir>/runs.db
    max_concurrent_runs: int = 64
    queue_size: int = 4096  # runs waiting for a slot before POST /runs answers 503
    max_body_bytes: int = 32 * 1024 * 1024
    max_ws_message_bytes: int = 64 * 1024
    cors_origins: tuple[str, ...] = ()
    max_client_lag: int = MAX_LAG  # events a live client may fall behind (live.py)
    events_interval_s: float = INTERVAL_S  # a live client's messages at most this often
    send_timeout_s: float = 10.0  # a WebSocket send that does not drain: the client is stuck
    # What executes each run's plan (engine.core.execution): None, the local executor;
    # `flowserver --executor dask://...` gives a Dask cluster's (engine.distributed).
    execution: Any = None
    queue_backend: Any = None  # queue.trigger's (engine.server.queues); None: the store's


@dataclass(eq=False)
class Accepted:
    """A run accepted and recorded, maybe still waiting for a slot."""

    run_id: str
    checked: Checked
    handle: RunHandle
    path: Path | None
    options: dict[str, Any]
    queued_at: float
    run: Run | None = None
    cancelled: bool = False
    slot: asyncio.Future[None] | None = None  # set while it waits for a run slot


class Service:
    def __init__(self, registry: Registry, options: ServiceOptions) -> None:
        self.registry = registry
        self.options = options
        self.runner = Runner(registry) if options.execution is None else \
            Runner(registry, execution=options.execution)
        self.folder = WorkflowFolder(options.workflows_dir)
        self.store = RunStore(options.store_path)
        self.writer: StoreWriter = self.store.writer()
        self.hub = LiveHub(options.max_client_lag, options.events_interval_s)
        self.metrics = Metrics()
        self.accepted: dict[str, Accepted] = {}  # runs not finished
        self._waiting: deque[Accepted] = deque()
        self._running = 0
        self._prepared: dict[tuple[str, str], PreparedWorkflow] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def queued(self) -> int:
        return len(self._waiting)

    @property
    def running(self) -> int:
        return self._running

    async def close(self, grace_s: float = 5.0) -> None:
        """Cancel what still runs (after `grace_s`), flush the store, close it."""
        for acc in list(self._waiting):
            self.cancel(acc.run_id)
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace_s)
            for acc in list(self.accepted.values()):
                if acc.run is not None:
                    acc.run.cancel()
            if pending:
                await asyncio.wait(pending, timeout=grace_s)
        await self.writer.close()
        self.store.close()

    # --- compiling ----------------------------------------------------------------------------

    def load(self, text: str, source: str) -> Workflow:
        try:
            return loads(text, source=source)
        except WorkflowFileError as e:
            raise not_a_document(source, e) from None

    def from_data(self, data: dict[str, Any], source: str) -> Workflow:
        try:
            return from_data(data, source=source)
        except WorkflowFileError as e:
            raise not_a_document(source, e) from None

    async def prepared(self, workflow: str | dict[str, Any]) -> tuple[PreparedWorkflow,
                                                                      Path | None]:
        """The named file's (cached by content) or the inline document's compiled form."""
        base = self.folder.root
        if isinstance(workflow, str):
            stored = self.folder.read(workflow)
            key = (workflow, stored.hash)
            found = self._prepared.get(key)
            if found is not None:
                return found, stored.path
            wf = self.load(stored.data.decode("utf-8-sig", errors="replace"), workflow)
            prepared = await self._prepare(wf, base)
            if len(self._prepared) >= MAX_PREPARED:
                self._prepared.pop(next(iter(self._prepared)))
            self._prepared[key] = prepared
            return prepared, stored.path
        return await self._prepare(self.from_data(workflow, "the inline workflow"), base), None

    async def _prepare(self, wf: Workflow, base: Path) -> PreparedWorkflow:
        try:
            return await self.runner.prepare_async(wf, base_dir=base)
        except WorkflowInvalidError as e:
            raise invalid(e) from None

    # --- runs -----------------------------------------------------------------------------------

    async def submit(self, workflow: str | dict[str, Any], inputs: dict[str, Any],
                     trigger: dict[str, Any] | None, options: dict[str, Any]) -> str:
        """Check and record a run, start it or queue it; its id."""
        if len(self._waiting) >= self.options.queue_size:
            raise ApiError(503, "busy", f"busy: {self._running} runs going and "
                           f"{len(self._waiting)} waiting (the queue's limit); retry later",
                           headers={"Retry-After": "1"})
        problems = []
        for where, value in (("inputs", inputs), ("trigger", trigger)):
            try:  # the limits every JSON from outside meets (docs/limits.md)
                bounded_json.check(value, where=where)
            except bounded_json.JsonLimitError as e:
                problems.append(str(e))
        if problems:
            raise ApiError(422, "invalid", "the run's values cannot be taken; details lists "
                           "each problem", problems)
        prepared, path = await self.prepared(workflow)
        try:
            checked = self.runner.preflight(prepared, inputs)
        except WorkflowInvalidError as e:
            raise invalid(e) from None
        run_id = new_run_id()
        handle = self.writer.begin(run_id, prepared.workflow, path=path,
                                   inputs=checked.inputs, trigger=trigger, source="api",
                                   redactor=Redactor(list(checked.secrets.values())),
                                   durable=True)  # a 202 is a promise: journaled at once
        acc = Accepted(run_id, checked, handle, path, options, time.time())
        self.accepted[run_id] = acc
        self.hub.open(run_id)
        self.metrics.started += 1
        task = asyncio.get_running_loop().create_task(self._lifecycle(acc, trigger))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return run_id

    async def _lifecycle(self, acc: Accepted, trigger: dict[str, Any] | None) -> None:
        try:
            if self._running >= self.options.max_concurrent_runs or self._waiting:
                acc.slot = asyncio.get_running_loop().create_future()
                self._waiting.append(acc)
                await acc.slot
            self._running += 1
            try:
                if acc.cancelled:
                    self._finish_unstarted(acc)
                else:
                    await self._run(acc, trigger)
            finally:
                self._running -= 1
                self._hand_slot()
        except asyncio.CancelledError:
            if acc.run is None:
                self._finish_unstarted(acc)
        finally:
            await self.writer.flush()  # the store has every event: live clients may go
            self.hub.drop(acc.run_id)
            self.accepted.pop(acc.run_id, None)

    async def _run(self, acc: Accepted, trigger: dict[str, Any] | None) -> None:
        acc.handle.validating()
        opts = acc.options
        run = acc.run = self.runner.start(
            acc.checked, run_id=acc.run_id, base_dir=self.folder.root, trigger=trigger,
            subscribers=(self.writer.on_event, self.hub.on_event),
            on_outputs=self.writer.on_outputs, max_parallel=opts.get("max_parallel"),
            timeout_s=opts.get("timeout_s"),
            options={"test_run": True} if opts.get("test_run") else None)
        result = await run.wait()
        self.metrics.finished(result.status, result.duration_ms / 1000)

    def _hand_slot(self) -> None:
        while self._waiting:
            acc = self._waiting.popleft()
            if acc.slot is not None and not acc.slot.done():
                acc.slot.set_result(None)
                return

    def _finish_unstarted(self, acc: Accepted) -> None:
        """A run cancelled while it waited for a slot: it ends as cancelled, with its
        run_completed, as a run cancelled while running does."""
        # The run-wide fields are keyword arguments the event metaclass adds (events.py).
        event = RunCompleted("cancelled", 0.0, {}, None, None, [],  # type: ignore[call-arg]
                             run_id=acc.run_id, seq=1, timestamp=time.time())
        self.writer.on_event(event)
        self.hub.on_event(event)
        self.metrics.finished("cancelled", 0.0)

    def cancel(self, run_id: str) -> bool:
        """Cancel a run of this server; False when it is not going here."""
        acc = self.accepted.get(run_id)
        if acc is None:
            return False
        if acc.run is not None:
            acc.run.cancel()
        elif not acc.cancelled:
            acc.cancelled = True
            with contextlib.suppress(ValueError):
                self._waiting.remove(acc)
            if acc.slot is not None and not acc.slot.done():
                acc.slot.set_result(None)  # it takes a slot only to end as cancelled
        return True

    async def flushed_store(self) -> RunStore:
        """The store, with everything this server's runs did so far committed."""
        if self.accepted:
            await self.writer.flush()
        return self.store


def not_a_document(source: str, e: WorkflowFileError) -> ApiError:
    n = len(e.problems)
    return ApiError(422, "invalid_workflow", f"{source} is not a valid workflow document "
                    f"({n} problem{'s' if n != 1 else ''}); details lists each",
                    list(e.problems))


def invalid(e: WorkflowInvalidError) -> ApiError:
    n = len(e.problems)
    return ApiError(422, "invalid_workflow", f"the workflow cannot run ({n} problem"
                    f"{'s' if n != 1 else ''}); details lists each",
                    [p.to_dict() for p in e.problems])
