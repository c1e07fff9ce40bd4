"""Runs: the status lifecycle, run-level timeout and cancellation, `retry_workflow`,
and the result object.

A run goes `queued` -> `validating` -> `running` -> `completed` | `failed` |
`cancelled`. Validation (types, config, wires, cycles, inputs) happens before
any node runs; an invalid run fails with error type `validation` and its
`problems`, and emits only `run_completed`.
"""

from __future__ import annotations

import asyncio
import secrets as _secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.bus import EventBus
from engine.errors import Problem, WorkflowInvalidError
from engine.events import Event, RunCompleted, RunRetrying, RunStarted, iso_utc
from engine.executor import COMPLETED, GraphExecution
from engine.model import Workflow
from engine.plan import Plan, check_inputs, compile_plan, resolve_inputs
from engine.preview import preview
from engine.registry import Registry
from engine.templates import TemplateEngine, default_engine

QUEUED, VALIDATING, RUNNING = "queued", "validating", "running"
_now = time.time
FINAL_STATUSES = ("completed", "failed", "cancelled")


@dataclass
class RunResult:
    run_id: str
    status: str
    outputs: dict[str, Any]
    error: dict[str, Any] | None = None
    failed_node: str | None = None
    node_errors: list[dict[str, Any]] = field(default_factory=list)
    duration_ms: float = 0.0
    problems: list[Problem] = field(default_factory=list)  # when validation failed

    def to_dict(self) -> dict[str, Any]:
        """The `--output` shape of FORMAT.md section 4."""
        return {"run_id": self.run_id, "status": self.status, "outputs": self.outputs,
                "error": self.error, "failed_node": self.failed_node,
                "node_errors": self.node_errors, "duration_ms": self.duration_ms}


def new_run_id() -> str:
    """Sortable and readable: UTC start time plus 6 random hex digits."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + _secrets.token_hex(3)


class RunContext:
    """What every node of one run shares: identity, event numbering, services."""

    def __init__(self, run_id: str, bus: EventBus, templates: TemplateEngine,
                 base_dir: Path, registry: Registry) -> None:
        self.run_id = run_id
        self.bus = bus
        self.templates = templates
        self.base_dir = base_dir
        self.registry = registry
        self.loop = asyncio.get_running_loop()
        self.thread_id = threading.get_ident()
        self.started_at = time.time()
        self.seq = 0
        self.publish = bus.publish

    def emit(self, cls: type[Event], *fields: Any) -> None:
        seq = self.seq = self.seq + 1
        self.publish(cls(self.run_id, seq, _now(), *fields))

    def template_names(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        return {"inputs": inputs, "secrets": {},
                "run": {"id": self.run_id, "started_at": iso_utc(self.started_at)}}


class Run:
    """A started run. Await `wait()` for its result; `cancel()` ends it as cancelled."""

    def __init__(self, runner: Runner, workflow: Workflow, inputs: Mapping[str, Any],
                 bus: EventBus, base_dir: Path, run_id: str, max_parallel: int | None,
                 timeout_s: float | None) -> None:
        self.run_id = run_id
        self.status = QUEUED
        self.workflow = workflow
        self.result: RunResult | None = None
        self._runner = runner
        self._inputs = dict(inputs)
        self._bus = bus
        self._base_dir = base_dir
        self._max_parallel = max_parallel
        self._timeout_s = timeout_s
        self._cancelled = False
        self._task = asyncio.get_running_loop().create_task(self._main())

    def cancel(self) -> None:
        if self.status not in FINAL_STATUSES and not self._cancelled:
            self._cancelled = True
            self._task.cancel()

    async def wait(self) -> RunResult:
        return await asyncio.shield(self._task)

    async def _main(self) -> RunResult:
        started = time.perf_counter()
        ctx = RunContext(self.run_id, self._bus, self._runner.templates, self._base_dir,
                         self._runner.registry)
        try:
            self.status = VALIDATING
            plan = self._validate()
        except WorkflowInvalidError as e:
            n = len(e.problems)
            return await self._finish(ctx, started, RunResult(
                self.run_id, "failed", {}, problems=e.problems, error={
                    "type": "validation", "node": None,
                    "message": f"workflow is invalid ({n} problem{'s' if n != 1 else ''}): "
                               + "; ".join(str(p) for p in e.problems)}))
        except asyncio.CancelledError:
            return await self._finish(ctx, started, RunResult(self.run_id, "cancelled", {}))
        self.status = RUNNING
        inputs = resolve_inputs(self.workflow, self._inputs)
        ctx.emit(RunStarted, self.workflow.name, preview(inputs))
        max_attempts = plan.settings.max_workflow_attempts
        timeout_s = self._timeout_s or plan.settings.timeout_s
        attempt = 1
        execution = None
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    execution = GraphExecution(ctx, plan, inputs,
                                               max_parallel=self._max_parallel)
                    await execution.execute()
                    failure = execution.failure
                    if failure is None or failure.policy != "retry_workflow" \
                            or attempt >= max_attempts:
                        break
                    attempt += 1
                    ctx.emit(RunRetrying, attempt, failure.error)
        except TimeoutError:
            result = self._result(plan, execution, "failed")
            result.error = {"type": "timeout", "node": None,
                            "message": f"the run took longer than its timeout of {timeout_s:g} s"}
            return await self._finish(ctx, started, result)
        except asyncio.CancelledError:
            if not self._cancelled:
                raise
            return await self._finish(ctx, started, self._result(plan, execution, "cancelled"))
        assert execution is not None
        if execution.failure is not None:
            result = self._result(plan, execution, "failed")
            result.error = execution.failure.error
            result.failed_node = execution.failure.node
        else:
            result = self._result(plan, execution, "completed")
        return await self._finish(ctx, started, result)

    def _validate(self) -> Plan:
        plan = compile_plan(self.workflow, self._runner.registry, base_dir=self._base_dir,
                            templates=self._runner.templates)
        problems = check_inputs(self.workflow, self._inputs)
        if problems:
            raise WorkflowInvalidError(problems)
        return plan

    def _result(self, plan: Plan, execution: GraphExecution | None, status: str) -> RunResult:
        outputs: dict[str, Any] = {}
        node_errors: list[dict[str, Any]] = []
        if execution is not None:
            node_errors = execution.node_errors
            if plan.collects_results:
                outputs = dict(execution.results)
            else:
                for i in plan.sinks:
                    if execution.state[i] == COMPLETED:
                        outputs[plan.nodes[i].id] = execution.outputs[i]
        return RunResult(self.run_id, status, outputs, node_errors=node_errors)

    async def _finish(self, ctx: RunContext, started: float, result: RunResult) -> RunResult:
        result.duration_ms = round((time.perf_counter() - started) * 1000, 3)
        if result.error is not None and result.failed_node is None:
            result.failed_node = result.error.get("node")
        self.status = result.status
        self.result = result
        ctx.emit(RunCompleted, result.status, result.duration_ms, result.outputs, result.error,
                 result.failed_node, result.node_errors)
        await self._bus.flush()
        return result


class Runner:
    """Starts runs of workflows against one registry."""

    def __init__(self, registry: Registry, *, templates: TemplateEngine = default_engine) -> None:
        self.registry = registry
        self.templates = templates

    def start(self, workflow: Workflow, inputs: Mapping[str, Any] | None = None, *,
              bus: EventBus | None = None, subscribers: tuple[Callable[[Event], Any], ...] = (),
              base_dir: str | Path | None = None, run_id: str | None = None,
              max_parallel: int | None = None, timeout_s: float | None = None) -> Run:
        """Start a run on the running event loop and return its handle."""
        bus = bus or EventBus()
        for fn in subscribers:
            bus.subscribe(fn)
        return Run(self, workflow, inputs or {}, bus, Path(base_dir or Path.cwd()),
                   run_id or new_run_id(), max_parallel, timeout_s)

    async def run(self, workflow: Workflow, inputs: Mapping[str, Any] | None = None,
                  **options: Any) -> RunResult:
        """Run to the end. Cancelling the caller cancels the run (and waits for it)."""
        run = self.start(workflow, inputs, **options)
        try:
            return await run.wait()
        except asyncio.CancelledError:
            run.cancel()
            await asyncio.gather(run.wait(), return_exceptions=True)
            raise
