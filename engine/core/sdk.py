"""The node SDK: what a node type is, and a decorator that makes one from a function.

A node type is a `Node` subclass with a stable dotted `type` id, a version,
typed ports, a pydantic `Config` and `async def run(self, ctx, **inputs)`
returning ``{output port: value}``. An output left out of the returned dict is
*skipped* (that is how `control.if` takes one branch). Node code gets all I/O
through its `ctx` (see `engine.core.context.NodeContext`), so tests can hand it
fakes.
"""

from __future__ import annotations

import builtins
import inspect
import json
import re
import types
import typing
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Union, get_args, get_origin, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, create_model

from engine.errors import NodeError, RegistryError
from engine.support.threads import in_thread
from engine.workflow.model import (
    BODY_INPUT_TYPE,
    BODY_OUTPUT_TYPE,
    IDENT_RE,
    Connection,
    NodeSpec,
    RetryPolicy,
    Subgraph,
)
from engine.workflow.porttypes import PORT_TYPES

if TYPE_CHECKING:
    from engine.core.context import NodeContext
    from engine.workflow.model import Graph

TYPE_ID_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
ERROR_PORT = "error"


@dataclass(frozen=True, slots=True)
class Port:
    name: str
    type: str = "any"
    required: bool = True
    multiple: bool = False  # an input taking many wires; values arrive as a list
    description: str = ""

    def __post_init__(self) -> None:
        if not IDENT_RE.match(self.name):
            raise RegistryError(f"port name {self.name!r} must match [A-Za-z_][A-Za-z0-9_-]*")
        if self.type not in PORT_TYPES:
            raise RegistryError(
                f"port {self.name!r}: type {self.type!r} is not one of {', '.join(PORT_TYPES)}")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "required": self.required,
                "multiple": self.multiple, "description": self.description}


ERROR_OUTPUT = Port(ERROR_PORT, "object", required=False,
                    description="{type, message, node} when the node fails; "
                                "wire it to handle errors")


def expression(default: Any = ..., *, description: str = "") -> Any:
    """A config field holding a bare condition expression, evaluated by the node itself
    (not rendered as a template beforehand)."""
    return Field(default, description=description, json_schema_extra={"format": "expression"})


def template_text(default: Any = ..., *, description: str = "") -> Any:
    """A config field holding a full template with statements, rendered by the node itself."""
    return Field(default, description=description, json_schema_extra={"format": "template"})


@dataclass(frozen=True, slots=True)
class PortContext:
    """Where a node sits, for types whose ports depend on what their config names."""

    workflow: Any  # engine.workflow.model.Workflow: its subgraphs
    base_dir: Path  # relative file paths resolve here
    registry: Any = None  # engine.core.registry.Registry: other types' declarations


@dataclass(frozen=True, slots=True)
class BodySpec:
    """How a node type runs a subgraph of its own workflow (a loop body, a sub-workflow):
    the config field naming the subgraph, and the `flow.input` / `flow.output` names a
    new body starts with (the editor wires the first input to the first output). The
    editor opens and creates bodies through this, for third-party types as for ours."""

    field: str
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()

    def skeleton(self) -> Subgraph:
        """A new body wired the way the calling node runs it: a flow.input per input, a
        flow.output per output, the first input wired to the first output."""
        ins, outs = self.inputs, self.outputs
        nodes = [NodeSpec(id=name, type=BODY_INPUT_TYPE, position=(0, 140 * i),
                          config={"name": name}) for i, name in enumerate(ins)]
        out_ids = [f"out_{name}" if name in ins else name for name in outs]
        nodes += [NodeSpec(id=out_id, type=BODY_OUTPUT_TYPE, position=(420, 140 * i),
                           config={"name": name})
                  for i, (out_id, name) in enumerate(zip(out_ids, outs, strict=True))]
        wires = [Connection.model_validate({"from": f"{ins[0]}.value",
                                            "to": f"{out_ids[0]}.value"})] if ins and outs else []
        return Subgraph(nodes=nodes, connections=wires)


SUMMARY_LIMIT = 120  # characters of a node's summary line (the editor elides it further)
_UNSET: Any = object()


def _compact_json(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
    except (TypeError, ValueError):  # a value JSON cannot hold (a cycle): its repr
        return repr(value)[:SUMMARY_LIMIT]


class NodeConfig(BaseModel):
    """Base of every node's Config: unknown keys are refused (they are typos)."""

    model_config = ConfigDict(extra="forbid")


class Node:
    """Base class of node types. Subclasses set the class attributes and `run`."""

    type: ClassVar[str]
    version: ClassVar[int] = 1
    title: ClassVar[str] = ""
    category: ClassVar[str] = "Other"
    description: ClassVar[str] = ""
    icon: ClassVar[str] = ""
    legacy_types: ClassVar[tuple[str, ...]] = ()  # old ids that still load as this type
    inputs: ClassVar[tuple[Port, ...]] = ()
    outputs: ClassVar[tuple[Port, ...]] = ()
    # Optional input ports that still need a value from their wire or from the config
    # field of the same name (http.request's url): left empty, a validation problem.
    needs: ClassVar[tuple[str, ...]] = ()
    Config: ClassVar[builtins.type[BaseModel]] = NodeConfig
    # True for types whose values form the (sub)workflow's result (flow.output).
    collects_result: ClassVar[bool] = False
    # The retry policy used when the file gives the node none (FORMAT.md's default is
    # one attempt; a type that talks to flaky services can do better by default).
    default_retry: ClassVar[RetryPolicy | None] = None
    # Set by types that run a subgraph of their workflow (see BodySpec).
    body: ClassVar[BodySpec | None] = None
    # Set by trigger types: how serve mode drives them ("http": a webhook route, needs
    # `path`, `method`, `host`, `port` in its config; "interval": `every_s`, `count`).
    trigger_kind: ClassVar[str | None] = None
    # True for types whose run() never waits (no I/O, no sleep, no body, no thread):
    # such a node runs at once in the executor, without a task and a turn of the event
    # loop of its own. A node that waits anyway fails, saying so. A node with a retry
    # policy or a timeout runs as a task all the same.
    inline: ClassVar[bool] = False
    # True for types whose body may run on another machine (a Dask worker; see
    # engine.distributed): config, inputs and outputs picklable, no state of the run
    # beyond what NodeContext offers there (logs, progress, templates, secrets it
    # names, files on shared paths), no ctx.http, no bodies, no results or responses.
    # The rest always run in the driving process.
    remote_capable: ClassVar[bool] = False
    # The config fields that say what this node does at a glance (an If's condition, a
    # request's method and URL): the editor shows their values on the node. The first
    # of them that is a templated or long text is cut to one line (see `summary`).
    summary_fields: ClassVar[tuple[str, ...]] = ()
    # Whether an output may be reused from the output cache instead of running the node
    # (engine.core.cache_keys): False for types with side effects or results that vary
    # for the same config and inputs (a POST, a file written, the time, a model's
    # answer). A type whose answer depends on its config overrides `cacheable_with`.
    cacheable: ClassVar[bool] = True
    # True for types whose output depends on the run's inputs (flow.input): their
    # cache keys take the run's input values in.
    reads_run_inputs: ClassVar[bool] = False

    def __init__(self, config: BaseModel) -> None:
        # Typed Any so that each type's run() reads its own Config's fields; a type
        # may annotate `config: Config` in its body for precise checking.
        self.config: Any = config

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "type" not in cls.__dict__:
            return  # an abstract helper base
        if not isinstance(cls.type, str) or not TYPE_ID_RE.match(cls.type):
            raise RegistryError(
                f"{cls.__qualname__}: type id {cls.type!r} must be dotted lower-case, "
                "like 'http.request' or 'acme.resize_image'")
        cls.inputs = tuple(cls.inputs)
        cls.outputs = tuple(cls.outputs)
        names = [p.name for p in cls.outputs]
        if ERROR_PORT in names:
            raise RegistryError(f"{cls.type}: output name 'error' is reserved for failures")
        for kind, ports in (("input", cls.inputs), ("output", cls.outputs)):
            seen = [p.name for p in ports]
            dup = {n for n in seen if seen.count(n) > 1}
            if dup:
                raise RegistryError(f"{cls.type}: duplicate {kind} port(s) {sorted(dup)}")
        if not cls.title:
            cls.title = cls.type.rsplit(".", 1)[-1].replace("_", " ").capitalize()

    if TYPE_CHECKING:
        # Each type's run() names its own input ports as parameters, which a fixed
        # base signature would forbid; this states the shape the executor calls.
        run: Callable[..., Awaitable[dict[str, Any] | None]]
    else:
        async def run(self, ctx: NodeContext, **inputs: Any) -> dict[str, Any]:
            raise NotImplementedError(f"{type(self).__name__}.run")

    # --- hooks node types may override -------------------------------------------------

    @classmethod
    def ports(cls, config: Mapping[str, Any], context: PortContext | None = None,
              ) -> tuple[tuple[Port, ...], tuple[Port, ...]]:
        """Input and output ports for a given raw config. Most types have fixed
        ports; a type whose ports depend on its config (or on a subgraph or file
        it names, found through `context`) overrides this."""
        return cls.inputs, cls.outputs

    @classmethod
    def check(cls, config: Mapping[str, Any], graph: Graph, *,
              top_level: bool) -> list[tuple[str, str]]:
        """Problems only this type can see, as (config field, message); checked
        with the rest of validation. `graph` is the workflow or subgraph holding it."""
        return []

    @classmethod
    def cacheable_with(cls, config: Mapping[str, Any]) -> bool:
        """Whether a node of this type with this (raw) config may be served from the
        cache: `cacheable` unless a type says otherwise (http.request: GET and HEAD)."""
        return cls.cacheable and cls.trigger_kind is None

    @classmethod
    def body_name(cls, config: Mapping[str, Any]) -> str | None:
        """The subgraph a node of this type with this config runs, as its config names it
        (None when it names none, or runs something other than a subgraph of its own
        workflow, e.g. flow.subworkflow given a file `path`)."""
        if cls.body is None:
            return None
        name = config.get(cls.body.field)
        return name if isinstance(name, str) and name else None

    @classmethod
    def runs_own_body(cls, config: Mapping[str, Any]) -> bool:
        """Whether a node with this config runs (or would run, once named) a subgraph of
        its own workflow; flow.subworkflow overrides it: not when it names a file."""
        return cls.body is not None

    @classmethod
    def summary(cls, config: Mapping[str, Any], limit: int = SUMMARY_LIMIT) -> str:
        """One line saying what a node with this config does, from `summary_fields`
        (a field left out of the config shows its default; a number of seconds, by the
        naming rule `seconds` / `*_s`, its unit): "GET https://…", "2.5 s". Empty when
        the type declares none or the fields are empty."""
        fields = cls.Config.model_fields
        parts = []
        for name in cls.summary_fields:
            value = config.get(name, _UNSET)
            if value is _UNSET and name in fields and not fields[name].is_required():
                value = fields[name].get_default(call_default_factory=True)
            if value is _UNSET or value is None or value == "":
                continue
            if isinstance(value, int | float) and not isinstance(value, bool) and (
                    name == "seconds" or name.endswith("_s")):
                text = f"{value:g} s"
            else:
                text = value if isinstance(value, str) else _compact_json(value)
            parts.append(" ".join(text.split()))  # one line: newlines and runs of spaces
        line = " ".join(parts)
        return line if len(line) <= limit else line[:limit - 1] + "…"

    @classmethod
    def is_retryable(cls, error: BaseException) -> bool | None:
        """Whether a retry could help with `error`; None leaves it to the engine's rule
        (NodeError.retryable, else timeouts and connection errors yes, bad input no,
        anything unclassified yes)."""
        return None

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """Everything `flowcli nodes --json` and the palette show about the type."""
        return {
            "type": cls.type, "version": cls.version, "title": cls.title,
            "category": cls.category, "description": cls.description, "icon": cls.icon,
            "legacy_types": list(cls.legacy_types),
            "inputs": [p.to_dict() for p in cls.inputs],
            "outputs": [p.to_dict() for p in (*cls.outputs, ERROR_OUTPUT)],
            "config_schema": cls.Config.model_json_schema(),
            "body": None if cls.body is None else {
                "field": cls.body.field, "inputs": list(cls.body.inputs),
                "outputs": list(cls.body.outputs)},
            "trigger_kind": cls.trigger_kind, "remote_capable": cls.remote_capable,
        }


# --- plain functions as nodes ------------------------------------------------------------

_SIMPLE_TYPES: dict[Any, str] = {
    str: "string", int: "integer", float: "number", bool: "boolean",
    dict: "object", list: "array", tuple: "array", Any: "any",
}


def port_type_of(hint: Any) -> tuple[str, bool]:
    """(port type, optional?) of a type hint. `X | None` is optional X."""
    if hint is inspect.Parameter.empty or hint is Any:
        return "any", False
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(hint) if a is not type(None)]
        optional = len(args) < len(get_args(hint))
        if len(args) == 1:
            return port_type_of(args[0])[0], optional
        if set(args) <= {int, float}:
            return "number", optional
        return "any", optional
    base = origin or hint
    if base in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[base], False
    if isinstance(base, type):
        if issubclass(base, Mapping):
            return "object", False
        if issubclass(base, Sequence) and not issubclass(base, str | bytes):
            return "array", False
    return "any", False


def function_node(
    type: str, *, title: str = "", category: str = "Functions", description: str = "",
    version: int = 1, output: str = "result", icon: str = "", inline: bool = False,
    remote_capable: bool = True,
) -> Callable[[Callable[..., Any]], builtins.type[Node]]:
    """Make a node type from a plain function: parameters become input ports (and
    config fields of the same name, so they can be typed into the inspector),
    the return value the output port `output`, or one port per key when the
    return type is a TypedDict. A parameter named `ctx` receives the NodeContext.
    Sync functions run in a worker thread so they never block the event loop; with
    `inline=True` a quick, pure one runs at once on it instead (no thread hop, which
    costs tens of microseconds), and an async one promises never to wait (Node.inline).
    A function node may run on a Dask worker (Node.remote_capable) unless it says
    `remote_capable=False` (it needs the driving machine: a local device, a GUI...)."""

    def wrap(fn: Callable[..., Any]) -> builtins.type[Node]:
        hints = get_type_hints(fn)
        sig = inspect.signature(fn)
        wants_ctx = "ctx" in sig.parameters
        in_ports: list[Port] = []
        fields: dict[str, Any] = {}
        defaults: dict[str, Any] = {}
        for name, param in sig.parameters.items():
            if name == "ctx":
                continue
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise RegistryError(f"{type}: *args/**kwargs cannot become ports ({fn.__name__})")
            hint = hints.get(name, Any)
            ptype, optional = port_type_of(hint)
            has_default = param.default is not inspect.Parameter.empty
            in_ports.append(Port(name, ptype, required=not (has_default or optional)))
            if has_default:
                defaults[name] = param.default
                fields[name] = (hint, param.default)
            else:
                fields[name] = (hint | None, None)  # may come from a wire instead
        ret = hints.get("return", Any)
        returns_dict = typing.is_typeddict(ret)
        if returns_dict:
            out_ports = [Port(k, port_type_of(h)[0]) for k, h in get_type_hints(ret).items()]
        elif ret is types.NoneType:
            out_ports = []
        else:
            out_ports = [Port(output, port_type_of(ret)[0])]
        config_model = create_model(  # type: ignore[call-overload]
            f"{fn.__name__}_Config", __base__=NodeConfig, **fields)
        is_async = inspect.iscoroutinefunction(fn)
        required = [p.name for p in in_ports if p.required]

        async def run(self: Node, ctx: NodeContext, **inputs: Any) -> dict[str, Any]:
            kwargs = {n: getattr(self.config, n) for n in self.config.model_fields_set}
            for n, v in defaults.items():
                kwargs.setdefault(n, v)
            kwargs.update(inputs)
            missing = [n for n in required if kwargs.get(n) is None]
            if missing:
                raise NodeError(f"no value for input(s) {', '.join(missing)}: wire them "
                                "or set them in the config", retryable=False)
            if wants_ctx:
                kwargs["ctx"] = ctx
            if is_async:
                result = await fn(**kwargs)
            elif inline:
                result = fn(**kwargs)
            else:
                result = await in_thread(fn, **kwargs)
            if returns_dict:
                if not isinstance(result, dict):
                    raise NodeError(f"{fn.__name__} must return a dict, returned "
                                    f"{result.__class__.__name__}", retryable=False)
                return result
            return {output: result} if out_ports else {}

        attrs = {
            "type": type, "version": version, "title": title or "",
            "category": category, "icon": icon,
            "description": description or inspect.getdoc(fn) or "",
            "inputs": tuple(in_ports), "outputs": tuple(out_ports),
            "Config": config_model, "run": run, "__module__": fn.__module__, "inline": inline,
            "remote_capable": remote_capable, "__doc__": fn.__doc__, "function": staticmethod(fn),
        }
        return types.new_class(fn.__name__, (Node,), {}, lambda ns: ns.update(attrs))

    return wrap
