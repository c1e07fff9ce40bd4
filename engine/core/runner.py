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

from engine.core.bus import EventBus
from engine.core.events import Event, RunCompleted, RunRetrying, RunStarted, iso_utc
from engine.core.executor import COMPLETED, GraphExecution
from engine.core.plan import Plan, check_inputs, compile_workflow, resolve_inputs
from engine.core.preview import preview
from engine.core.registry import Registry
from engine.errors import Problem, WorkflowInvalidError
from engine.secrets.store import ENV_PREFIX, Redactor, SecretStore, references
from engine.templates.engine import TemplateEngine, default_engine
from engine.workflow.model import Workflow

QUEUED, VALIDATING, RUNNING = "queued", "validating", "running"


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("flowui")
    except Exception:
        return "dev"


_now = time.time
_new_record = tuple.__new__
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
    metadata: dict[str, Any] = field(default_factory=dict)  # run options, e.g. test_run

    def to_dict(self) -> dict[str, Any]:
        """The `--output` shape of FORMAT.md section 4, plus `metadata` when there is any."""
        data = {"run_id": self.run_id, "status": self.status, "outputs": self.outputs,
                "error": self.error, "failed_node": self.failed_node,
                "node_errors": self.node_errors, "duration_ms": self.duration_ms}
        if self.metadata:
            data["metadata"] = self.metadata
        return data


def new_run_id() -> str:
    """Sortable and readable: UTC start time plus 6 random hex digits."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + _secrets.token_hex(3)


def workflow_secrets(workflow: Workflow, registry: Registry | None = None) -> set[str]:
    """Names of the secrets the workflow's templates (subgraphs included) refer to; with
    `registry`, also those a node type's config default refers to where the file leaves
    the field out (llm.chat's api_key defaults to `{{ secrets.OPENAI_API_KEY }}`)."""
    graphs = [workflow, *workflow.subgraphs.values()]
    names = {name for g in graphs for n in g.nodes for name in references(n.config)}
    if registry is not None:
        for g in graphs:
            for n in g.nodes:
                cls = registry.get(n.type)
                if cls is not None:
                    names.update(k for field, k in _default_secrets(cls) if field not in n.config)
    return names


_DEFAULT_SECRETS: dict[type, list[tuple[str, str]]] = {}


def _default_secrets(cls: type) -> list[tuple[str, str]]:
    """(config field, secret name) for each secret a type's config defaults refer to."""
    found = _DEFAULT_SECRETS.get(cls)
    if found is None:
        fields = getattr(getattr(cls, "Config", None), "model_fields", {})
        found = _DEFAULT_SECRETS[cls] = [
            (field, name) for field, info in fields.items() if isinstance(info.default, str)
            for name in sorted(references(info.default))]
    return found


class RunContext:
    """What every node of one run shares: identity, event numbering, services
    (the pooled HTTP client, secrets, the trigger payload and the response, the
    compiled bodies)."""

    def __init__(self, run_id: str, bus: EventBus, templates: TemplateEngine,
                 base_dir: Path, registry: Registry, *,
                 secrets: Mapping[str, str] | None = None,
                 trigger: Mapping[str, Any] | None = None,
                 options: Mapping[str, Any] | None = None) -> None:
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
        self.secrets: dict[str, str] = dict(secrets or {})
        self.redactor = Redactor(self.secrets.values())
        self.redacting = bool(self.redactor)
        self.trigger = dict(trigger) if trigger is not None else None
        self.options: dict[str, Any] = dict(options or {})
        self.response: dict[str, Any] | None = None  # what http.respond sent
        self.plans: dict[str, Plan] = {}  # compiled subgraphs and sub-workflow files
        self._http: Any = None

    def emit(self, cls: type[Event], *fields: Any) -> None:
        seq = self.seq = self.seq + 1
        if self.redacting:  # a plain bool: Redactor.__bool__ would cost a call per event
            fields = self.redactor.scrub(fields)
        # Every caller passes every field, so the record is built without its Python-level
        # __new__ (a tenth of a microsecond, twice per node).
        self.publish(_new_record(cls, (self.run_id, seq, _now(), *fields)))

    def template_names(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        return {"inputs": inputs, "secrets": self.secrets,
                "run": {"id": self.run_id, "started_at": iso_utc(self.started_at)}}

    @property
    def http(self) -> Any:
        """One pooled httpx.AsyncClient per run, made on first use, closed at the end."""
        if self._http is None:
            import httpx  # here: runs without HTTP nodes do not pay for the import

            self._http = httpx.AsyncClient(
                timeout=httpx.Timeout(30.0), follow_redirects=False,
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
                headers={"User-Agent": f"FlowUI/{_version()}"})
        return self._http

    def add_secrets(self, values: Mapping[str, str]) -> None:
        """Make secrets available to templates; their values are redacted from then on."""
        self.secrets.update(values)
        self.redactor = Redactor(self.secrets.values())
        self.redacting = bool(self.redactor)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None


class Run:
    """A started run. Await `wait()` for its result; `cancel()` ends it as cancelled."""

    def __init__(self, runner: Runner, workflow: Workflow, inputs: Mapping[str, Any],
                 bus: EventBus, base_dir: Path, run_id: str, max_parallel: int | None,
                 timeout_s: float | None, trigger: Mapping[str, Any] | None,
                 options: Mapping[str, Any],
                 compiled: tuple[Plan, dict[str, Plan]] | None = None) -> None:
        self.run_id = run_id
        self.trigger = trigger
        self.options = dict(options)  # e.g. {"test_run": True}; recorded as the run's metadata
        self.context: RunContext | None = None
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
        self._compiled = compiled
        self._task = asyncio.get_running_loop().create_task(self._main())

    def cancel(self) -> None:
        if self.status not in FINAL_STATUSES and not self._cancelled:
            self._cancelled = True
            self._task.cancel()

    async def wait(self) -> RunResult:
        return await asyncio.shield(self._task)

    async def _main(self) -> RunResult:
        started = time.perf_counter()
        ctx = self.context = RunContext(
            self.run_id, self._bus, self._runner.templates, self._base_dir,
            self._runner.registry, trigger=self.trigger, options=self.options)
        try:
            self.status = VALIDATING
            plan = self._validate(ctx)
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

    def _validate(self, ctx: RunContext) -> Plan:
        problems: list[Problem] = []
        plan = None
        try:
            if self._compiled is not None:  # compiled once by the caller (serve mode)
                plan, ctx.plans = self._compiled[0], dict(self._compiled[1])
            else:
                plan, ctx.plans = compile_workflow(self.workflow, self._runner.registry,
                                                   base_dir=self._base_dir,
                                                   templates=self._runner.templates)
        except WorkflowInvalidError as e:
            problems += e.problems
        problems += check_inputs(self.workflow, self._inputs)
        wanted = self._runner.secret_names(self.workflow, plan if self._compiled else None)
        values, missing = self._runner.secrets.resolve(wanted)
        for name in missing:
            problems.append(Problem(
                "missing_secret", f"secret {name!r} is not set: run `flowcli secrets set {name}` "
                f"or set the environment variable {ENV_PREFIX}{name}", field=f"secrets.{name}"))
        if problems:
            raise WorkflowInvalidError(problems)
        ctx.add_secrets(values)
        assert plan is not None
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

    @property
    def response(self) -> dict[str, Any] | None:
        """What an `http.respond` node sent (serve mode answers the webhook with it)."""
        return self.context.response if self.context is not None else None

    async def _finish(self, ctx: RunContext, started: float, result: RunResult) -> RunResult:
        await ctx.aclose()
        result.duration_ms = round((time.perf_counter() - started) * 1000, 3)
        if result.error is not None and result.failed_node is None:
            result.failed_node = result.error.get("node")
        result.metadata = dict(self.options)
        if ctx.redactor:  # results leave the engine: files, stdout, the run store
            result.outputs = ctx.redactor.scrub(result.outputs)
            result.error = ctx.redactor.scrub(result.error)
            result.node_errors = ctx.redactor.scrub(result.node_errors)
        self.status = result.status
        self.result = result
        ctx.emit(RunCompleted, result.status, result.duration_ms, result.outputs, result.error,
                 result.failed_node, result.node_errors)
        await self._bus.flush()
        return result


class Runner:
    """Starts runs of workflows against one registry."""

    def __init__(self, registry: Registry, *, templates: TemplateEngine = default_engine,
                 secrets: SecretStore | None = None) -> None:
        self.registry = registry
        self.templates = templates
        self.secrets = secrets or SecretStore()
        # Secret names per precompiled plan: serve mode starts a run per request from one
        # plan, and rescanning every template for `secrets.` cost 15 µs a run.
        self._secret_names: dict[int, tuple[Plan, set[str]]] = {}

    def secret_names(self, workflow: Workflow, plan: Plan | None) -> set[str]:
        """The secrets a run of `workflow` needs; cached when `plan` is a reused one."""
        if plan is None:
            return workflow_secrets(workflow, self.registry)
        entry = self._secret_names.get(id(plan))
        if entry is None or entry[0] is not plan:  # the plan is kept so its id stays its own
            entry = self._secret_names[id(plan)] = (plan, workflow_secrets(workflow,
                                                                           self.registry))
        return entry[1]

    def start(self, workflow: Workflow, inputs: Mapping[str, Any] | None = None, *,
              bus: EventBus | None = None, subscribers: tuple[Callable[[Event], Any], ...] = (),
              base_dir: str | Path | None = None, run_id: str | None = None,
              max_parallel: int | None = None, timeout_s: float | None = None,
              trigger: Mapping[str, Any] | None = None,
              options: Mapping[str, Any] | None = None,
              compiled: tuple[Plan, dict[str, Plan]] | None = None) -> Run:
        """Start a run on the running event loop and return its handle. `trigger` is the
        payload trigger nodes output (a webhook request, a tick); `options` are run
        options such as `{"test_run": True}`, kept in the result's metadata. `compiled`
        is `compile_workflow(workflow, ...)`'s result made once for many runs of an
        unchanging workflow (serve mode), which then skip compiling."""
        bus = bus or EventBus()
        for fn in subscribers:
            bus.subscribe(fn)
        base = base_dir if isinstance(base_dir, Path) else Path(base_dir or Path.cwd())
        return Run(self, workflow, inputs or {}, bus, base,
                   run_id or new_run_id(), max_parallel, timeout_s, trigger, options or {},
                   compiled)

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
