"""Compiling a workflow into a frozen execution plan.

One pass applies every rule of engine.core.validation (each problem with its node
id) and, when there are none, builds the integer-indexed structures the executor's
hot loop uses. The plan is read-only (tuples, read-only mappings, nodes that refuse
attribute assignment) and never refers back to anything a caller may change, so one
plan serves any number of runs at once: serve mode, re-runs, loop bodies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from pydantic import BaseModel

from engine.core.registry import Registry
from engine.core.sdk import ERROR_PORT, Node, Port
from engine.core.validation import (
    NodeCheck,
    NodeChecker,
    check_inputs,
    cycle_problems,
    duplicate_id_problem,
    input_taken_problem,
    missing_inputs,
    wire_problem,
)
from engine.errors import Problem, WorkflowInvalidError
from engine.support.gcpause import gc_paused
from engine.workflow.model import Graph, NodeSpec, RetryPolicy, Settings, Workflow
from engine.workflow.porttypes import needs_check

if TYPE_CHECKING:
    from engine.templates.engine import TemplateEngine


class InEdge(NamedTuple):
    """One wire into a node: its slot is its index in `PlannedNode.in_edges`."""

    port: str
    multiple: bool
    required: bool
    check: str | None  # port type to check arriving values against, None when guaranteed
    source: str  # "node.port", for messages


class PlannedNode:
    """One node as the executor runs it. Read-only once compiled."""

    __slots__ = ("cls", "config_ports", "deliveries", "disabled", "error_routed", "id",
                 "in_edges", "in_groups", "in_ports", "index", "is_sink", "on_error",
                 "out_names", "out_ports", "pinned", "port_values", "raw_config", "retry",
                 "spec", "static_config", "template_fields", "timeout_s",
                 "wired_config_fields")

    index: int
    id: str
    spec: NodeSpec
    cls: type[Node]
    in_ports: Mapping[str, Port]
    out_ports: Mapping[str, Port]
    out_names: frozenset[str]  # what run() may return (checked on every completion)
    raw_config: Mapping[str, Any]
    static_config: BaseModel | None  # validated once when nothing in it is dynamic
    template_fields: frozenset[str]  # config fields rendered per execution
    config_ports: tuple[str, ...]  # input ports that are also config fields
    port_values: Mapping[str, Any]  # input values typed into the config (used when unwired)
    wired_config_fields: frozenset[str]  # those of them with a wire (override the config)
    in_edges: tuple[InEdge, ...]
    # in_edges grouped by port for gathering: (port, multiple, slots, check or None)
    in_groups: tuple[tuple[str, bool, tuple[int, ...], str | None], ...]
    # out port -> ((target node index, target slot), ...), wired ports only (error too)
    deliveries: tuple[tuple[str, tuple[tuple[int, int], ...]], ...]
    error_routed: bool  # the error port is wired: failures go there
    retry: RetryPolicy | None
    timeout_s: float | None
    on_error: str
    disabled: bool
    is_sink: bool  # no outgoing wires: its outputs make the default result
    pinned: Mapping[str, Any] | None  # outputs used instead of running

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"a compiled plan is read-only (tried to set {name!r})")


class _Building(PlannedNode):
    """A PlannedNode while the compiler fills it in; its class becomes PlannedNode once
    done (a plain slot write per field: a frozen dataclass costs ten times as much)."""

    __slots__ = ()
    __setattr__ = object.__setattr__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    nodes: tuple[PlannedNode, ...]
    roots: tuple[int, ...]
    settings: Settings
    inputs: Mapping[str, Any]  # name -> InputSpec
    collects_results: bool  # has result-collecting nodes (flow.output)
    sinks: tuple[int, ...]  # nodes without outgoing wires, for the default result
    base_dir: Path
    # The compiled subgraphs of the same workflow, by name: what `body` names resolve to
    # (for a sub-workflow file's nodes, that file's subgraphs). Shared by its plans.
    bodies: Mapping[str, Plan]


_NO_BODIES: Mapping[str, Plan] = MappingProxyType({})


def compile_plan(workflow: Workflow, registry: Registry, *, base_dir: Path | None = None,
                 graph: Graph | None = None, templates: TemplateEngine | None = None) -> Plan:
    """Validate and compile one graph (default: the workflow itself, without its
    subgraphs). Raises WorkflowInvalidError listing every problem."""
    checker = NodeChecker(workflow, registry, base_dir=base_dir or Path.cwd(),
                          templates=templates)
    with gc_paused():
        plan, problems = _compile(checker, graph or workflow, _NO_BODIES)
    if problems:
        raise WorkflowInvalidError(problems)
    assert plan is not None
    return plan


def compile_workflow(workflow: Workflow, registry: Registry, *, base_dir: Path | None = None,
                     templates: TemplateEngine | None = None) -> Plan:
    """The workflow's plan, its subgraphs compiled into `plan.bodies`. Raises
    WorkflowInvalidError listing every problem of all of them (a subgraph's node ids
    as `subgraph/node`, with `Problem.graph` naming the subgraph)."""
    checker = NodeChecker(workflow, registry, base_dir=base_dir or Path.cwd(),
                          templates=templates)
    problems: list[Problem] = []
    plans: dict[str, Plan] = {}
    bodies = MappingProxyType(plans)  # every plan of this workflow reads its bodies here
    with gc_paused():
        plan, found = _compile(checker, workflow, bodies)
        problems += found
        for name, sg in workflow.subgraphs.items():
            sub_plan, found = _compile(checker, sg, bodies)
            if sub_plan is not None:
                plans[name] = sub_plan
            problems += [_in_subgraph(name, p) for p in found]
    if problems:
        raise WorkflowInvalidError(problems)
    assert plan is not None
    return plan


def validate(workflow: Workflow, registry: Registry, *, inputs: Mapping[str, Any] | None = None,
             base_dir: Path | None = None,
             templates: TemplateEngine | None = None) -> list[Problem]:
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


def _in_subgraph(name: str, p: Problem) -> Problem:
    if p.node_id:
        return Problem(p.code, p.message, f"{name}/{p.node_id}", p.field, name)
    return Problem(p.code, f"subgraph {name!r}: {p.message}", None, p.field, name)


def _retry_policy(policy: RetryPolicy | None) -> RetryPolicy | None:
    """None when there is nothing to retry: the executor then skips retry bookkeeping."""
    return policy if policy is not None and policy.max_attempts > 1 else None


def _compile(checker: NodeChecker, graph: Graph, bodies: Mapping[str, Plan],
             ) -> tuple[Plan | None, list[Problem]]:
    """Check every node and wire of one graph; build its plan when nothing is wrong."""
    problems: list[Problem] = []
    checks: list[NodeCheck] = []
    index: dict[str, int] = {}
    check = checker.check
    for spec in graph.nodes:
        if spec.id in index:
            problems.append(duplicate_id_problem(spec.id))
            continue
        found = check(spec, graph)
        index[spec.id] = len(checks)
        checks.append(found)
        if found.problems:
            problems += found.problems
    n = len(checks)
    in_edges: list[list[InEdge]] = [[] for _ in range(n)]
    out_edges: list[dict[str, list[tuple[int, int]]]] = [{} for _ in range(n)]
    wired: dict[tuple[int, str], list[str]] = {}
    edges: list[tuple[str, str]] = []
    for c in graph.connections:
        source, target = c.from_, c.to
        src_id, src_port = source.split(".", 1)
        dst_id, dst_port = target.split(".", 1)
        edges.append((src_id, dst_id))
        si, di = index.get(src_id), index.get(dst_id)
        src = checks[si] if si is not None else None
        dst = checks[di] if di is not None else None
        problem = wire_problem(source, target, src_id, src_port, dst_id, dst_port, src, dst)
        if problem is not None:
            problems.append(problem)
            continue
        assert src is not None and dst is not None and si is not None and di is not None
        if src.ports is None or dst.ports is None:
            continue  # the node itself already has a problem
        in_port = dst.ports.by_name[dst_port]
        prior = wired.get((di, dst_port))
        if prior is None:
            prior = wired[(di, dst_port)] = [source]
        else:
            prior.append(source)
            if not in_port.multiple:
                if len(prior) == 2:
                    problems.append(input_taken_problem(dst_id, dst_port, prior))
                continue
        src_type = "object" if src_port == ERROR_PORT else \
            src.ports.outputs_by_name[src_port].type
        slots = in_edges[di]
        out_edges[si].setdefault(src_port, []).append((di, len(slots)))
        slots.append(InEdge(dst_port, in_port.multiple, in_port.required,
                            in_port.type if needs_check(src_type, in_port.type) else None,
                            source))
    for i, found in enumerate(checks):
        if found.ports is not None:
            missing = missing_inputs(found, {e.port for e in in_edges[i]})
            if missing:
                problems += missing
    problems += cycle_problems(index, edges)
    if problems:
        return None, problems
    return _build(graph, checker.workflow, checks, in_edges, out_edges, bodies,
                  checker.context.base_dir), []


def _build(graph: Graph, workflow: Workflow, checks: list[NodeCheck],
           in_edges: list[list[InEdge]], out_edges: list[dict[str, list[tuple[int, int]]]],
           bodies: Mapping[str, Plan], base_dir: Path) -> Plan:
    settings = getattr(graph, "settings", None) or workflow.settings
    nodes: list[PlannedNode] = []
    collects = False
    for i, found in enumerate(checks):
        spec, cls, ports, info = found.spec, found.cls, found.ports, found.info
        assert cls is not None and ports is not None and info is not None
        fields = info.fields
        edges = tuple(in_edges[i])
        node = _Building.__new__(_Building)
        node.index = i
        node.id = spec.id
        node.spec = spec
        node.cls = cls
        node.in_ports = ports.by_name
        node.out_ports = ports.outputs_by_name
        node.out_names = frozenset(ports.outputs_by_name)
        node.raw_config = found.raw
        node.template_fields = found.template_fields
        node.config_ports = tuple(p.name for p in ports.inputs if p.name in fields)
        node.port_values = found.port_values
        node.in_edges = edges
        if edges:
            groups: dict[str, list[int]] = {}
            for slot, e in enumerate(edges):
                groups.setdefault(e.port, []).append(slot)
            node.in_groups = tuple(
                (port, edges[ks[0]].multiple, tuple(ks),
                 next((edges[k].check for k in ks if edges[k].check), None))
                for port, ks in groups.items())
            wired_fields = frozenset(groups).intersection(fields)
        else:
            node.in_groups = ()
            wired_fields = frozenset()
        node.wired_config_fields = wired_fields
        node.static_config = None if wired_fields else found.static_config
        outs = out_edges[i]
        node.deliveries = tuple((port, tuple(targets)) for port, targets in outs.items())
        node.error_routed = ERROR_PORT in outs
        node.is_sink = not outs
        node.retry = _retry_policy(spec.retry or cls.default_retry)
        node.timeout_s = spec.timeout_s
        node.on_error = spec.on_error or settings.on_error
        node.disabled = spec.disabled
        node.pinned = MappingProxyType(dict(spec.pinned)) if spec.pinned is not None else None
        node.__class__ = PlannedNode  # type: ignore[assignment]  # now read-only
        nodes.append(node)
        collects = collects or cls.collects_result
    return Plan(
        name=graph.name, nodes=tuple(nodes),
        roots=tuple(n.index for n in nodes if not n.in_edges),
        settings=settings, inputs=MappingProxyType(dict(graph.inputs)),
        collects_results=collects, sinks=tuple(n.index for n in nodes if n.is_sink),
        base_dir=base_dir, bodies=bodies)
