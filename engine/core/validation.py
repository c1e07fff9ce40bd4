"""The validation rules, each written once: what makes a node, a wire, a graph or a
run's inputs wrong. The compiler (engine.core.plan), the editor's live validation
(engine.core.live_validation) and the inspector's per-field messages all use these.

Node rules (`NodeChecker.check`): the type is installed; its ports can be worked out
from the config; template syntax; values typed into input ports fit the port; the
config fits the type's `Config` (template-valued fields are checked after rendering,
at run time; a missing field that is also an input port is the required-input
rule's business); the type's own `check`. Wire rules (`wire_problem`): both nodes
and ports exist and the types fit; a single input takes one wire
(`input_taken_problem`). Required inputs (`missing_inputs`), duplicate ids, cycles
(`cycle_problems`) and workflow inputs (`check_inputs`) complete the set.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from engine.core.registry import Registry
from engine.core.sdk import ERROR_PORT, Node, Port, PortContext
from engine.errors import Problem
from engine.secrets.store import references
from engine.templates.detect import contains_template
from engine.workflow.model import Graph, NodeSpec, Workflow
from engine.workflow.porttypes import can_connect, matches, type_name

if TYPE_CHECKING:
    from engine.templates.engine import TemplateEngine

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_NO_FIELDS: frozenset[str] = frozenset()


class TypeInfo:
    """What checking needs to know about a node type, worked out once per type."""

    __slots__ = ("cls", "config_ports", "context_check", "custom_check", "custom_ports",
                 "default_secrets", "empty_config", "fields", "optional_fields", "raw_formats",
                 "static_ports")

    def __init__(self, cls: type[Node]) -> None:
        self.cls = cls
        self.fields = cls.Config.model_fields
        # expression/template fields the node evaluates itself: never rendered beforehand
        self.raw_formats: dict[str, str] = {
            name: str(f.json_schema_extra["format"]) for name, f in self.fields.items()
            if isinstance(f.json_schema_extra, dict)
            and f.json_schema_extra.get("format") in ("expression", "template")}
        # Config fields that give an input port its value when the file leaves them out
        self.optional_fields = frozenset(
            name for name, f in self.fields.items()
            if not f.is_required() and f.default is not None)
        self.custom_check = cls.check.__func__ is not Node.check.__func__  # type: ignore[attr-defined]
        # A type whose check needs the workflow around it (subgraphs, the file's folder)
        # declares a `context` parameter; the base signature stays as node authors know it.
        self.context_check = self.custom_check and \
            "context" in inspect.signature(cls.check).parameters
        self.custom_ports = cls.ports.__func__ is not Node.ports.__func__  # type: ignore[attr-defined]
        self.static_ports = None if self.custom_ports else PortSet(cls.inputs, cls.outputs)
        # input ports that are also config fields (for types with fixed ports)
        self.config_ports = tuple(p.name for p in cls.inputs if p.name in self.fields)
        self.empty_config: BaseModel | ValidationError | None = None  # `{}` validated, once
        # (field, secret) for each secret a field's default refers to (llm.chat's api_key
        # defaults to `{{ secrets.OPENAI_API_KEY }}`): used where the config leaves it out
        self.default_secrets = tuple(
            (name, secret) for name, f in self.fields.items() if isinstance(f.default, str)
            for secret in sorted(references(f.default)))

    @property
    def depends_on_workflow(self) -> bool:
        """Whether a node's problems or ports may change when something other than its
        own spec changes (its graph, other graphs, files): the editor re-checks these."""
        return self.custom_check or self.custom_ports


_TYPE_INFO: dict[type[Node], TypeInfo] = {}


def type_info(cls: type[Node]) -> TypeInfo:
    info = _TYPE_INFO.get(cls)
    if info is None:
        info = _TYPE_INFO[cls] = TypeInfo(cls)
    return info


class PortSet:
    """A node's ports, indexed once (shared by every node of a type with fixed ports)."""

    __slots__ = ("by_name", "inputs", "out_names", "out_types", "outputs", "outputs_by_name",
                 "required")

    def __init__(self, inputs: Iterable[Port], outputs: Iterable[Port]) -> None:
        self.inputs = tuple(inputs)
        self.outputs = tuple(outputs)
        self.by_name: Mapping[str, Port] = MappingProxyType({p.name: p for p in self.inputs})
        self.outputs_by_name: Mapping[str, Port] = MappingProxyType(
            {p.name: p for p in self.outputs})
        self.out_names = frozenset(self.outputs_by_name)
        # output name -> type, the error port included (it carries {type, message, node})
        self.out_types = {p.name: p.type for p in self.outputs} | {ERROR_PORT: "object"}
        self.required = tuple(p for p in self.inputs if p.required)


class NodeCheck:
    """What checking one node found: its problems, and, for a known type, its ports and
    the parts of its config a planned node (engine.core.plan) is made of."""

    __slots__ = ("cls", "info", "port_values", "ports", "problems", "raw", "secrets", "spec",
                 "static_config", "template_fields")

    spec: NodeSpec
    cls: type[Node] | None
    info: TypeInfo | None
    ports: PortSet | None  # None: unknown type, or ports could not be had
    problems: list[Problem]
    raw: Mapping[str, Any]  # the config without input-port values
    port_values: Mapping[str, Any]  # values typed into input ports
    template_fields: frozenset[str]  # config fields rendered per execution
    static_config: BaseModel | None  # validated once when nothing in it is dynamic
    secrets: frozenset[str]  # names of the secrets its templates and expressions use

    def __init__(self, spec: NodeSpec) -> None:
        self.spec = spec

    def problem(self, code: str, message: str, field: str | None) -> None:
        self.problems.append(Problem(code, message, self.spec.id, field))


class NodeChecker:
    """Checks nodes of one workflow (and its subgraphs) against the installed types."""

    def __init__(self, workflow: Workflow, registry: Registry, *, base_dir: Path,
                 templates: TemplateEngine | None = None) -> None:
        self.workflow = workflow
        self.registry = registry
        self.context = PortContext(workflow, base_dir, registry)
        self._templates = templates
        self._classes: dict[str, type[Node]] = {}  # type id -> class, for this checker

    def _lookup(self, type_id: str) -> type[Node] | None:
        cls = self.registry.get(type_id)
        if cls is not None:
            self._classes[type_id] = cls
        return cls

    @property
    def templates(self) -> TemplateEngine:
        # Jinja2 is imported only once a config holds a template.
        if self._templates is None:
            from engine.templates.engine import default_engine

            self._templates = default_engine
        return self._templates

    def check(self, spec: NodeSpec, graph: Graph) -> NodeCheck:
        result = NodeCheck(spec)
        self.fill(result, graph)
        return result

    def fill(self, result: NodeCheck, graph: Graph) -> None:
        """Check `result.spec` (a node of `graph`) and fill in the rest of `result`."""
        result.problems = []
        result.raw = result.port_values = _EMPTY
        result.template_fields = result.secrets = _NO_FIELDS
        result.static_config = result.ports = result.info = None
        type_id = result.spec.type
        cls = result.cls = self._classes.get(type_id) or self._lookup(type_id)
        if cls is None:
            self._unknown_type(result)
            return
        info = result.info = _TYPE_INFO.get(cls) or type_info(cls)
        config = result.spec.config
        ports = info.static_ports
        if ports is None:
            try:
                ports = PortSet(*cls.ports(config, self.context))
            except Exception as e:  # a half-typed config must not break validation
                result.problem("bad_config", f"cannot determine ports: {e}", "config")
                return
        result.ports = ports
        if config:
            self._check_config(result, info, ports, config)
        else:  # most nodes of big generated graphs, and every new node in the editor
            if info.default_secrets:
                result.secrets = frozenset(name for _, name in info.default_secrets)
            validated = info.empty_config
            if validated is None:
                validated = info.empty_config = self._validate_empty(info)
            if isinstance(validated, ValidationError):
                self._config_errors(result, validated, info, ports, _NO_FIELDS)
            else:
                result.static_config = validated
        if info.custom_check:
            self._check_type_rules(result, info, config, graph)

    @staticmethod
    def _validate_empty(info: TypeInfo) -> BaseModel | ValidationError:
        try:
            return info.cls.Config.model_validate({})
        except ValidationError as e:
            return e

    def _unknown_type(self, result: NodeCheck) -> None:
        type_id = result.spec.type
        hint = difflib.get_close_matches(type_id, self.registry.type_ids(), n=1)
        msg = f"unknown node type {type_id!r}"
        msg += f" (did you mean {hint[0]!r}?)" if hint else \
            "; `flowcli nodes` lists the installed types"
        if self.registry.load_errors:
            msg += f"; note: {len(self.registry.load_errors)} plugin(s) failed to load"
        result.problem("unknown_type", msg, "type")

    def _check_config(self, result: NodeCheck, info: TypeInfo, ports: PortSet,
                      config: Mapping[str, Any]) -> None:
        fields, raw_formats, by_name = info.fields, info.raw_formats, ports.by_name
        # A config key naming an input port that the Config does not declare is that
        # input's value when nothing is wired to it (FORMAT.md: "a required input is
        # satisfied by a connection or by a config field of the same name").
        port_values = {k: v for k, v in config.items() if k in by_name and k not in fields}
        raw = {k: v for k, v in config.items() if k not in port_values} if port_values \
            else config
        templated = [k for k, v in config.items() if contains_template(v)]
        template_fields = frozenset(k for k in templated if k in raw and k not in raw_formats)
        if templated or info.raw_formats or info.default_secrets:
            result.secrets = secret_names(config, info, templated)
        for key, fmt in raw_formats.items():
            value = config.get(key)
            if isinstance(value, str):  # anything else: the schema check reports the type
                templates = self.templates
                err = (templates.check_expression(value) if fmt == "expression"
                       else templates.check_text(value))
                if err:
                    result.problem("template_syntax", err, f"config.{key}")
        for key in templated:
            if key in raw_formats:
                continue
            for path, err in self.templates.check_value(config[key]):
                sub = f"config.{key}" + (path if path.startswith("[") else
                                         f".{path}" if path else "")
                result.problem("template_syntax", err, sub)
        for name, value in port_values.items():
            port_type = by_name[name].type
            if not contains_template(value) and not matches(port_type, value):
                result.problem("bad_config", f"input {name!r} takes {port_type}, but the "
                               f"config gives {type_name(value)}", f"config.{name}")
        static: BaseModel | None = None
        try:
            static = info.cls.Config.model_validate(raw)
        except ValidationError as e:
            self._config_errors(result, e, info, ports, template_fields)
        result.raw = raw
        result.port_values = port_values
        result.template_fields = template_fields
        result.static_config = None if template_fields else static

    @staticmethod
    def _config_errors(result: NodeCheck, error: ValidationError, info: TypeInfo,
                       ports: PortSet, template_fields: frozenset[str]) -> None:
        fields, by_name = info.fields, ports.by_name
        for err in error.errors():
            loc = err["loc"]
            top = str(loc[0]) if loc else None
            if top in template_fields:
                continue  # checked after rendering, at run time
            if err["type"] == "missing" and top in by_name:
                continue  # may arrive on the port: the required-input rule decides
            where = "config" + "".join(f"[{x}]" if isinstance(x, int) else f".{x}"
                                       for x in loc)
            if err["type"] == "missing":
                result.problem("missing_config", err["msg"], where)
                continue
            if err["type"] == "extra_forbidden":
                known = [*fields, *(p for p in by_name if p not in fields)]
                hint = difflib.get_close_matches(str(loc[-1]), known, n=1)
                message = f"unknown config field {loc[-1]!r}" + (
                    f" (did you mean {hint[0]!r}?)" if hint else
                    f"; fields and inputs: {', '.join(known) or 'none'}")
            else:
                message = err["msg"]
            result.problem("bad_config", message, where)

    def _check_type_rules(self, result: NodeCheck, info: TypeInfo, config: Mapping[str, Any],
                          graph: Graph) -> None:
        extra = {"context": self.context} if info.context_check else {}
        try:
            found = info.cls.check(result.raw if config else config, graph,
                                   top_level=graph is self.workflow, **extra)
        except Exception as e:  # a node type's own rule must not break validation
            result.problem("bad_config", f"{info.cls.type}.check failed: "
                           f"{type(e).__name__}: {e}", "config")
            return
        for key, message in found:
            result.problem("bad_config", message, f"config.{key}" if key else "config")


def secret_names(config: Mapping[str, Any], info: TypeInfo,
                 templated: Iterable[str] | None = None) -> frozenset[str]:
    """The secrets a node's config uses: in its templates, in the expressions and
    templates it evaluates itself, and in the defaults of the fields it leaves out.
    (A plain string is never rendered: `secrets.x` in it is text, not a reference.)"""
    if templated is None:
        templated = [k for k, v in config.items() if contains_template(v)]
    names: set[str] = set()
    for key in templated:
        names |= references(config[key])
    for key in info.raw_formats:
        value = config.get(key)
        if isinstance(value, str):
            names |= references(value)
    names.update(name for field, name in info.default_secrets if field not in config)
    return frozenset(names)


# --- wires ----------------------------------------------------------------------------


class _Described:
    """`connection a.x -> b.y`, formatted only when a problem message uses it."""

    __slots__ = ("source", "target")

    def __init__(self, source: str, target: str) -> None:
        self.source, self.target = source, target

    def __format__(self, spec: str) -> str:
        return f"connection {self.source} -> {self.target}"


def check_wire(source: str, target: str, src_id: str, src_port: str, dst_id: str,
               dst_port: str, src: NodeCheck | None, dst: NodeCheck | None,
               ) -> Problem | tuple[str, Port] | None:
    """Judge the wire `source` -> `target` between two checked nodes (None for a node id
    the graph does not have): what is wrong with it, or, when it is sound, the source
    port's type and the input port it feeds. None: not judged, because an end node's
    type or ports are unknown (that node has its own problem)."""
    if src is None or dst is None:
        missing = src_id if src is None else dst_id
        owner = dst_id if dst is not None else src_id if src is not None else None
        return Problem("unknown_node", f"{_Described(source, target)}: there is no node "
                       f"{missing!r}", owner, "connections")
    sp, dp = src.ports, dst.ports
    if sp is None or dp is None:
        return None
    src_type = sp.out_types.get(src_port)
    if src_type is None:
        names = ", ".join([*sp.outputs_by_name, ERROR_PORT])
        return Problem("unknown_port", f"{_Described(source, target)}: {src.spec.type} has "
                       f"no output {src_port!r} (outputs: {names})", src_id, "connections")
    in_port = dp.by_name.get(dst_port)
    if in_port is None:
        return Problem("unknown_port", f"{_Described(source, target)}: {dst.spec.type} has no "
                       f"input {dst_port!r} (inputs: {', '.join(dp.by_name) or 'none'})",
                       dst_id, "connections")
    if not can_connect(src_type, in_port.type):
        return Problem("type_mismatch", f"{_Described(source, target)}: output {src_port!r} is "
                       f"{src_type} but input {dst_port!r} takes {in_port.type}", dst_id,
                       "connections")
    return src_type, in_port


def input_taken_problem(node_id: str, port: str, sources: list[str]) -> Problem:
    return Problem("input_taken", f"input {port!r} takes one wire but has several "
                   f"({', '.join(sources)})", node_id, "connections")


def missing_inputs(check: NodeCheck, wired: Iterable[str]) -> list[Problem]:
    """Required inputs of a node that nothing gives a value: no wire, no config value."""
    if check.ports is None or check.info is None:
        return []
    found = []
    config, optional = check.spec.config, check.info.optional_fields
    for port in check.ports.required:
        name = port.name
        if name not in wired and name not in config and name not in optional:
            found.append(Problem("missing_input", f"required input {name!r} ({port.type}) is "
                                 "not connected and not set in the config", check.spec.id,
                                 f"inputs.{name}"))
    for name in check.info.cls.needs:
        if name not in wired and _empty(config.get(name)):
            found.append(Problem("missing_input", f"{name!r} is empty: set it in the config "
                                 f"or wire a value to input {name!r}", check.spec.id,
                                 f"config.{name}"))
    return found


def _empty(value: Any) -> bool:
    """A config value that gives nothing: left out, null, or blank text."""
    return value is None or (isinstance(value, str) and not value.strip())


def in_subgraph(name: str, p: Problem) -> Problem:
    """A problem of subgraph `name`'s node as the workflow reports it: `name/node`."""
    if p.node_id:
        return Problem(p.code, p.message, f"{name}/{p.node_id}", p.field, name)
    return Problem(p.code, f"subgraph {name!r}: {p.message}", None, p.field, name)


def duplicate_id_problem(node_id: str) -> Problem:
    return Problem("duplicate_id", "two nodes have this id; ids must be unique", node_id)


def cycle_problems(node_ids: list[str], successors: list[list[int]]) -> list[Problem]:
    """One problem per cycle in a graph given as node ids and, per node, the indices of
    the nodes its wires lead to (repeats allowed)."""
    # Kahn's algorithm is linear; networkx's find_cycle is only asked about the nodes
    # Kahn could not remove (on a large acyclic graph it is pathologically slow).
    indeg = [0] * len(node_ids)
    for targets in successors:
        for m in targets:
            indeg[m] += 1
    queue = [k for k, d in enumerate(indeg) if d == 0]
    removed = 0
    while queue:
        k = queue.pop()
        removed += 1
        for m in successors[k]:
            indeg[m] -= 1
            if indeg[m] == 0:
                queue.append(m)
    if removed == len(node_ids):
        return []
    import networkx as nx  # here: only a graph with a cycle needs it (saves 40 ms at start)

    left = {k for k, d in enumerate(indeg) if d > 0}
    g = nx.DiGraph((node_ids[a], node_ids[b]) for a in left for b in successors[a] if b in left)
    left_ids = sorted(node_ids[k] for k in left)
    seen: set[str] = set()
    problems = []
    for start in left_ids:
        if start in seen:
            continue
        try:
            cycle = [e[0] for e in nx.find_cycle(g, source=start)]
        except nx.NetworkXNoCycle:
            continue
        if seen.isdisjoint(cycle):
            seen.update(cycle)
            problems.append(Problem("cycle", "connections form a cycle: "
                                    + " -> ".join([*cycle, cycle[0]])
                                    + "; loops are written with control.loop and a subgraph",
                                    cycle[0]))
    return problems


def node_problems(workflow: Workflow, graph_key: str | None, node_id: str,
                  registry: Registry, *, base_dir: Path,
                  templates: TemplateEngine | None = None) -> list[Problem]:
    """Every problem of one node as a validation of its workflow reports it (the node's
    own, its wires in and out, its inputs), for showing beside the node while it is
    edited. Node ids are the node's own, not prefixed with its subgraph."""
    graph: Graph = workflow if graph_key is None else workflow.subgraphs[graph_key]
    checker = NodeChecker(workflow, registry, base_dir=base_dir, templates=templates)
    specs: dict[str, NodeSpec] = {}
    for spec in graph.nodes:
        specs.setdefault(spec.id, spec)  # the first of a duplicate id is the node
    checks: dict[str, NodeCheck] = {}

    def checked(nid: str) -> NodeCheck | None:
        if nid not in checks and nid in specs:
            checks[nid] = checker.check(specs[nid], graph)
        return checks.get(nid)

    me = checked(node_id)
    if me is None:
        return []
    problems = list(me.problems)
    wired: dict[str, list[str]] = {}
    for c in graph.connections:
        src_id, src_port = c.from_.split(".", 1)
        dst_id, dst_port = c.to.split(".", 1)
        if node_id not in (src_id, dst_id):
            continue
        verdict = check_wire(c.from_, c.to, src_id, src_port, dst_id, dst_port,
                             checked(src_id), checked(dst_id))
        if isinstance(verdict, Problem):
            if verdict.node_id == node_id:
                problems.append(verdict)
        elif verdict is not None and dst_id == node_id:
            wired.setdefault(dst_port, []).append(c.from_)
    if me.ports is not None:
        for port, sources in wired.items():
            if len(sources) > 1 and not me.ports.by_name[port].multiple:
                problems.append(input_taken_problem(node_id, port, sources[:2]))
        problems += missing_inputs(me, wired)
    return problems


# --- workflow inputs ------------------------------------------------------------------


def default_problems(graph: Graph) -> list[Problem]:
    """Declared inputs whose default is not of their type: `{"type": "integer",
    "default": "abc"}` would otherwise reach every run that leaves the input out."""
    return [Problem("input_type", f"input {name!r}: its default {_short(spec.default)} is "
                    f"not {spec.type}", field=f"inputs.{name}.default")
            for name, spec in graph.inputs.items()
            if "default" in spec.model_fields_set and spec.default is not None
            and not matches(spec.type, spec.default)]


def check_inputs(graph: Graph, given: Mapping[str, Any]) -> list[Problem]:
    """Missing required workflow inputs, and given values of the wrong type."""
    problems = []
    for name, spec in graph.inputs.items():
        if name in given:
            value = given[name]
            if value is not None and not matches(spec.type, value):
                problems.append(Problem(
                    "input_type", f"input {name!r} must be {spec.type}, got {type_name(value)} "
                    f"({_short(value)})", field=f"inputs.{name}"))
        elif spec.is_required:
            problems.append(Problem(
                "missing_input", f"required input {name!r} ({spec.type}) has no value: "
                f"pass --input {name}=VALUE", field=f"inputs.{name}"))
    return problems


def resolve_inputs(graph: Graph, given: Mapping[str, Any]) -> dict[str, Any]:
    """Given values plus defaults of the declared inputs not given."""
    out = dict(given)
    for name, spec in graph.inputs.items():
        if name not in out:
            out[name] = spec.default
    return out


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
