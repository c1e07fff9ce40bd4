"""What runs on a Dask worker: one node's body, or a batch of a control.for_each
body's items, with the local engine; the events they emit are collected and sent
back with the result, for the driving process to publish.

A task never raises: Dask logs a failed task with its arguments, so an error comes
back as a value (type, message, whether a retry could help, the traceback) and the
driving process raises it there. Each worker thread keeps one asyncio loop for the
tasks it runs; a synchronous function node runs on it directly (no thread hop: the
worker thread is there to be blocked).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import time
import traceback
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from engine.core.bus import EventBus
from engine.core.context import NodeContext
from engine.core.events import Event
from engine.core.execution import NodeOutputs
from engine.core.executor import GraphExecution
from engine.core.plan import compile_plan
from engine.core.registry import Registry
from engine.core.run_context import RunContext
from engine.distributed.payload import BodyTask, NodeTask, RunPart, Sealed
from engine.distributed.plugins import shipped_dirs
from engine.errors import NodeError
from engine.support.file_roots import allow
from engine.support.threads import blocking_inline
from engine.workflow.model import Subgraph, Workflow

if TYPE_CHECKING:
    from engine.core.plan import Plan
    from engine.core.sdk import Node

WireEvent = tuple[str, tuple[Any, ...]]  # (event name, its own fields)

_local = threading.local()
_registries: dict[str | None, Registry] = {}
_plans: dict[tuple[str, str | None], Plan] = {}
_lock = threading.Lock()


def worker_address() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):  # called outside a worker (a test, the bench)
        return f"pid:{os.getpid()}"


def registry_for(plugins: str | None) -> Registry:
    """The node types this worker offers a run: everything installed, plus the plugin
    folders the driving process shipped (those replace the worker's own plugin
    folders, so that both sides run the same plugin code)."""
    with _lock:
        reg = _registries.get(plugins)
        if reg is None:
            if plugins is None:
                reg = Registry.discover()
            else:
                reg = Registry.discover(plugins=False)
                for folder in shipped_dirs(plugins):
                    reg.load_plugin_dir(folder)
            _registries[plugins] = reg
        return reg


def missing_types(type_ids: list[str], plugins: str | None) -> list[str]:
    """The ids of `type_ids` this worker cannot run (run on every worker before a run)."""
    reg = registry_for(plugins)
    return [t for t in type_ids if reg.get(t) is None]


def run_node(task: Sealed[NodeTask]) -> tuple[Any, ...]:
    """One node's body: ("ok", outputs, events, worker) or ("error", info, events,
    worker) with info {type, message, retryable, retry_after_s, traceback}."""
    t = task.open()
    sink: list[Event] = []
    worker = worker_address()
    try:
        outputs = _run(_node(t, sink, worker))
    except BaseException as e:  # never raised to Dask (see the docstring)
        return "error", _error(e, _type_of(t.run.plugins, t.type_id)), _wire(sink), worker
    return "ok", outputs, _wire(sink), worker


def run_items(task: Sealed[BodyTask],
              ) -> tuple[list[tuple[Any, ...]], list[WireEvent], str, float, list[NodeOutputs]]:
    """A batch of items of a body: per item (index, True, flow.output values, node
    errors) or (index, False, the body's failure); the events; the worker; the seconds
    the batch took here (the driver sizes batches from it); every node's full outputs
    when the run keeps them (RunPart.outputs)."""
    t = task.open()
    sink: list[Event] = []
    kept: list[NodeOutputs] = []
    worker = worker_address()
    started = time.perf_counter()
    try:
        outcomes = _run(_items(t, sink, kept))
    except BaseException as e:  # a fault of the batch: every item failed
        info = _error(e, None)
        failure = {"type": info["type"], "message": info["message"], "node": t.path}
        outcomes = [(i, False, failure) for i, _ in t.items]
    return outcomes, _wire(sink), worker, time.perf_counter() - started, kept


# --- running on the worker thread's loop -------------------------------------------------


def _run(coro: Coroutine[Any, Any, Any], *, block: bool = True) -> Any:
    """`coro` to its end on this thread's loop; with `block`, sync node bodies run on
    it in place (a whole run keeps them in threads: its loop streams events)."""
    loop = getattr(_local, "loop", None)
    if loop is None:
        loop = _local.loop = asyncio.new_event_loop()
    token = blocking_inline.set(block)  # copied into the task run_until_complete makes
    try:
        return loop.run_until_complete(coro)
    finally:
        blocking_inline.reset(token)


def _run_context(part: RunPart, sink: list[Event], registry: Registry,
                 kept: list[NodeOutputs] | None = None) -> RunContext:
    bus = EventBus()  # keeps the events, to send back with the result
    bus.subscribe(sink.append)
    run = RunContext(part.run_id, bus, None, registry, secrets=part.secrets,
                     options=part.options,
                     on_outputs=kept.append if kept is not None and part.outputs else None)
    run.started_at = part.started_at  # `run.started_at` in templates, as in the driver
    if part.file_roots:
        allow(part.file_roots)  # the driver's allowed folders (they are shared paths)
    return run


def _wire(events: list[Event]) -> list[WireEvent]:
    # Events are tuple records whose constructor takes keywords: sent as plain tuples.
    return [(e.name, tuple(e[3:])) for e in events]


def _type_of(plugins: str | None, type_id: str) -> type[Node] | None:
    try:
        return registry_for(plugins).get(type_id)
    except Exception:  # only for classifying an error
        return None


def _error(e: BaseException, cls: type[Node] | None) -> dict[str, Any]:
    from engine.core.node_results import error_info

    verdict = None
    if cls is not None:
        try:
            verdict = cls.is_retryable(e)
        except Exception:  # a classifier's own fault: leave it to the rule
            verdict = None
    if verdict is None:
        verdict = e.retryable if isinstance(e, NodeError) and e.retryable is not None \
            else not isinstance(e, asyncio.CancelledError)
    return {**error_info(e), "retryable": verdict,
            "retry_after_s": getattr(e, "retry_after_s", None),
            "traceback": "".join(traceback.format_exception(e))}


# --- one node ----------------------------------------------------------------------------


class _PlanView:
    """The part of a plan a node's context reads: its folder and settings."""

    __slots__ = ("base_dir", "bodies", "settings")

    def __init__(self, t: NodeTask) -> None:
        self.base_dir = t.base_dir
        self.settings = t.settings
        self.bodies: dict[str, Any] = {}


class _WorkerScope:
    """engine.core.context.NodeScope for one node on a worker."""

    def __init__(self, run: RunContext, t: NodeTask) -> None:
        self.run = run
        self.plan: Any = _PlanView(t)
        self.inputs = t.inputs
        self.iteration = t.iteration
        self.index = t.index
        self._loop = t.loop

    def template_names(self, ports: dict[str, Any]) -> dict[str, Any]:
        names = self.run.template_names(self.inputs)
        if self._loop is not None:
            names["loop"] = self._loop
        return {**names, "ports": ports}

    async def run_body(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        raise NodeError("a node running on a Dask worker cannot run a body: its type must "
                        "not declare remote_capable", retryable=False)

    def set_result(self, name: str, value: Any) -> None:
        raise NodeError("a node running on a Dask worker cannot set the run's results: its "
                        "type must not declare remote_capable", retryable=False)

    def remote_body(self, plan: Any) -> None:
        return None


async def _node(t: NodeTask, sink: list[Event], worker: str) -> dict[str, Any] | None:
    registry = registry_for(t.run.plugins)
    cls = registry.get(t.type_id)
    if cls is None:
        raise NodeError(f"node type {t.type_id!r} is not installed on Dask worker {worker}: "
                        "install its package there, or put its plugin in a plugin folder "
                        "(shipped to the workers)", retryable=False)
    run = _run_context(t.run, sink, registry)
    ctx = NodeContext(_WorkerScope(run, t), t.path, cls.type, t.kwargs)  # type: ignore[arg-type]
    ctx.attempt = t.attempt
    config = cls.Config.model_validate(t.config)
    result: dict[str, Any] | None = await cls(config).run(ctx, **t.kwargs)
    return result


# --- a body's items ----------------------------------------------------------------------


def _body_plan(t: BodyTask, registry: Registry) -> Plan:
    key = (t.digest, t.run.plugins)
    plan = _plans.get(key)
    if plan is None:
        if hashlib.sha256(t.graph.encode()).hexdigest() != t.digest:
            raise NodeError("a body arrived damaged (its digest does not match)",
                            retryable=True)
        body = Subgraph.model_validate_json(t.graph)
        plan = compile_plan(Workflow(subgraphs={"body": body}), registry,
                            base_dir=t.base_dir, graph=body)
        with _lock:
            while len(_plans) >= 64:  # a long-lived worker serves many workflows
                del _plans[next(iter(_plans))]
            _plans[key] = plan
    return plan


async def _items(t: BodyTask, sink: list[Event],
                 kept: list[NodeOutputs]) -> list[tuple[Any, ...]]:
    registry = registry_for(t.run.plugins)
    run = _run_context(t.run, sink, registry, kept)
    plan = _body_plan(t, registry)
    outcomes: list[tuple[Any, ...]] = []
    for i, item in t.items:
        child = GraphExecution(run, plan, {"item": item, "index": i}, path=t.path, index=i)
        child.loop_names = {"item": item, "index": i}
        with run.bodies.body():
            await child.execute()
        if child.failure is not None:
            outcomes.append((i, False, child.failure.error))
            if t.fail_fast:
                break
        else:
            outcomes.append((i, True, child.results, child.node_errors))
    return outcomes
