"""What a running node sees: its identity, its logger and progress reporter,
templates and conditions, workflow inputs, and the run's shared services.

One NodeContext is made per node execution; `attempt` counts up on retries.
Every method may be called from the node's worker thread as well as from the
event loop (sync function nodes run in threads). It reaches the execution it runs
in only through the small `NodeScope` protocol, and the run through its public
`RunContext`, so a node body can run under any executor that provides them.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from engine.core.events import NodeLogged, NodeProgressed
from engine.errors import NodeError
from engine.support.file_roots import confine

if TYPE_CHECKING:
    import httpx

    from engine.core.execution import RemoteBody
    from engine.core.plan import Plan
    from engine.core.run_context import RunContext
    from engine.secrets.redactor import Redactor
    from engine.workflow.model import Settings

LEVELS = ("debug", "info", "warning", "error")


class NodeScope(Protocol):
    """The execution a node runs in, as its context needs it: the whole workflow or one
    run of a body (which has its own inputs, plan and loop position)."""

    @property
    def run(self) -> RunContext: ...

    @property
    def plan(self) -> Plan: ...

    @property
    def inputs(self) -> dict[str, Any]: ...  # the (sub)workflow's inputs

    @property
    def iteration(self) -> int | None: ...

    @property
    def index(self) -> int | None: ...

    def template_names(self, ports: dict[str, Any]) -> dict[str, Any]: ...

    async def run_body(self, plan: Plan, inputs: dict[str, Any], *, path: str,
                       loop: dict[str, Any] | None = None, iteration: int | None = None,
                       index: int | None = None, max_parallel: int | None = None,
                       ) -> dict[str, Any]: ...

    def set_result(self, name: str, value: Any) -> None: ...

    def remote_body(self, plan: Plan, path: str) -> RemoteBody | None: ...


class NodeContext:
    __slots__ = ("_scope", "attempt", "node_id", "node_type", "ports", "worker")

    def __init__(self, scope: NodeScope, node_id: str, node_type: str,
                 ports: dict[str, Any]) -> None:
        self._scope = scope
        self.node_id = node_id  # the path, e.g. "loop1/inc" inside a body
        self.node_type = node_type
        self.ports = ports
        self.attempt = 1
        self.worker: str | None = None  # the Dask worker its body last ran on, if any

    # --- identity and environment ---------------------------------------------------------

    @property
    def run_id(self) -> str:
        return self._scope.run.run_id

    @property
    def inputs(self) -> dict[str, Any]:
        """The workflow's inputs (inside a sub-workflow: its own inputs)."""
        return self._scope.inputs

    @property
    def base_dir(self) -> Path:
        """The folder of the workflow file holding this node (a sub-workflow file's own
        folder inside it): relative paths in config resolve here."""
        return self._scope.plan.base_dir

    @property
    def settings(self) -> Settings:
        """The settings in force where this node runs: its workflow's, or its subgraph's
        own when the subgraph has some (e.g. `max_iterations` for control.loop)."""
        return self._scope.plan.settings

    def resolve_path(self, path: str) -> Path:
        """`path` made absolute (relative ones start at `base_dir`), links resolved, and
        checked against the folders the workflow may use (engine.support.file_roots):
        every file a node touches goes through here. NodeError when outside."""
        try:
            return confine(path, self.base_dir)
        except OSError as e:  # outside the allowed folders, or not a path at all
            raise NodeError(f"cannot use {path!r}: {e.strerror}", retryable=False) from None

    # --- reporting --------------------------------------------------------------------------

    def log(self, message: Any, level: str = "info") -> None:
        if level not in LEVELS:
            raise ValueError(f"log level must be one of {', '.join(LEVELS)}, not {level!r}")
        ex = self._scope
        self._publish(lambda: ex.run.emit(
            NodeLogged, node_id=self.node_id, level=level, message=str(message),
            iteration=ex.iteration, index=ex.index))

    def debug(self, message: Any) -> None:
        self.log(message, "debug")

    def info(self, message: Any) -> None:
        self.log(message, "info")

    def warning(self, message: Any) -> None:
        self.log(message, "warning")

    def error(self, message: Any) -> None:
        self.log(message, "error")

    def progress(self, fraction: float | None, message: str = "") -> None:
        """Report progress: `fraction` in [0, 1], or None when unknown."""
        if fraction is not None:
            fraction = min(1.0, max(0.0, float(fraction)))
        ex = self._scope
        self._publish(lambda: ex.run.emit(
            NodeProgressed, node_id=self.node_id, fraction=fraction, message=message,
            iteration=ex.iteration, index=ex.index))

    def _publish(self, emit: Callable[[], None]) -> None:
        loop = self._scope.run.loop
        if threading.get_ident() == self._scope.run.thread_id:
            emit()
        else:  # from a sync node's worker thread: events stay ordered on the loop
            loop.call_soon_threadsafe(emit)

    # --- templates, conditions, waiting --------------------------------------------------------

    def names(self, **extra: Any) -> dict[str, Any]:
        """The template names FORMAT.md defines, plus `extra`."""
        return self._scope.template_names(self.ports) | extra

    def render(self, source: str, **extra: Any) -> str:
        """Render a full template (statements allowed), e.g. transform.template's."""
        return self._scope.run.templates.render_text(source, self.names(**extra),
                                                    where=f"node {self.node_id!r}")

    def evaluate(self, expression: str, **extra: Any) -> Any:
        """Evaluate a bare condition expression; `extra` names are available bare."""
        return self._scope.run.templates.evaluate(expression, self.names(**extra),
                                                 where=f"node {self.node_id!r}")

    async def sleep(self, seconds: float) -> None:
        """Wait; cancelled with the run."""
        await asyncio.sleep(seconds)

    # --- the run's services ----------------------------------------------------------------------

    @property
    def http(self) -> httpx.AsyncClient:
        """The run's pooled HTTP client (one per run, closed when the run ends)."""
        client: httpx.AsyncClient = self._scope.run.http
        return client

    @property
    def secrets(self) -> Mapping[str, str]:
        """The secrets the workflow refers to, resolved before the run started."""
        return self._scope.run.secrets

    def redact(self, text: str, limit: int | None = None) -> str:
        """`text` with every secret value masked: for messages built from data. With
        `limit`, only its start: masked before it is cut, so that a secret crossing
        the cut is masked whole rather than left as a prefix."""
        redactor = self._scope.run.redactor
        if limit is not None:
            return redactor.cut(text, limit) if len(text) > limit else redactor.text(text)
        return redactor.text(text) if redactor else text

    @property
    def redactor(self) -> Redactor:
        """Masks the run's secret values (falsy when the run has none)."""
        return self._scope.run.redactor

    @property
    def trigger(self) -> dict[str, Any] | None:
        """The payload that started this run (a webhook request, a tick), or None."""
        return self._scope.run.trigger

    @property
    def options(self) -> Mapping[str, Any]:
        """Run options, e.g. `test_run`."""
        return self._scope.run.options

    def respond(self, status: int, headers: Mapping[str, str], body: Any) -> None:
        """Set the answer to the request that started the run (serve mode)."""
        self._scope.run.respond(status, headers, body)

    # --- bodies and results -------------------------------------------------------------------

    def body_plan(self, name: str) -> Plan:
        """The compiled subgraph `name` of the workflow holding this node (inside a
        sub-workflow file: of that file)."""
        plans = self._scope.plan.bodies
        if name not in plans:
            raise NodeError(f"there is no subgraph {name!r} in this workflow", retryable=False)
        return plans[name]

    def workflow_plan(self, path: str) -> Plan:
        """A workflow file (relative to this workflow's folder) compiled as a body;
        compiled once per run. Its own relative paths resolve against its folder."""
        from engine.errors import WorkflowFileError, WorkflowInvalidError

        try:
            return self._scope.run.file_plan(self.resolve_path(path).resolve())
        except (WorkflowFileError, WorkflowInvalidError) as e:
            raise NodeError(f"sub-workflow {path}: {e}", retryable=False) from None

    async def run_body(self, plan: Plan, inputs: Mapping[str, Any], *,
                       loop: dict[str, Any] | None = None, iteration: int | None = None,
                       index: int | None = None, max_parallel: int | None = None,
                       ) -> dict[str, Any]:
        """Run a body with `inputs` (read by its flow.input nodes); returns its
        flow.output values by name. Its events name nodes `<this node>/<id>`."""
        return await self._scope.run_body(plan, dict(inputs), path=self.node_id, loop=loop,
                                         iteration=iteration, index=index,
                                         max_parallel=max_parallel)

    def remote_body(self, plan: Plan) -> RemoteBody | None:
        """A remote backend's way to run `plan` whole on its workers, once per item
        (control.for_each uses it when given one); None when bodies run here."""
        return self._scope.remote_body(plan, self.node_id)

    def set_result(self, name: str, value: Any) -> None:
        """Publish a named result of the (sub)workflow; `flow.output` uses this."""
        self._scope.set_result(name, value)
