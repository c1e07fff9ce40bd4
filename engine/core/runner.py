"""Runs: the status lifecycle, run-level timeout and cancellation, `retry_workflow`,
and the result object.

A run goes `queued` -> `validating` -> `running` -> `completed` | `failed` |
`cancelled`. The preflight (plan, inputs, secrets; engine.core.preflight) happens
before any node runs; an invalid run fails with error type `validation` and its
`problems`, and emits only `run_completed`. Each attempt's plan is executed by an
`Execution` from the runner's factory (engine.core.execution), the local asyncio
executor unless another backend is given.
"""

from __future__ import annotations

import asyncio
import secrets as _secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.core.bus import EventBus
from engine.core.events import Event, RunCompleted, RunRetrying, RunStarted
from engine.core.execution import Execution, ExecutionFactory, Outcome, OutputsHook
from engine.core.executor import GraphExecution
from engine.core.output_cache import missing_upstream
from engine.core.plan import Plan
from engine.core.preflight import (
    Checked,
    PreparedWorkflow,
    preflight,
    prepare,
    prepare_steps,
)
from engine.core.preview import preview
from engine.core.registry import Registry
from engine.core.run_context import FilePlans, RunContext
from engine.errors import Problem, WorkflowInvalidError
from engine.secrets.redactor import Redactor
from engine.secrets.store import SecretStore
from engine.support.gcpause import gc_paused
from engine.workflow.model import Workflow

if TYPE_CHECKING:
    from engine.core.output_cache import RunCache
    from engine.templates.engine import TemplateEngine

QUEUED, VALIDATING, RUNNING = "queued", "validating", "running"
PREPARE_SLICE_S = 0.005  # prepare_async lets the loop run this often
FINAL_STATUSES = ("completed", "failed", "cancelled")

# What a run may be started from: a workflow (checked and compiled for this run), a
# workflow prepared once for many runs, or one run's finished preflight.
RunSource = Workflow | PreparedWorkflow | Checked


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
    metadata: dict[str, Any] = field(default_factory=dict)  # run options, e.g. test_run

    def to_dict(self) -> dict[str, Any]:
        """The `--output` shape of FORMAT.md section 4, plus `metadata` when there is any."""
        data = {"run_id": self.run_id, "status": self.status, "outputs": self.outputs,
                "error": self.error, "failed_node": self.failed_node,
                "node_errors": self.node_errors, "duration_ms": self.duration_ms}
        if self.metadata:
            data["metadata"] = self.metadata
        return data


_stamp: tuple[int, str] = (0, "")  # (second, its text): a run id per run, one strftime a second


def new_run_id() -> str:
    """Sortable and readable: UTC start time plus 6 random hex digits."""
    global _stamp
    second = int(time.time())
    if _stamp[0] != second:
        _stamp = (second, datetime.fromtimestamp(second, UTC).strftime("%Y%m%dT%H%M%S"))
    return f"{_stamp[1]}-{_secrets.token_hex(3)}"


class Run:
    """A started run. Await `wait()` for its result; `cancel()` ends it as cancelled."""

    def __init__(self, runner: Runner, source: RunSource, inputs: Mapping[str, Any],
                 context: RunContext, base_dir: Path | None, max_parallel: int | None,
                 timeout_s: float | None, *, own_task: bool = True) -> None:
        self.run_id = context.run_id
        self.context = context
        self.trigger = context.trigger
        self.options = context.options  # e.g. {"test_run": True}; the result's metadata
        self.status = QUEUED
        self.workflow = source if isinstance(source, Workflow) else (
            source.workflow if isinstance(source, PreparedWorkflow) else source.prepared.workflow)
        self.result: RunResult | None = None
        self._runner = runner
        self._source = source
        self._inputs = inputs
        self._base_dir = base_dir
        self._max_parallel = max_parallel
        self._timeout_s = timeout_s
        self._cancelled = False
        self._execution: Execution | None = None  # the current attempt's
        # A started run has a task of its own and stays `queued` until the loop's next
        # turn. `Runner.run`, whose caller waits for it at once, runs it in the caller's
        # task instead: one task and one turn of the loop fewer per run.
        self._inline = not own_task
        if own_task:
            self._task = context.loop.create_task(self._main())
        else:
            task = asyncio.current_task()
            assert task is not None, "Runner.run must be awaited in a task"
            self._task = task

    def cancel(self) -> None:
        if self.status not in FINAL_STATUSES and not self._cancelled:
            self._cancelled = True
            self._task.cancel()

    async def wait(self) -> RunResult:
        return await asyncio.shield(self._task)

    @property
    def response(self) -> dict[str, Any] | None:
        """What an `http.respond` node sent (serve mode answers the webhook with it)."""
        return self.context.response

    @property
    def redactor(self) -> Redactor:
        """Masks this run's secret values: for records of the run kept elsewhere."""
        return self.context.redactor

    async def _main(self) -> RunResult:
        started = time.perf_counter()
        ctx = self.context
        try:
            self.status = VALIDATING
            checked = self._source if isinstance(self._source, Checked) else \
                self._runner.preflight(self._source, self._inputs, base_dir=self._base_dir)
        except WorkflowInvalidError as e:
            n = len(e.problems)
            return await self._finish(started, RunResult(
                self.run_id, "failed", {}, problems=e.problems, error={
                    "type": "validation", "node": None,
                    "message": f"workflow is invalid ({n} problem{'s' if n != 1 else ''}): "
                               + "; ".join(str(p) for p in e.problems)}))
        except asyncio.CancelledError:
            return await self._cancelled_result(started, RunResult(self.run_id, "cancelled", {}))
        self.status = RUNNING
        ctx.add_secrets(checked.secrets)
        inputs = dict(checked.inputs)
        plan = checked.prepared.plan
        if ctx.cache is not None and ctx.cache.policy.cached_only:
            missing = missing_upstream(ctx.cache, plan, inputs, ctx.redactor)
            if missing:
                return await self._finish(started, _not_cached(self.run_id, missing))
        ctx.emit(RunStarted, self.workflow.name, preview(inputs, redactor=ctx.redactor))
        timeout_s = self._timeout_s or plan.settings.timeout_s
        try:
            if timeout_s is None:  # asyncio.timeout costs microseconds: only when one is set
                outcome = await self._attempts(plan, inputs)
            else:
                async with asyncio.timeout(timeout_s):
                    outcome = await self._attempts(plan, inputs)
        except TimeoutError:
            result = self._result("failed")
            result.error = {"type": "timeout", "node": None,
                            "message": f"the run took longer than its timeout of {timeout_s:g} s"}
            return await self._finish(started, result)
        except asyncio.CancelledError:
            if not (self._cancelled or self._inline):
                raise
            return await self._cancelled_result(started, self._result("cancelled"))
        if outcome.failure is not None:
            result = self._result("failed", outcome)
            result.error = outcome.failure.error
            result.failed_node = outcome.failure.node
        else:
            result = self._result("completed", outcome)
        return await self._finish(started, result)

    async def _cancelled_result(self, started: float, result: RunResult) -> RunResult:
        """Finish as cancelled; a run in its caller's task then lets the caller's own
        cancellation go on."""
        done = await self._finish(started, result)
        if self._inline:
            raise asyncio.CancelledError
        return done

    async def _attempts(self, plan: Plan, inputs: dict[str, Any]) -> Outcome:
        """Execute the plan; again from the start while a node's `on_error` is
        `retry_workflow` and attempts are left (settings.max_workflow_attempts)."""
        make: ExecutionFactory = self._runner.execution
        attempt = 1
        while True:
            execution = self._execution = make(self.context, plan, inputs,
                                               max_parallel=self._max_parallel)
            await execution.execute()
            outcome = execution.outcome()
            failure = outcome.failure
            if failure is None or failure.policy != "retry_workflow" \
                    or attempt >= plan.settings.max_workflow_attempts:
                return outcome
            attempt += 1
            self.context.emit(RunRetrying, attempt=attempt, error=failure.error)

    def _result(self, status: str, outcome: Outcome | None = None) -> RunResult:
        """A result from the outcome, or from what the last execution did so far."""
        if outcome is None:
            if self._execution is None:
                return RunResult(self.run_id, status, {})
            outcome = self._execution.outcome()
        return RunResult(self.run_id, status, outcome.outputs, node_errors=outcome.node_errors)

    async def _finish(self, started: float, result: RunResult) -> RunResult:
        ctx = self.context
        if ctx.holds_resources:
            await ctx.aclose()
        result.duration_ms = round((time.perf_counter() - started) * 1000, 3)
        if result.error is not None and result.failed_node is None:
            result.failed_node = result.error.get("node")
        result.metadata = dict(self.options)
        if ctx.redacting:  # results leave the engine: files, stdout, the run store
            result.outputs = ctx.redactor.scrub(result.outputs)
            result.error = ctx.redactor.scrub(result.error)
            result.node_errors = ctx.redactor.scrub(result.node_errors)
        self.status = result.status
        self.result = result
        ctx.emit(RunCompleted, result.status, result.duration_ms, result.outputs, result.error,
                 result.failed_node, result.node_errors)
        if ctx.bus.has_async_subscribers:
            await ctx.bus.flush()
        return result


class Runner:
    """Starts runs of workflows against one registry. `execution` makes what executes
    each attempt's plan (default: the local asyncio executor)."""

    def __init__(self, registry: Registry, *, templates: TemplateEngine | None = None,
                 secrets: SecretStore | None = None,
                 execution: ExecutionFactory = GraphExecution) -> None:
        self.registry = registry
        self._templates = templates
        self.secrets = secrets or SecretStore()
        self.execution = execution
        self.file_plans = FilePlans()  # sub-workflow files, shared by this runner's runs

    def using(self, execution: ExecutionFactory) -> Runner:
        """A runner like this one (registry, templates, secrets, sub-workflow plans)
        whose runs execute with `execution` (a Dask cluster's, for instance)."""
        other = Runner(self.registry, templates=self._templates, secrets=self.secrets,
                       execution=execution)
        other.file_plans = self.file_plans
        return other

    @property
    def templates(self) -> TemplateEngine:
        if self._templates is None:  # Jinja2 is imported when templates are first needed
            from engine.templates.engine import default_engine

            self._templates = default_engine
        return self._templates

    def prepare(self, workflow: Workflow, *, base_dir: str | Path | None = None,
                ) -> PreparedWorkflow:
        """Validate and compile `workflow` once for many runs. Raises WorkflowInvalidError."""
        return prepare(workflow, self.registry, base_dir=_folder(base_dir),
                       templates=self._templates)

    async def prepare_async(self, workflow: Workflow, *, base_dir: str | Path | None = None,
                            slice_s: float = PREPARE_SLICE_S) -> PreparedWorkflow:
        """`prepare` on the event loop in steps of about `slice_s` seconds, letting
        the loop run between them: what the editor and servers use, so compiling a
        large workflow never freezes them. (Not a thread: a second thread busy with
        Python starves a Qt loop of the GIL; NOTES.md.) Raises WorkflowInvalidError."""
        steps = prepare_steps(workflow, self.registry, base_dir=_folder(base_dir),
                              templates=self._templates, slice_s=slice_s)
        while True:
            with gc_paused():
                try:
                    next(steps)
                except StopIteration as done:
                    prepared: PreparedWorkflow = done.value
                    return prepared
            await asyncio.sleep(0)

    def preflight(self, source: Workflow | PreparedWorkflow,
                  inputs: Mapping[str, Any] | None = None, *,
                  base_dir: str | Path | None = None) -> Checked:
        """Check one run before it starts (plan, inputs, secrets), reporting every problem
        at once. Raises WorkflowInvalidError."""
        base = source.base_dir if isinstance(source, PreparedWorkflow) else _folder(base_dir)
        return preflight(source, inputs or {}, registry=self.registry, secrets=self.secrets,
                         base_dir=base, templates=self._templates)

    def start(self, source: RunSource, inputs: Mapping[str, Any] | None = None, *,
              bus: EventBus | None = None, subscribers: tuple[Callable[[Event], Any], ...] = (),
              base_dir: str | Path | None = None, run_id: str | None = None,
              max_parallel: int | None = None, timeout_s: float | None = None,
              trigger: Mapping[str, Any] | None = None,
              options: Mapping[str, Any] | None = None,
              on_outputs: OutputsHook | None = None, masked: Iterable[str] = (),
              cache: RunCache | None = None) -> Run:
        """Start a run on the running event loop and return its handle.

        `source` is a workflow, a workflow prepared once with `prepare` (serve mode, the
        editor and re-runs skip compiling), or a finished `preflight`. `trigger` is the
        payload trigger nodes output (a webhook request, a tick); `options` are run
        options such as `{"test_run": True}`, kept in the result's metadata;
        `on_outputs` receives every node's full outputs as they are produced; `masked`
        values are kept out of everything the run emits, as secrets are; `cache` is the
        output cache the run records into and reuses from (engine.core.output_cache)."""
        return self._make_run(source, inputs, bus=bus, subscribers=subscribers,
                              base_dir=base_dir, run_id=run_id, max_parallel=max_parallel,
                              timeout_s=timeout_s, trigger=trigger, options=options,
                              on_outputs=on_outputs, masked=masked, cache=cache)

    def _make_run(self, source: RunSource, inputs: Mapping[str, Any] | None, *,
                  bus: EventBus | None = None,
                  subscribers: tuple[Callable[[Event], Any], ...] = (),
                  base_dir: str | Path | None = None, run_id: str | None = None,
                  max_parallel: int | None = None, timeout_s: float | None = None,
                  trigger: Mapping[str, Any] | None = None,
                  options: Mapping[str, Any] | None = None,
                  on_outputs: OutputsHook | None = None, own_task: bool = True,
                  masked: Iterable[str] = (), cache: RunCache | None = None) -> Run:
        if isinstance(source, Checked) and inputs:
            raise ValueError("a checked run already has its inputs")
        bus = bus or EventBus()
        for fn in subscribers:
            bus.subscribe(fn)
        context = RunContext(run_id or new_run_id(), bus, self._templates, self.registry,
                             trigger=trigger, options=options, on_outputs=on_outputs,
                             file_plans=self.file_plans, masked=masked, cache=cache)
        base = None if isinstance(source, Checked) else _folder(base_dir)  # preflight's only
        return Run(self, source, inputs or {}, context, base, max_parallel, timeout_s,
                   own_task=own_task)

    async def run(self, source: RunSource, inputs: Mapping[str, Any] | None = None,
                  **options: Any) -> RunResult:
        """Run to the end, in the caller's task. Cancelling the caller ends the run as
        cancelled (run_completed included) before the cancellation goes on."""
        run = self._make_run(source, inputs, own_task=False, **options)
        return await run._main()


def _not_cached(run_id: str, missing: list[str]) -> RunResult:
    """`--cached-only` and upstream without a stored output: failed before any node ran,
    as an invalid run is (exit 2), naming each node that would have to run."""
    problems = [Problem("not_cached", "has no cached output for its current config and "
                        "inputs; run it first (leave out --cached-only, or run the workflow "
                        "once)", node) for node in missing]
    names = ", ".join(repr(n) for n in missing)
    return RunResult(run_id, "failed", {}, problems=problems, error={
        "type": "validation", "node": missing[0],
        "message": f"--cached-only: no cached output for upstream node(s) {names}"})


def _folder(base_dir: str | Path | None) -> Path:
    return base_dir if isinstance(base_dir, Path) else Path(base_dir or Path.cwd())


def run_file(path: str | Path, inputs: Mapping[str, Any] | None = None, *,
             registry: Registry | None = None,
             subscribers: tuple[Callable[[Event], Any], ...] = (),
             **options: Any) -> RunResult:
    """Load and run a workflow file to the end (blocking), with the installed node types."""
    from engine.workflow.file import load

    workflow = load(path)
    runner = Runner(registry or Registry.discover())
    return asyncio.run(runner.run(workflow, inputs, subscribers=subscribers,
                                  base_dir=Path(path).resolve().parent, **options))
