"""What every node of one run shares: the run's identity and event numbering, its
services (the pooled HTTP client, secrets and their redaction, the trigger payload
and the response sent back, run options), sub-workflow files compiled for it, and
the optional hook that receives every node's full outputs.

The executor, the node context and the runner all depend on this module; it depends
on none of them.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec

from engine.core.body_budget import BodyBudget
from engine.core.events import Event, iso_utc
from engine.secrets.redactor import Redactor
from engine.support.tasks import task_starter

if TYPE_CHECKING:
    from engine.core.bus import EventBus
    from engine.core.execution import NodeOutputs, OutputsHook
    from engine.core.output_cache import RunCache
    from engine.core.plan import Plan
    from engine.core.registry import Registry
    from engine.templates.engine import TemplateEngine

P = ParamSpec("P")
_now = time.time
_NO_SECRETS = Redactor(())
_new_record = tuple.__new__


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("flowui")
    except Exception:
        return "dev"


class RunContext:
    def __init__(self, run_id: str, bus: EventBus, templates: TemplateEngine | None,
                 registry: Registry, *, secrets: Mapping[str, str] | None = None,
                 trigger: Mapping[str, Any] | None = None,
                 options: Mapping[str, Any] | None = None,
                 on_outputs: OutputsHook | None = None,
                 file_plans: FilePlans | None = None, masked: Iterable[str] = (),
                 cache: RunCache | None = None) -> None:
        self.run_id = run_id
        self.bus = bus
        self._templates = templates
        self.registry = registry
        self.loop = asyncio.get_running_loop()
        self.start_task = task_starter(self.loop)  # eager where Python can (3.12+)
        self.thread_id = threading.get_ident()
        self.started_at = time.time()
        self.seq = 0
        self.publish = bus.publish
        self.secrets: dict[str, str] = {}
        # Values masked like secrets without being secrets: a webhook client's
        # credentials (serve mode), which the workflow sees but nothing may echo.
        self._masked = tuple(v for v in masked if v)
        self.redactor = _NO_SECRETS
        self.redacting = False
        if secrets or self._masked:
            self.add_secrets(secrets or {})
        self.trigger = dict(trigger) if trigger is not None else None
        self.options: dict[str, Any] = dict(options or {})
        # Read by the executor on every completion: None costs one comparison per node.
        self.on_outputs = on_outputs
        self.cache = cache  # the output cache (engine.core.output_cache), or None
        self._response: dict[str, Any] | None = None
        self.bodies = BodyBudget()  # loop iterations and sub-workflow runs, bounded
        self._file_plans = file_plans if file_plans is not None else FilePlans()
        self._http: Any = None

    # --- events ----------------------------------------------------------------------

    def emit(self, cls: Callable[P, Event], /, *fields: P.args, **named: P.kwargs) -> None:
        """Publish an event of `cls`, given its own fields by name or in order (type
        checkers check them against the class); the run-wide ones are filled in here."""
        seq = self.seq = self.seq + 1
        if self.redacting:  # a plain bool: Redactor.__bool__ would cost a call per event
            fields = self.redactor.scrub(fields)
            if named:  # the values; the keys are field names
                scrub = self.redactor.scrub
                named = {k: scrub(v) for k, v in named.items()}  # type: ignore[assignment]
        event_type: Any = cls  # an Event class; typed as its constructor for the checks
        if not named and len(fields) == event_type.width:
            # Every field given in order (the executor's hot path): the record is built
            # without its Python-level __new__, a tenth of a microsecond twice per node.
            self.publish(_new_record(event_type, (self.run_id, seq, _now(), *fields)))
        elif not named and len(fields) == event_type.short:  # all but `worker`: local
            self.publish(_new_record(event_type, (self.run_id, seq, _now(), *fields, None)))
        else:
            self.publish(event_type(*fields, **named, run_id=self.run_id, seq=seq,
                                    timestamp=_now()))

    def hand_over(self, record: NodeOutputs) -> None:
        """Give a node's full outputs to the run's hook, secrets masked."""
        hook = self.on_outputs
        if hook is None:
            return
        if self.redacting:
            scrub = self.redactor.scrub
            record = record._replace(outputs=scrub(record.outputs), inputs=scrub(record.inputs),
                                     error=scrub(record.error))
        hook(record)

    # --- templates ---------------------------------------------------------------------

    @property
    def templates(self) -> TemplateEngine:
        """The run's template engine (Jinja2 is imported when a run first renders)."""
        if self._templates is None:
            from engine.templates.engine import default_engine

            self._templates = default_engine
        return self._templates

    def template_names(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        return {"inputs": inputs, "secrets": self.secrets,
                "run": {"id": self.run_id, "started_at": iso_utc(self.started_at)}}

    # --- services ----------------------------------------------------------------------

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
        if not values and self.redacting:
            return
        self.secrets.update(values)
        self.redactor = Redactor([*self.secrets.values(), *self._masked])
        self.redacting = bool(self.redactor)

    def respond(self, status: int, headers: Mapping[str, str], body: Any) -> None:
        """Set the answer to the request that started the run (serve mode)."""
        self._response = {"status": status, "headers": dict(headers), "body": body}

    @property
    def response(self) -> dict[str, Any] | None:
        """What an `http.respond` node sent, or None."""
        return self._response

    def file_plan(self, path: Path) -> Plan:
        """A sub-workflow file compiled as a body (with its own subgraphs; its relative
        paths resolve against its folder). Raises WorkflowFileError or
        WorkflowInvalidError."""
        return self._file_plans.get(path, self.registry, self._templates)

    @property
    def holds_resources(self) -> bool:
        """Whether `aclose` has anything to close (the HTTP client was made)."""
        return self._http is not None

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None


class FilePlans:
    """Sub-workflow files compiled as bodies, kept while the file is unchanged (same
    modification time and size): a runner's runs share them, so serve mode does not
    compile a sub-workflow file per request. At most `limit` files are kept."""

    def __init__(self, limit: int = 64) -> None:
        self.limit = limit
        self._plans: dict[Path, tuple[tuple[int, int], Plan]] = {}

    def get(self, path: Path, registry: Registry, templates: TemplateEngine | None) -> Plan:
        try:
            stat = path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            stamp = (-1, -1)  # let loading say what is wrong
        known = self._plans.get(path)
        if known is not None and known[0] == stamp:
            return known[1]
        from engine.core.plan import compile_workflow  # only sub-workflow files need it
        from engine.workflow.file import load

        plan = compile_workflow(load(path), registry, base_dir=path.parent,
                                templates=templates)
        self._plans.pop(path, None)
        while len(self._plans) >= self.limit:
            del self._plans[next(iter(self._plans))]  # the oldest
        self._plans[path] = (stamp, plan)
        return plan
