"""The executor: runs one compiled graph on asyncio.

Semantics (FORMAT.md "Execution semantics"), all in one place:

- Dependency counting: each node counts its incoming wires; when the last one
  settles (a value, or "skipped") the node is ready. Ready nodes start as their
  own asyncio Task while fewer than `max_parallel` run; the rest wait in FIFO
  order. A finishing node hands its outputs to its successors itself, so no
  central loop wakes up per node. On Python 3.12+ the tasks start eagerly: a
  node that finishes without waiting completes inside the call that starts it.
  Nodes made ready meanwhile are settled by a small loop (`_drain`), never by
  recursion, so a long chain of instant or skipped nodes never deepens the stack.
- Skipping: an output left out of a node's result is skipped. A node with a
  skipped single required input is skipped with the same reason
  (`branch_not_taken`, `upstream_failed`; `upstream_skipped` for a disabled or
  cancelled upstream); a `multiple` input receives the values that were not
  skipped, and only all of them skipped skips a required one. Disabled nodes
  are skipped (`disabled`). Pinned nodes report `node_completed` with
  `cached: true` and their pinned outputs, without `node_started`.
- Attempts: up to `retry.max_attempts`, each bounded by `timeout_s` when one is
  set. Only retryable errors are retried; the backoff (or a longer
  Retry-After) is awaited inside the node's own task, so other branches run on.
- Failure after the last attempt: with the `error` port wired, the error value
  goes there, normal outputs are skipped and the run goes on (`routed`).
  Otherwise `on_error`: `continue` records it and skips the dependents;
  `stop` and `retry_workflow` cancel the running nodes (`node_cancelled`) and
  skip the ones not started (`node_skipped`, reason `cancelled`); the runner
  then fails the run or starts it again.
- Cancelling the execution (user cancel, run timeout) does the same as stop.
"""

from __future__ import annotations

import asyncio
import random
import traceback
from collections import deque
from collections.abc import Awaitable, Mapping
from functools import partial
from time import perf_counter, perf_counter_ns
from typing import TYPE_CHECKING, Any

import orjson

from engine.core.context import NodeContext
from engine.core.events import (
    NodeCancelled,
    NodeCompleted,
    NodeFailed,
    NodeRetrying,
    NodeSkipped,
    NodeStarted,
)
from engine.core.execution import Failure, NodeOutputs, Outcome, RemoteBody
from engine.core.node_call import apply_port_values, checked_outputs, config_for, gather_inputs
from engine.core.node_results import (
    BRANCH_NOT_TAKEN,
    UNSET,
    UPSTREAM_FAILED,
    UPSTREAM_SKIPPED,
    Skip,
    error_info,
    is_retryable,
)
from engine.core.preview import preview_outputs
from engine.core.sdk import ERROR_PORT
from engine.errors import BodyError, NodeError, NodeTimeoutError

if TYPE_CHECKING:
    from engine.core.plan import Plan, PlannedNode
    from engine.core.run_context import RunContext

PENDING, RUNNING, COMPLETED, FAILED, SKIPPED, CANCELLED = range(6)
DRAIN_SLICE_S = 0.005  # the longest the executor runs instant nodes without yielding


class GraphExecution:
    """One execution of one plan (the whole workflow, or one run of a body), on the
    running asyncio loop. Implements `engine.core.execution.Execution` for the runner
    and `engine.core.context.NodeScope` for its nodes."""

    def __init__(self, run: RunContext, plan: Plan, inputs: dict[str, Any], *,
                 path: str = "", iteration: int | None = None, index: int | None = None,
                 max_parallel: int | None = None) -> None:
        self.run = run
        self.plan = plan
        self.inputs = inputs
        self.prefix = f"{path}/" if path else ""
        self.iteration = iteration
        self.index = index
        self.max_parallel = max_parallel or plan.settings.max_parallel
        n = len(plan.nodes)
        self.remaining = [len(node.in_edges) for node in plan.nodes]
        self.slots: list[list[Any]] = [[UNSET] * len(node.in_edges) for node in plan.nodes]
        self.skips = [0] * n  # skipped inputs per node: the common case (0) needs no scan
        self.state = [PENDING] * n
        # Kept for sinks only (the default result); others' outputs live in their successors'
        # input slots, and keeping 10,000 dicts alive would only feed the cyclic collector.
        self.outputs: list[dict[str, Any] | None] = [None] * n
        self.results: dict[str, Any] = {}  # flow.output values by name
        self.node_errors: list[dict[str, Any]] = []  # a body shares its caller's list
        self.failure: Failure | None = None
        self.unsettled = n
        self.ready: deque[int] = deque()  # ready, waiting for a free max_parallel slot
        self.running: dict[int, asyncio.Task[None]] = {}
        self.stopping = False
        self._done: asyncio.Future[None] | None = None
        self._create_task = run.start_task
        # Nodes whose last input just settled, and whether a loop is handling them: see
        # _became_ready. Without it, settling a chain of skipped or eagerly finished
        # nodes would recurse once per node and overflow the stack on long chains.
        self._pending: deque[int] = deque()
        self._draining = False
        self._nodes = plan.nodes
        self._names_base: dict[str, Any] | None = None
        self.loop_names: dict[str, Any] | None = None  # `loop` in a body's templates
        # The output cache, for the top-level graph only (engine.core.output_cache):
        # None costs one comparison per node.
        self.cache = run.cache if not path else None
        if self.cache is not None:
            self.cache.bind(plan, inputs, run.redactor)

    # --- what the runner and the nodes read --------------------------------------------

    def outcome(self) -> Outcome:
        if self.plan.collects_results:
            outputs = dict(self.results)
        else:
            outputs = {self._nodes[i].id: self.outputs[i] for i in self.plan.sinks
                       if self.state[i] == COMPLETED}
        return Outcome(self.failure, outputs, self.node_errors)

    def set_result(self, name: str, value: Any) -> None:
        self.results[name] = value

    # --- driving -----------------------------------------------------------------------

    async def execute(self) -> None:
        """Run to the end. Cancelling this coroutine cancels every running node."""
        loop = asyncio.get_running_loop()
        self._done = loop.create_future()
        if self.unsettled == 0:
            return
        self._pending.extend(self.plan.roots)
        self._drain()
        try:
            if not self._done.done():
                await self._done
        except asyncio.CancelledError:
            await self._abort()
            raise

    async def _abort(self) -> None:
        self.stopping = True
        tasks = self._cancel_running()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._skip_unstarted()

    def _stop(self, failure: Failure) -> None:
        if self.failure is None:
            self.failure = failure
        self.stopping = True
        self._cancel_running()
        self._check_drained()

    def _cancel_running(self) -> list[asyncio.Task[None]]:
        tasks = []
        for i, t in list(self.running.items()):
            t.cancel()
            # A task cancelled before its coroutine began never runs _run_node's own
            # bookkeeping (it would stay "running" and the execution would never drain).
            t.add_done_callback(partial(self._never_started, i))
            tasks.append(t)
        return tasks

    def _never_started(self, i: int, task: asyncio.Task[None]) -> None:
        if self.running.get(i) is not task:
            return  # it ran and settled itself
        del self.running[i]
        self.state[i] = SKIPPED
        self.run.emit(NodeSkipped, self.prefix + self.plan.nodes[i].id, "cancelled",
                      self.iteration, self.index)
        self._settled()
        self._check_drained()

    def _check_drained(self) -> None:
        if self.stopping and not self.running and self._done is not None \
                and not self._done.done():
            self._skip_unstarted()
            self._done.set_result(None)

    def _skip_unstarted(self) -> None:
        for i, st in enumerate(self.state):
            if st == PENDING:
                self.state[i] = SKIPPED
                self.run.emit(NodeSkipped, self.prefix + self.plan.nodes[i].id, "cancelled",
                              self.iteration, self.index)
        self.ready.clear()

    def _settled(self) -> None:
        self.unsettled -= 1
        if self.unsettled == 0:
            self._all_settled()

    def _all_settled(self) -> None:
        if self._done is not None and not self._done.done():
            self._done.set_result(None)

    # --- readiness and delivery --------------------------------------------------------

    def _became_ready(self, i: int) -> None:
        self._pending.append(i)
        if not self._draining:
            self._drain()

    def _drain(self) -> None:
        """Settle ready nodes, and start waiting ones while slots are free, in a loop (not
        by recursion): a node that finishes at once (inline, or an eager task) hands its
        successors back here. Every few hundred nodes it checks the time: after a slice
        of DRAIN_SLICE_S it lets the event loop run (the editor must stay responsive
        while thousands of instant nodes run) and carries on at the loop's next turn."""
        self._draining = True
        pending, ready, running = self._pending, self.ready, self.running
        deadline = perf_counter() + DRAIN_SLICE_S
        count = 0
        try:
            while True:
                count += 1
                if count & 255 == 0 and perf_counter() > deadline:
                    self.run.loop.call_soon(self._drain)
                    return
                if pending:
                    self._make_ready(pending.popleft())
                elif ready and len(running) < self.max_parallel and not self.stopping:
                    self._launch(ready.popleft())
                else:
                    return
        finally:
            self._draining = False

    def _make_ready(self, i: int) -> None:
        node = self._nodes[i]
        if self.stopping:
            return  # _skip_unstarted reports it
        if node.disabled:
            return self._skip(i, "disabled")
        if self.skips[i]:
            reason = self._skip_reason(node, self.slots[i])
            if reason is not None:
                return self._skip(i, reason)
        if node.pinned is not None:
            return self._complete_pinned(i, node.pinned)
        if self.cache is not None:
            entry = self.cache.lookup(i)
            if entry is not None:
                return self._complete_stored(i, orjson.loads(entry.outputs))
        if len(self.running) < self.max_parallel:
            self._launch(i)
        else:
            self.ready.append(i)

    @staticmethod
    def _skip_reason(node: PlannedNode, slots: list[Any]) -> str | None:
        multi_seen: dict[str, bool] | None = None
        for edge, value in zip(node.in_edges, slots, strict=True):
            if value.__class__ is not Skip:
                if edge.multiple:
                    (multi_seen := multi_seen or {})[edge.port] = True
                continue
            if not edge.required:
                continue
            if not edge.multiple:
                return value.reason
            multi_seen = multi_seen or {}
            multi_seen.setdefault(edge.port, False)
        if multi_seen:
            for port, got_one in multi_seen.items():
                if not got_one:
                    reasons = {s.reason for e, s in zip(node.in_edges, slots, strict=True)
                               if e.port == port}
                    return reasons.pop() if len(reasons) == 1 else "upstream_skipped"
        return None

    def _launch(self, i: int) -> None:
        self.state[i] = RUNNING
        if self._nodes[i].inline:
            self._run_inline(i)
            return
        task = self._create_task(self._run_node(i))
        if not task.done():  # an eager task may have finished (and settled) already
            self.running[i] = task

    def _deliver(self, i: int, outputs: dict[str, Any] | None, missing: Skip) -> None:
        """Hand a settled node's outputs to its successors; absent ports get `missing`."""
        slots, remaining, skips = self.slots, self.remaining, self.skips
        for port, targets in self._nodes[i].deliveries:
            value = outputs.get(port, missing) if outputs is not None else missing
            skipped = value.__class__ is Skip
            for dst, slot in targets:
                slots[dst][slot] = value
                if skipped:
                    skips[dst] += 1
                remaining[dst] -= 1
                if remaining[dst] == 0:
                    self._became_ready(dst)

    def _skip(self, i: int, reason: str) -> None:
        self.state[i] = SKIPPED
        if self.cache is not None:
            self.cache.skipped(i, reason)
        self.run.emit(NodeSkipped, self.prefix + self.plan.nodes[i].id, reason,
                      self.iteration, self.index)
        passed = reason if reason in ("branch_not_taken", "upstream_failed") else "upstream_skipped"
        self._deliver(i, None, BRANCH_NOT_TAKEN if passed == "branch_not_taken"
                      else UPSTREAM_FAILED if passed == "upstream_failed" else UPSTREAM_SKIPPED)
        self._settled()

    def _complete_pinned(self, i: int, frozen: Mapping[str, Any]) -> None:
        if self.cache is not None:
            self.cache.pinned(i, frozen)
        self._complete_stored(i, dict(frozen))  # the plan's copy is read-only

    def _complete_stored(self, i: int, outputs: dict[str, Any]) -> None:
        """Complete node `i` with outputs it did not compute (pinned, or cached):
        `node_completed` with `cached: true`, and no `node_started`."""
        node = self.plan.nodes[i]
        self.state[i] = COMPLETED
        self.outputs[i] = outputs
        path = self.prefix + node.id
        self.run.emit(NodeCompleted, path, node.cls.type, 0.0,
                      preview_outputs(outputs, self.run.redactor), True, self.iteration, self.index)
        if self.run.on_outputs is not None:
            self.run.hand_over(NodeOutputs(self.run.run_id, path, node.cls.type, dict(outputs),
                                           True, self.iteration, self.index))
        self._deliver(i, outputs, BRANCH_NOT_TAKEN)
        self._settled()

    # --- one node ----------------------------------------------------------------------

    def _call(self, node: PlannedNode, i: int, path: str, ctx: NodeContext | None,
              attempt: int) -> tuple[NodeContext, Awaitable[Any]]:
        """The node's context (made on the first attempt) and its `run` coroutine, called
        with its inputs: wired values, then config values of unwired input ports."""
        kwargs = gather_inputs(node, self.slots[i], self.skips[i]) if node.in_edges else {}
        if ctx is None:
            ctx = NodeContext(self, path, node.cls.type, kwargs)
        else:
            ctx.attempt = attempt
        config = node.static_config
        if config is None:
            config = config_for(node, kwargs, self.run.templates, self.template_names)
        for name in node.config_ports:  # an unwired input takes its config value
            if name not in kwargs:
                kwargs[name] = getattr(config, name)
        if node.port_values:
            apply_port_values(node, kwargs, self.run.templates, self.template_names)
        return ctx, self._node_call(node, config, ctx, kwargs)

    def _node_call(self, node: PlannedNode, config: Any, ctx: NodeContext,
                   kwargs: dict[str, Any]) -> Awaitable[Any]:
        """The node body's coroutine: here, its type's `run`. A remote backend
        (engine.distributed) overrides this to run it elsewhere."""
        return node.cls(config).run(ctx, **kwargs)

    def _completed(self, i: int, node: PlannedNode, path: str, outputs: dict[str, Any],
                   started: int, ctx: NodeContext | None) -> None:
        self.state[i] = COMPLETED
        if node.is_sink:
            self.outputs[i] = outputs
        if self.cache is not None:
            self.cache.completed(i, outputs)
        # ms with µs resolution; integer arithmetic, as round() costs a third of a µs
        self.run.emit(NodeCompleted, path, node.cls.type,
                      (perf_counter_ns() - started) // 1000 / 1000,
                      preview_outputs(outputs, self.run.redactor),
                      False, self.iteration, self.index, None if ctx is None else ctx.worker)
        if self.run.on_outputs is not None:
            self.run.hand_over(NodeOutputs(self.run.run_id, path, node.cls.type, outputs, False,
                                           self.iteration, self.index,
                                           None if ctx is None else ctx.ports))
        self._deliver(i, outputs, BRANCH_NOT_TAKEN)
        self.unsettled -= 1
        if self.unsettled == 0:
            self._all_settled()

    def _run_inline(self, i: int) -> None:
        """A node whose type is `inline` (its run() never waits), run at once in the
        caller, without a task: it completes or fails before this returns."""
        node = self._nodes[i]
        path = self.prefix + node.id
        started = perf_counter_ns()
        self.run.emit(NodeStarted, path, node.cls.type, 1, self.iteration, self.index)
        ctx: NodeContext | None = None
        try:
            ctx, call = self._call(node, i, path, None, 1)
            steps = call.__await__()
            try:
                steps.send(None)
            except StopIteration as done:
                outputs = checked_outputs(node, done.value)
            else:
                close = getattr(steps, "close", None)
                if close is not None:
                    close()  # it waited for something: a broken promise, said plainly
                raise NodeError(f"{node.cls.type} is declared inline (its run() never waits) "
                                "but its run() waited for something; declare inline = False",
                                retryable=False)
        except Exception as e:
            self._failed(i, path, 1, e, ctx)
            return
        self._completed(i, node, path, outputs, started, ctx)

    async def _run_node(self, i: int) -> None:
        node = self._nodes[i]
        path = self.prefix + node.id
        emit = self.run.emit
        type_id = node.cls.type
        iteration, index = self.iteration, self.index
        started = perf_counter_ns()
        attempt = 1
        ctx: NodeContext | None = None
        try:
            while True:
                emit(NodeStarted, path, type_id, attempt, iteration, index)
                try:
                    ctx, coro = self._call(node, i, path, ctx, attempt)
                    outputs = checked_outputs(node, await (
                        coro if node.timeout_s is None else self._with_timeout(node, coro)))
                    break
                except asyncio.CancelledError:
                    raise
                except Exception as e:
                    retry = node.retry
                    if retry is None or attempt >= retry.max_attempts \
                            or not is_retryable(node, e):
                        self._failed(i, path, attempt, e, ctx)
                        return
                    attempt += 1
                    delay = retry.delay_before(attempt, random.random())
                    after = getattr(e, "retry_after_s", None)
                    if after is not None and after > delay:
                        delay = after
                    emit(NodeRetrying, path, attempt, round(delay, 3), error_info(e),
                         iteration, index)
                    await asyncio.sleep(delay)
            self._completed(i, node, path, outputs, started, ctx)
        except asyncio.CancelledError:
            self.state[i] = CANCELLED
            emit(NodeCancelled, path, iteration, index)
            self._settled()
            # Swallowed on purpose: the execution itself ends through _check_drained or
            # its own cancellation; re-raising here would only add noise.
        finally:
            self.running.pop(i, None)
            if self.ready and not self._draining:
                self._drain()  # a slot is free for a waiting node
            if self.stopping:
                self._check_drained()

    @staticmethod
    async def _with_timeout(node: PlannedNode, coro: Any) -> Any:
        try:
            async with asyncio.timeout(node.timeout_s) as cm:
                return await coro
        except TimeoutError as e:
            if cm.expired():
                raise NodeTimeoutError(f"timed out after {node.timeout_s:g} s (timeout_s)") from e
            raise

    async def run_body(self, plan: Plan, inputs: dict[str, Any], *, path: str,
                       loop: dict[str, Any] | None = None, iteration: int | None = None,
                       index: int | None = None, max_parallel: int | None = None,
                       ) -> dict[str, Any]:
        """Run a body to the end inside the calling node: its node ids are `path/id`,
        its events carry `iteration`/`index`, its `flow.output` values come back by
        name. Raises BodyError when it fails; cancelling the caller cancels it."""
        child = self._body_execution(plan, inputs, path=path, iteration=iteration,
                                     index=index, max_parallel=max_parallel)
        child.node_errors = self.node_errors
        child.loop_names = loop
        with self.run.bodies.body():  # engine.core.body_budget: in all, and at once
            await child.execute()
        if child.failure is not None:
            raise BodyError(child.failure.error)
        return child.results

    def _body_execution(self, plan: Plan, inputs: dict[str, Any], **where: Any,
                        ) -> GraphExecution:
        """A body's execution: of the same kind as this one (a remote backend's too)."""
        return GraphExecution(self.run, plan, inputs, **where)

    def remote_body(self, plan: Plan, path: str) -> RemoteBody | None:
        """How to run `plan` whole elsewhere, once per item (control.for_each), or None:
        the local executor runs bodies here, through run_body."""
        return None

    def template_names(self, ports: dict[str, Any]) -> dict[str, Any]:
        base = self._names_base
        if base is None:
            base = self._names_base = self.run.template_names(self.inputs)
            if self.loop_names is not None:
                base["loop"] = self.loop_names
        return {**base, "ports": ports}

    # --- failure -----------------------------------------------------------------------

    def _failed(self, i: int, path: str, attempt: int, e: BaseException,
                ctx: NodeContext | None = None) -> None:
        node = self.plan.nodes[i]
        info = error_info(e)
        routed = node.error_routed
        self.state[i] = FAILED
        if self.cache is not None:
            self.cache.failed(i)
        self.run.emit(NodeFailed, path, node.cls.type, attempt, info, routed,
                      self.iteration, self.index, None if ctx is None else ctx.worker)
        if self.run.on_outputs is not None:  # programs get the traceback too
            self.run.hand_over(NodeOutputs(
                self.run.run_id, path, node.cls.type, {}, False, self.iteration, self.index,
                None if ctx is None else ctx.ports,
                {**info, "traceback": "".join(traceback.format_exception(e))}))
        full = {**info, "node": e.node if isinstance(e, BodyError) and e.node else path}
        if routed:
            self._deliver_error(i, full)
        elif node.on_error == "continue":
            self.node_errors.append(full)
            self._deliver(i, None, UPSTREAM_FAILED)
        else:
            self._settled()
            self.running.pop(i, None)  # this task is ending; _stop must not cancel it
            # A failure inside a body names the inner node's path (FORMAT.md: failed_node)
            self._stop(Failure(full, full["node"], node.on_error))
            return
        self._settled()

    def _deliver_error(self, i: int, error: dict[str, Any]) -> None:
        self._deliver(i, {ERROR_PORT: error}, UPSTREAM_FAILED)
