"""Validation and compilation of a workflow into a frozen execution plan.

One pass finds every problem (each with its node id) and, when there are none,
builds the integer-indexed structures the executor's hot loop uses, so the
executor never reads the live document: editing during a run is safe.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from engine.core.registry import Registry
from engine.core.sdk import ERROR_PORT, Node, Port, PortContext
from engine.errors import Problem, WorkflowInvalidError
from engine.support.gcpause import gc_paused
from engine.templates.engine import TemplateEngine, default_engine
from engine.workflow.model import Graph, NodeSpec, RetryPolicy, Settings, Workflow
from engine.workflow.porttypes import can_connect, matches, needs_check, type_name


@dataclass(frozen=True, slots=True)
class InEdge:
    """One wire into a node: its slot is its index in `PlannedNode.in_edges`."""

    port: str
    multiple: bool
    required: bool
    check: str | None  # port type to check arriving values against, None when guaranteed
    source: str  # "node.port", for messages


@dataclass(slots=True)
class PlannedNode:
    index: int
    id: str
    spec: NodeSpec
    cls: type[Node]
    in_ports: dict[str, Port]
    out_ports: dict[str, Port]
    out_names: frozenset[str]  # what run() may return (checked on every completion)
    raw_config: dict[str, Any]
    static_config: BaseModel | None  # validated once when nothing in it is dynamic
    template_fields: frozenset[str]  # config fields rendered per execution
    config_ports: tuple[str, ...]  # input ports that are also config fields
    port_values: dict[str, Any]  # input values typed into the config (used when unwired)
    wired_config_fields: frozenset[str]  # those of them with a wire (override the config)
    in_edges: list[InEdge] = field(default_factory=list)
    # in_edges grouped by port for gathering: (port, multiple, slots, check or None)
    in_groups: tuple[tuple[str, bool, tuple[int, ...], str | None], ...] = ()
    # out port -> [(target node index, target slot)]; the error port is included
    out_edges: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    # out_edges without the unwired ports, frozen for the executor's hot loop
    deliveries: tuple[tuple[str, tuple[tuple[int, int], ...]], ...] = ()
    retry: RetryPolicy | None = None
    timeout_s: float | None = None
    on_error: str = "stop"
    disabled: bool = False
    is_sink: bool = False  # no outgoing wires: its outputs make the default result
    pinned: dict[str, Any] | None = None  # outputs used instead of running

    @property
    def error_routed(self) -> bool:
        return bool(self.out_edges.get(ERROR_PORT))


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    nodes: list[PlannedNode]
    roots: list[int]
    settings: Settings
    inputs: Mapping[str, Any]  # name -> InputSpec
    collects_results: bool  # has result-collecting nodes (flow.output)
    sinks: list[int]  # nodes without outgoing wires, for the default result
    base_dir: Path
    workflow: Workflow  # the snapshot the plan was made from (subgraphs live here)
    # The compiled subgraphs of the same workflow, by name: what `body` names resolve to
    # (for a sub-workflow file's nodes, that file's subgraphs). Shared by its plans.
    bodies: dict[str, Plan] = field(default_factory=dict)


def compile_plan(workflow: Workflow, registry: Registry, *, base_dir: Path | None = None,
                 graph: Graph | None = None,
                 templates: TemplateEngine = default_engine) -> Plan:
    """Validate and compile `graph` (default: the workflow itself). Raises
    WorkflowInvalidError listing every problem."""
    base = base_dir or Path.cwd()
    compiler = _Compiler(workflow, graph or workflow, registry, templates, base)
    with gc_paused():
        plan = compiler.compile(base)
    if compiler.problems:
        raise WorkflowInvalidError(compiler.problems)
    assert plan is not None
    return plan


def compile_workflow(workflow: Workflow, registry: Registry, *, base_dir: Path | None = None,
                     templates: TemplateEngine = default_engine,
                     ) -> tuple[Plan, dict[str, Plan]]:
    """The workflow's plan and one per subgraph. Raises WorkflowInvalidError listing
    every problem of all of them (a subgraph's node ids as `subgraph/node`)."""
    base = base_dir or Path.cwd()
    problems: list[Problem] = []
    plans: dict[str, Plan] = {}  # filled below; every plan of this workflow shares it
    with gc_paused():
        top = _Compiler(workflow, workflow, registry, templates, base)
        plan = top.compile(base, bodies=plans)
        problems += top.problems
        for name, sg in workflow.subgraphs.items():
            sub = _Compiler(workflow, sg, registry, templates, base)
            sub_plan = sub.compile(base, bodies=plans)
            if sub_plan is not None:
                plans[name] = sub_plan
            problems += [_in_subgraph(name, p) for p in sub.problems]
    if problems:
        raise WorkflowInvalidError(problems)
    assert plan is not None
    return plan, plans


def _retry_policy(policy: RetryPolicy | None) -> RetryPolicy | None:
    """None when there is nothing to retry: the executor then skips retry bookkeeping."""
    return policy if policy is not None and policy.max_attempts > 1 else None


def _in_subgraph(name: str, p: Problem) -> Problem:
    if p.node_id:
        return Problem(p.code, p.message, f"{name}/{p.node_id}", p.field, name)
    return Problem(p.code, f"subgraph {name!r}: {p.message}", None, p.field, name)


def validate(workflow: Workflow, registry: Registry, *, inputs: Mapping[str, Any] | None = None,
             base_dir: Path | None = None,
             templates: TemplateEngine = default_engine) -> list[Problem]:
    """Every problem of a workflow and its subgraphs; with `inputs`, also missing or
    mistyped workflow inputs."""
    try:
        compile_workflow(workflow, registry, base_dir=base_dir, templates=templates)
        problems: list[Problem] = []
    except WorkflowInvalidError as e:
        problems = e.problems
    if inputs is not None:
        problems += check_inputs(workflow, inputs)
    return problems


def check_inputs(graph: Graph, given: Mapping[str, Any]) -> list[Problem]:
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


class _Described:
    """`connection a.x -> b.y`, formatted only when a problem message uses it."""

    __slots__ = ("connection",)

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def __format__(self, spec: str) -> str:
        return f"connection {self.connection.from_} -> {self.connection.to}"


@dataclass(frozen=True, slots=True)
class _TypeInfo:
    fields: Mapping[str, Any]  # the Config's pydantic fields
    raw_fields: frozenset[str]  # expression/template fields the node evaluates itself
    check_context: bool  # its check() takes `context` (a PortContext): it looks at bodies


class _Compiler:
    def __init__(self, workflow: Workflow, graph: Graph, registry: Registry,
                 templates: TemplateEngine, base_dir: Path) -> None:
        self.workflow = workflow
        self.port_context = PortContext(workflow, base_dir, registry)
        self.graph = graph
        self.registry = registry
        self.templates = templates
        self.problems: list[Problem] = []
        self._types: dict[type[Node], _TypeInfo] = {}
        # "node.port" split once: a 10,000-node graph has tens of thousands of them
        self.endpoints = [(c, c.source, c.target) for c in graph.connections]

    def type_info(self, cls: type[Node]) -> _TypeInfo:
        info = self._types.get(cls)
        if info is None:
            fields = cls.Config.model_fields
            raw = frozenset(name for name, f in fields.items()
                            if isinstance(f.json_schema_extra, dict)
                            and f.json_schema_extra.get("format") in ("expression", "template"))
            takes_context = "context" in inspect.signature(cls.check).parameters
            info = self._types[cls] = _TypeInfo(fields, raw, takes_context)
        return info

    def problem(self, code: str, message: str, node: str | None = None,
                field: str | None = None) -> None:
        self.problems.append(Problem(code, message, node, field))

    def compile(self, base_dir: Path, bodies: dict[str, Plan] | None = None) -> Plan | None:
        graph = self.graph
        settings = getattr(graph, "settings", None) or self.workflow.settings
        nodes: list[PlannedNode] = []
        index: dict[str, int] = {}
        for spec in graph.nodes:
            if spec.id in index:
                self.problem("duplicate_id", "two nodes have this id; ids must be unique", spec.id)
                continue
            planned = self._plan_node(spec, settings)
            index[spec.id] = len(nodes)
            if planned is not None:
                nodes.append(planned)
            else:  # keep indices aligned; a placeholder is never run (problems exist)
                nodes.append(None)  # type: ignore[arg-type]
        self._wire(nodes, index)
        self._check_required(nodes)
        self._check_cycles(index)
        if self.problems:
            return None
        collects = any(getattr(n.cls, "collects_result", False) for n in nodes)
        return Plan(
            name=graph.name, nodes=nodes,
            roots=[n.index for n in nodes if not n.in_edges],
            settings=settings, inputs=graph.inputs, collects_results=collects,
            sinks=[n.index for n in nodes if n.is_sink],
            base_dir=base_dir, workflow=self.workflow,
            bodies=bodies if bodies is not None else {},
        )

    # --- nodes --------------------------------------------------------------------------

    def _plan_node(self, spec: NodeSpec, settings: Settings) -> PlannedNode | None:
        cls = self.registry.get(spec.type)
        if cls is None:
            hint = difflib.get_close_matches(spec.type, self.registry.type_ids(), n=1)
            msg = f"unknown node type {spec.type!r}"
            msg += f" (did you mean {hint[0]!r}?)" if hint else \
                "; `flowcli nodes` lists the installed types"
            if self.registry.load_errors:
                msg += f"; note: {len(self.registry.load_errors)} plugin(s) failed to load"
            self.problem("unknown_type", msg, spec.id, "type")
            return None
        try:
            in_ports, out_ports = cls.ports(spec.config, self.port_context)
        except Exception as e:
            self.problem("bad_config", f"cannot determine ports: {e}", spec.id, "config")
            return None
        info = self.type_info(cls)
        fields, raw_fields = info.fields, info.raw_fields
        ports_by_name = {p.name: p for p in in_ports}
        # A config key naming an input port that the Config does not declare is that
        # input's value when nothing is wired to it (FORMAT.md: "a required input is
        # satisfied by a connection or by a config field of the same name").
        port_values = {k: v for k, v in spec.config.items()
                       if k in ports_by_name and k not in fields}
        raw = {k: v for k, v in spec.config.items() if k not in port_values} \
            if port_values else spec.config
        template_fields = frozenset(
            k for k, v in raw.items()
            if k not in raw_fields and self.templates.contains_template(v))
        self._check_template_syntax(spec, spec.config, raw_fields, fields)
        for name, value in port_values.items():
            port_type = ports_by_name[name].type
            if not self.templates.contains_template(value) and not matches(port_type, value):
                self.problem("bad_config", f"input {name!r} takes {port_type}, but the config "
                             f"gives {type_name(value)}", spec.id, f"config.{name}")
        static: BaseModel | None = None
        try:
            static = cls.Config.model_validate(raw)
        except ValidationError as e:
            for err in e.errors():
                loc = err["loc"]
                top = str(loc[0]) if loc else None
                if top in template_fields:
                    continue  # checked after rendering, at run time
                if err["type"] == "missing" and top in {p.name for p in in_ports}:
                    continue  # may arrive on the port; _check_required decides
                where = "config" + "".join(f"[{x}]" if isinstance(x, int) else f".{x}"
                                           for x in loc)
                if err["type"] == "extra_forbidden":
                    hint = difflib.get_close_matches(str(loc[-1]), list(fields), n=1)
                    known = [*fields, *(p for p in ports_by_name if p not in fields)]
                    hint = difflib.get_close_matches(str(loc[-1]), known, n=1)
                    message = f"unknown config field {loc[-1]!r}" + (
                        f" (did you mean {hint[0]!r}?)" if hint else
                        f"; fields and inputs: {', '.join(known) or 'none'}")
                else:
                    message = err["msg"]
                self.problem("bad_config", message, spec.id, where)
        # A type whose check needs the workflow around it (subgraphs, the file's folder)
        # declares a `context` parameter; the base signature stays as node authors know it.
        extra = {"context": self.port_context} if info.check_context else {}
        for key, message in cls.check(raw, self.graph, top_level=self.graph is self.workflow,
                                      **extra):
            self.problem("bad_config", message, spec.id, f"config.{key}" if key else "config")
        if template_fields:
            static = None
        return PlannedNode(
            index=-1, id=spec.id, spec=spec, cls=cls,
            in_ports={p.name: p for p in in_ports},
            out_ports={p.name: p for p in out_ports},
            out_names=frozenset(p.name for p in out_ports),
            raw_config=raw, static_config=static, template_fields=template_fields,
            config_ports=tuple(p.name for p in in_ports if p.name in fields),
            port_values=port_values,
            wired_config_fields=frozenset(),
            retry=_retry_policy(spec.retry or cls.default_retry),
            timeout_s=spec.timeout_s, on_error=spec.on_error or settings.on_error,
            disabled=spec.disabled, pinned=spec.pinned,
        )

    def _check_template_syntax(self, spec: NodeSpec, raw: dict[str, Any],
                               raw_fields: frozenset[str], fields: Mapping[str, Any]) -> None:
        for key, value in raw.items():
            if key in raw_fields:
                fmt = fields[key].json_schema_extra.get("format")
                if not isinstance(value, str):
                    continue  # the schema check reports the type
                err = (self.templates.check_expression(value) if fmt == "expression"
                       else self.templates.check_text(value))
                if err:
                    self.problem("template_syntax", err, spec.id, f"config.{key}")
                continue
            for path, err in self.templates.check_value(value):
                sub = f"config.{key}" + (path if path.startswith("[") else
                                         f".{path}" if path else "")
                self.problem("template_syntax", err, spec.id, sub)

    # --- wires --------------------------------------------------------------------------

    def _wire(self, nodes: list[PlannedNode], index: dict[str, int]) -> None:
        for i, n in enumerate(nodes):
            if n is not None:
                n.index = i
                n.out_edges = {name: [] for name in (*n.out_ports, ERROR_PORT)}
        wired: dict[tuple[int, str], list[str]] = {}
        for c, (src_id, src_port), (dst_id, dst_port) in self.endpoints:
            src_i, dst_i = index.get(src_id), index.get(dst_id)
            if src_i is None or dst_i is None:
                desc = _Described(c)
                missing = src_id if src_i is None else dst_id
                self.problem("unknown_node", f"{desc}: there is no node {missing!r}",
                             dst_id if dst_i is not None else src_id if src_i is not None
                             else None, "connections")
                continue
            src, dst = nodes[src_i], nodes[dst_i]
            if src is None or dst is None:
                continue  # the node itself already has a problem
            desc = _Described(c)  # the message text is built only if a problem needs it
            out = ERROR_PORT if src_port == ERROR_PORT else src_port
            if out != ERROR_PORT and out not in src.out_ports:
                self.problem("unknown_port", f"{desc}: {src.cls.type} has no output {src_port!r} "
                             f"(outputs: {', '.join([*src.out_ports, ERROR_PORT])})",
                             src_id, "connections")
                continue
            in_port = dst.in_ports.get(dst_port)
            if in_port is None:
                self.problem("unknown_port", f"{desc}: {dst.cls.type} has no input {dst_port!r} "
                             f"(inputs: {', '.join(dst.in_ports) or 'none'})",
                             dst_id, "connections")
                continue
            src_type = "object" if out == ERROR_PORT else src.out_ports[out].type
            if not can_connect(src_type, in_port.type):
                self.problem("type_mismatch", f"{desc}: output {src_port!r} is {src_type} but "
                             f"input {dst_port!r} takes {in_port.type}", dst_id, "connections")
                continue
            prior = wired.setdefault((dst_i, dst_port), [])
            prior.append(c.from_)
            if len(prior) > 1 and not in_port.multiple:
                if len(prior) == 2:
                    self.problem("input_taken", f"input {dst_port!r} takes one wire but has "
                                 f"several ({', '.join(prior)})", dst_id, "connections")
                continue
            slot = len(dst.in_edges)
            dst.in_edges.append(InEdge(
                dst_port, in_port.multiple, in_port.required,
                in_port.type if needs_check(src_type, in_port.type) else None, c.from_))
            src.out_edges[out].append((dst_i, slot))
        for n in nodes:
            if n is not None:
                n.deliveries = tuple((port, tuple(t)) for port, t in n.out_edges.items() if t)
                n.is_sink = not n.deliveries
                groups: dict[str, list[int]] = {}
                for slot, e in enumerate(n.in_edges):
                    groups.setdefault(e.port, []).append(slot)
                n.in_groups = tuple(
                    (port, n.in_edges[ks[0]].multiple, tuple(ks),
                     next((n.in_edges[k].check for k in ks if n.in_edges[k].check), None))
                    for port, ks in groups.items())
                wired_ports = {e.port for e in n.in_edges}
                n.wired_config_fields = frozenset(wired_ports.intersection(
                    self.type_info(n.cls).fields))
                if n.wired_config_fields:
                    n.static_config = None

    def _check_required(self, nodes: list[PlannedNode]) -> None:
        for n in nodes:
            if n is None:
                continue
            wired = {e.port for e in n.in_edges}
            fields = self.type_info(n.cls).fields
            for port in n.in_ports.values():
                configured = port.name in n.spec.config or (
                    port.name in fields and not fields[port.name].is_required()
                    and fields[port.name].default is not None)
                if port.required and port.name not in wired and not configured:
                    self.problem("missing_input", f"required input {port.name!r} ({port.type}) is "
                                 "not connected and not set in the config", n.id,
                                 f"inputs.{port.name}")

    def _check_cycles(self, index: dict[str, int]) -> None:
        # Kahn's algorithm is linear; networkx's find_cycle is only asked about the
        # nodes Kahn could not remove (on a large acyclic graph it is pathologically slow).
        succ: dict[str, set[str]] = {k: set() for k in index}
        indeg = dict.fromkeys(index, 0)
        for _c, (a, _), (b, _) in self.endpoints:
            if a in succ and b in succ and b not in succ[a]:
                succ[a].add(b)
                indeg[b] += 1
        queue = [k for k, d in indeg.items() if d == 0]
        removed = 0
        while queue:
            k = queue.pop()
            removed += 1
            for m in succ[k]:
                indeg[m] -= 1
                if indeg[m] == 0:
                    queue.append(m)
        if removed == len(index):
            return
        import networkx as nx  # here: only a graph with a cycle needs it (saves 40 ms at start)

        left = {k for k, d in indeg.items() if d > 0}
        g = nx.DiGraph((a, b) for a in left for b in succ[a] if b in left)
        seen: set[str] = set()
        for start in sorted(left):
            if start in seen:
                continue
            try:
                cycle = [e[0] for e in nx.find_cycle(g, source=start)]
            except nx.NetworkXNoCycle:
                continue
            if seen.isdisjoint(cycle):
                seen.update(cycle)
                self.problem("cycle", "connections form a cycle: "
                             + " -> ".join([*cycle, cycle[0]])
                             + "; loops are written with control.loop and a subgraph", cycle[0])
