"""The Dask-backed execution: the local executor's semantics, with node bodies on
Dask workers.

`DaskExecution` is the local `GraphExecution` (dependency counting, skipping,
retries, error policies, cancellation and events all stay in the driving
process), except where a node body is called: a remote-capable type's body (Node.
remote_capable; not `inline` ones, whose microseconds would cost a millisecond of
scheduling, nor result-collecting ones) becomes one Dask task per attempt. The
events it emitted there (logs, progress) come back with its result and are
published with a `worker` field; node_completed / node_failed name the worker too.

A control.for_each whose whole body is remote-capable runs it through `DaskBody`:
one task per batch of items, at most the loop's max_parallel tasks in flight,
batches sized from what the first ones measured so that scheduling stays under a
tenth of the work (`BatchSizer`).

Faults: a worker lost mid-task is Dask's to reschedule (a `node_log` warning says
which worker was lost while running which attempt); when Dask gives up
(KilledWorker) the node fails with a retryable error, and its retry policy applies.
Cancelling cancels the tasks' futures (a body already running on a worker thread
runs to its end there; its result is dropped).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections.abc import AsyncGenerator, Awaitable, Sequence
from typing import TYPE_CHECKING, Any

from engine.core.events import EVENT_TYPES, NodeLogged
from engine.core.executor import GraphExecution
from engine.distributed.payload import BodyTask, NodeTask, Sealed, task_key
from engine.distributed.worker import WireEvent, run_items, run_node
from engine.errors import BodyError, NodeError
from engine.workflow.model import Subgraph

if TYPE_CHECKING:
    from engine.core.context import NodeContext
    from engine.core.plan import Plan, PlannedNode
    from engine.core.run_context import RunContext
    from engine.distributed.cluster import DaskCluster

TARGET_OVERHEAD = 0.10  # scheduling at most this share of a batch's time
MAX_BATCH = 1000  # items in one task, whatever the measurements say
SHORT_TASK_S = 0.05  # a batch this short never unbalances the workers, whatever is left


class RemoteNodeError(NodeError):
    """An error a node raised on a worker, or Dask's giving up on a task, as raised in
    the driving process: its type, message and retry verdict as the worker saw them."""

    def __init__(self, info: dict[str, Any]) -> None:
        super().__init__(info.get("message", "the node failed on a worker"),
                         retryable=info.get("retryable"),
                         retry_after_s=info.get("retry_after_s"))
        self.type = info.get("type", "NodeError")
        self.remote_traceback = info.get("traceback", "")


def lost_error(e: BaseException) -> RemoteNodeError:
    """Dask could not finish a task (its workers kept dying, the scheduler went away)."""
    name = type(e).__name__
    return RemoteNodeError({
        "type": "WorkerLost", "retryable": True,
        "message": f"Dask could not run this on a worker ({name}: {e}); the workers "
                   "running it died or left the cluster"})


def publish(run: RunContext, events: list[WireEvent], worker: str) -> None:
    """Events a worker collected, published in the run as if emitted here, naming it."""
    emit = run.emit
    for name, fields in events:
        cls: Any = EVENT_TYPES.get(name)
        if cls is None:
            continue
        if cls.short >= 0:  # a node event: its last field is `worker`
            fields = (*fields[:-1], worker)
        emit(cls, *fields)


def body_graph(plan: Plan) -> tuple[str, str]:
    """A compiled body as Subgraph JSON (its nodes' specs and wires), and its digest:
    what a worker compiles again, once."""
    connections = [{"from": e.source, "to": f"{n.id}.{e.port}"}
                   for n in plan.nodes for e in n.in_edges]
    body = Subgraph.model_validate({
        "name": plan.name, "inputs": {k: v for k, v in plan.inputs.items()},
        "nodes": [n.spec for n in plan.nodes], "connections": connections,
        "settings": plan.settings})
    text = body.model_dump_json(by_alias=True)
    return text, hashlib.sha256(text.encode()).hexdigest()


class DaskExecution(GraphExecution):
    def __init__(self, cluster: DaskCluster, run: RunContext, plan: Plan,
                 inputs: dict[str, Any], **where: Any) -> None:
        super().__init__(run, plan, inputs, **where)
        self.cluster = cluster

    def _body_execution(self, plan: Plan, inputs: dict[str, Any], **where: Any,
                        ) -> GraphExecution:
        return DaskExecution(self.cluster, self.run, plan, inputs, **where)

    def remote_body(self, plan: Plan, path: str) -> DaskBody | None:
        if all(n.cls.remote_capable for n in plan.nodes):
            return DaskBody(self, plan, path)
        return None

    def _node_call(self, node: PlannedNode, config: Any, ctx: NodeContext,
                   kwargs: dict[str, Any]) -> Awaitable[Any]:
        cls = node.cls
        if cls.remote_capable and not node.inline and not cls.collects_result:
            return self._remote_node(node, config, ctx, kwargs)
        return super()._node_call(node, config, ctx, kwargs)

    async def _remote_node(self, node: PlannedNode, config: Any, ctx: NodeContext,
                           kwargs: dict[str, Any]) -> dict[str, Any] | None:
        cluster, run = self.cluster, self.run
        task = NodeTask(
            run=cluster.run_part(run, node.secrets), type_id=node.cls.type,
            config=config.model_dump(exclude_unset=True), kwargs=kwargs, path=ctx.node_id,
            attempt=ctx.attempt, iteration=self.iteration, index=self.index,
            inputs=self.inputs, loop=self.loop_names, settings=self.plan.settings,
            base_dir=self.plan.base_dir)
        key = task_key("node", run.run_id, ctx.node_id)
        future = cluster.client.submit(run_node, Sealed("node", task), key=key, pure=False)
        attempt = ctx.attempt
        cluster.track(key, lambda worker: run.emit(
            NodeLogged, ctx.node_id, "warning",
            f"Dask worker {worker} was lost while running attempt {attempt}; Dask runs it "
            "again on another worker", self.iteration, self.index, worker))
        try:
            result = await future
        except asyncio.CancelledError:
            cluster.cancel([future])
            raise
        except Exception as e:  # KilledWorker, a lost scheduler...
            raise lost_error(e) from None
        finally:
            cluster.untrack(key)
        status, value, events, worker = result
        ctx.worker = worker
        publish(run, events, worker)
        if status == "error":
            raise RemoteNodeError(value)
        return value  # type: ignore[no-any-return]


class BatchSizer:
    """How many items the next task takes: one at first (to measure), then enough that
    the measured per-task overhead stays under TARGET_OVERHEAD of the task's time,
    but never so many that the items left could not keep every slot busy twice over
    (unless the batch is shorter than SHORT_TASK_S anyway)."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.item_s: float | None = None  # work per item, as the worker measured it
        self.overhead_s: float | None = None  # per task: round trip minus work

    def observe(self, items: int, round_trip_s: float, work_s: float) -> None:
        if items <= 0:
            return
        per_item = work_s / items
        overhead = max(0.0, round_trip_s - work_s)
        # smoothed, so one slow task does not swing the size
        self.item_s = per_item if self.item_s is None else 0.7 * self.item_s + 0.3 * per_item
        self.overhead_s = overhead if self.overhead_s is None else \
            0.7 * self.overhead_s + 0.3 * overhead

    def size(self, remaining: int) -> int:
        if self.item_s is None or self.overhead_s is None:
            return 1
        wanted = math.ceil(self.overhead_s / (TARGET_OVERHEAD * max(self.item_s, 1e-6)))
        balanced = max(1, remaining // (2 * self.slots),
                       int(SHORT_TASK_S / max(self.item_s, 1e-6)))
        return max(1, min(wanted, balanced, MAX_BATCH, remaining))


class DaskBody:
    """engine.core.execution.RemoteBody: a for_each body run whole on the workers."""

    def __init__(self, execution: DaskExecution, plan: Plan, path: str) -> None:
        self.execution = execution
        self.plan = plan
        self.path = path

    async def map(self, items: Sequence[Any], *, max_parallel: int, fail_fast: bool,
                  ) -> AsyncGenerator[tuple[int, dict[str, Any] | BodyError], None]:
        ex = self.execution
        cluster, run = ex.cluster, ex.run
        graph, digest = body_graph(self.plan)
        # the secrets this body's own nodes name (not plan_secrets: that takes in every
        # subgraph of the workflow, which a worker running this body has no use for)
        part = cluster.run_part(run, {name for n in self.plan.nodes for name in n.secrets})
        sizer = BatchSizer(max_parallel)
        total, start = len(items), 0
        flying: dict[asyncio.Future[Any], tuple[Any, str, list[int], float]] = {}
        # Finished waiters queue up here: asyncio.wait over hundreds of tasks in flight
        # would re-arm every one of them at each completion.
        finished: asyncio.Queue[asyncio.Future[Any]] = asyncio.Queue()
        try:
            while start < total or flying:
                while start < total and len(flying) < max_parallel:
                    n = sizer.size(total - start)
                    batch = [(i, items[i]) for i in range(start, start + n)]
                    start += n
                    task = BodyTask(part, graph, digest, self.plan.base_dir, self.path,
                                    batch, fail_fast)
                    key = task_key("items", run.run_id, self.path)
                    future = cluster.client.submit(run_items, Sealed("items", task), key=key,
                                                   pure=False)
                    indexes = [i for i, _ in batch]
                    cluster.track(key, self._lost_warning(indexes))
                    waiter = asyncio.ensure_future(cluster.settled(future))
                    waiter.add_done_callback(finished.put_nowait)
                    flying[waiter] = (future, key, indexes, time.perf_counter())
                done = [await finished.get()]
                while not finished.empty():
                    done.append(finished.get_nowait())
                entries = sorted((flying.pop(w) for w in done), key=lambda e: e[2][0])
                # One gather for every batch that finished meanwhile: a round trip per
                # future would cost a millisecond each (docs/scaling.md).
                results = await cluster.gather([e[0] for e in entries])
                for (_, key, indexes, sent), got in zip(entries, results, strict=True):
                    cluster.untrack(key)
                    try:
                        if isinstance(got, BaseException):
                            raise got
                        outcomes, events, worker, work_s, kept = got
                    except Exception as e:  # Dask gave up on the batch
                        failure = {**_info(lost_error(e)), "node": self.path}
                        for i in indexes:
                            yield i, BodyError(failure)
                        continue
                    sizer.observe(len(indexes), time.perf_counter() - sent, work_s)
                    publish(run, events, worker)
                    for record in kept:  # the run store's full outputs of the body's nodes
                        run.hand_over(record)
                    for outcome in outcomes:
                        if outcome[1]:
                            i, _, results, node_errors = outcome
                            ex.node_errors.extend(run.redactor.scrub(node_errors)
                                                  if run.redacting else node_errors)
                            yield i, results
                        else:
                            yield outcome[0], BodyError(outcome[2])
        finally:
            for pending in flying:
                pending.cancel()
            for _, key, _, _ in flying.values():
                cluster.untrack(key)
            cluster.cancel([f for f, _, _, _ in flying.values()])

    def _lost_warning(self, indexes: list[int]) -> Any:
        run, path = self.execution.run, self.path
        which = f"item {indexes[0]}" if len(indexes) == 1 else \
            f"items {indexes[0]}-{indexes[-1]}"

        def lost(worker: str) -> None:
            run.emit(NodeLogged, path, "warning", f"Dask worker {worker} was lost while "
                     f"running {which}; Dask runs them again on another worker",
                     self.execution.iteration, self.execution.index, worker)
        return lost


def _info(e: NodeError) -> dict[str, Any]:
    return {"type": e.type, "message": str(e)}
