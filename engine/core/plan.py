"""Compiling a workflow into a frozen execution plan.

One pass applies every rule of engine.core.validation (each problem with its node
id) and, when there are none, builds the integer-indexed structures the executor's
hot loop uses. The plan is read-only (tuples, read-only mappings, nodes that refuse
attribute assignment) and never refers back to anything a caller may change, so one
plan serves any number of runs at once: serve mode, re-runs, loop bodies.
"""

from __future__ import annotations

import math
import time
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeVar

from engine.core.registry import Registry
from engine.core.sdk import ERROR_PORT, Node, Port
from engine.core.validation import (
    NodeCheck,
    NodeChecker,
    PortSet,
    check_inputs,
    check_wire,
    cycle_problems,
    default_problems,
    duplicate_id_problem,
    in_subgraph,
    input_taken_problem,
    missing_inputs,
)
from engine.errors import Problem, WorkflowInvalidError
from engine.support.gcpause import gc_paused
from engine.workflow.model import Graph, RetryPolicy, Settings, Workflow
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


class _NodeFields(NodeCheck):
    """A node whose checks passed, with what the executor's hot loop needs."""

    __slots__ = ("config_ports", "deliveries", "disabled", "error_routed", "id", "in_edges",
                 "in_groups", "in_ports", "index", "inline", "is_sink", "on_error",
                 "out_names", "out_ports", "pinned", "retry", "timeout_s",
                 "wired_config_fields")

    cls: type[Node]
    ports: PortSet
    index: int
    id: str
    in_ports: Mapping[str, Port]
    out_ports: Mapping[str, Port]
    out_names: frozenset[str]  # what run() may return (checked on every completion)
    config_ports: tuple[str, ...]  # input ports that are also config fields
    wired_config_fields: frozenset[str]  # config fields with a wire (override the config)
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
    inline: bool  # run at once, without a task: the type never waits, nothing to time out


class PlannedNode(_NodeFields):
    """One node as the executor runs it: its check (type, ports, config as validated)
    and its wiring. Read-only once compiled."""

    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"a compiled plan is read-only (tried to set {name!r})")


class _Building(_NodeFields):
    """A planned node while the compiler fills it in, with plain slot writes (a frozen
    dataclass costs ten times as much per field); its class then becomes PlannedNode,
    whose layout is the same."""

    __slots__ = ()


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
    # What is derived from the plan once and kept with it (engine.core.cache_keys' key
    # plan): filled on first use, never part of what the plan means.
    derived: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


Result = TypeVar("Result")
_NO_BODIES: Mapping[str, Plan] = MappingProxyType({})
_NOTHING_WIRED: frozenset[str] = frozenset()


def compile_plan(workflow: Workflow, registry: Registry, *, base_dir: Path | None = None,
                 graph: Graph | None = None, templates: TemplateEngine | None = None) -> Plan:
    """Validate and compile one graph (default: the workflow itself, without its
    subgraphs). Raises WorkflowInvalidError listing every problem."""
    checker = NodeChecker(workflow, registry, base_dir=base_dir or Path.cwd(),
                          templates=templates)
    with gc_paused():
        plan, problems = _finish(_compile(checker, graph or workflow, _NO_BODIES, Pacer(None)))
    if problems:
        raise WorkflowInvalidError(problems)
    assert plan is not None
    return plan


def compile_workflow(workflow: Workflow, registry: Registry, *, base_dir: Path | None = None,
                     templates: TemplateEngine | None = None) -> Plan:
    """The workflow's plan, its subgraphs compiled into `plan.bodies`. Raises
    WorkflowInvalidError listing every problem of all of them (a subgraph's node ids
    as `subgraph/node`, with `Problem.graph` naming the subgraph)."""
    with gc_paused():
        return _finish(compile_steps(workflow, registry, base_dir=base_dir,
                                     templates=templates))


def _finish(steps: Generator[None, None, Result]) -> Result:
    """All the steps at once: the generator's return value."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            value: Result = done.value
            return value


class Pacer:
    """Says when a step of a long computation has used its share of time: checked
    every `every` items, so a step costs one clock read per `every` items."""

    __slots__ = ("_deadline", "_slice_s")

    def __init__(self, slice_s: float | None) -> None:
        self._slice_s = slice_s
        self._deadline = time.perf_counter() + slice_s if slice_s is not None else math.inf

    def due(self) -> bool:
        if self._slice_s is None or time.perf_counter() < self._deadline:
            return False
        self._deadline = time.perf_counter() + self._slice_s
        return True


def compile_steps(workflow: Workflow, registry: Registry, *, base_dir: Path | None = None,
                  templates: TemplateEngine | None = None, slice_s: float | None = None,
                  ) -> Generator[None, None, Plan]:
    """`compile_workflow` in steps of about `slice_s` seconds each (None: one step):
    a caller on an event loop (the editor, a server) lets the loop run between them,
    so compiling 10,000 nodes (~0.2 s) is never one freeze. The plan is the
    generator's return value; its problems are raised as WorkflowInvalidError. The
    workflow must not change until it is done (the editor compiles a snapshot)."""
    pace = Pacer(slice_s)
    checker = NodeChecker(workflow, registry, base_dir=base_dir or Path.cwd(),
                          templates=templates)
    problems: list[Problem] = []
    plans: dict[str, Plan] = {}
    bodies = MappingProxyType(plans)  # every plan of this workflow reads its bodies here
    plan, found = yield from _compile(checker, workflow, bodies, pace)
    problems += found
    for name, sg in workflow.subgraphs.items():
        sub_plan, found = yield from _compile(checker, sg, bodies, pace)
        if sub_plan is not None:
            plans[name] = sub_plan
        problems += [in_subgraph(name, p) for p in found]
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


def _retry_policy(policy: RetryPolicy | None) -> RetryPolicy | None:
    """None when there is nothing to retry: the executor then skips retry bookkeeping."""
    return policy if policy is not None and policy.max_attempts > 1 else None


def _compile(checker: NodeChecker, graph: Graph, bodies: Mapping[str, Plan], pace: Pacer,
             ) -> Generator[None, None, tuple[Plan | None, list[Problem]]]:
    """Check every node and wire of one graph; build its plan when nothing is wrong.
    Yields when `pace` says a step is over."""
    problems: list[Problem] = []
    checks: list[_Building] = []  # become the plan's nodes when nothing is wrong
    index: dict[str, int] = {}
    fill = checker.fill
    new = _Building.__new__
    for n, spec in enumerate(graph.nodes, 1):
        if not n & 127 and pace.due():
            yield
        if spec.id in index:
            problems.append(duplicate_id_problem(spec.id))
            continue
        found = new(_Building)
        found.spec = spec
        fill(found, graph)
        index[spec.id] = len(checks)
        checks.append(found)
        if found.problems:
            problems += found.problems
    n = len(checks)
    in_edges: list[list[InEdge]] = [[] for _ in range(n)]
    out_edges: list[dict[str, list[tuple[int, int]]]] = [{} for _ in range(n)]
    successors: list[list[int]] = [[] for _ in range(n)]  # for the cycle check
    wired: dict[tuple[int, str], list[str]] = {}
    verdicts: dict[tuple[Any, str, Any, str], tuple[str, Port]] = {}
    new_edge = tuple.__new__
    for n, c in enumerate(graph.connections, 1):
        if not n & 511 and pace.due():
            yield
        source, target = c.from_, c.to
        src_id, src_port = source.split(".", 1)
        dst_id, dst_port = target.split(".", 1)
        si, di = index.get(src_id), index.get(dst_id)
        src = dst = None
        if si is not None:
            src = checks[si]
            if di is not None:
                dst = checks[di]
                successors[si].append(di)
        elif di is not None:
            dst = checks[di]
        # A sound wire's verdict depends on its ports only: big graphs repeat a few
        # (type, port) pairs thousands of times, so each pair is judged once.
        judged: Problem | tuple[str, Port] | None = None
        pair = None
        if src is not None and dst is not None:
            pair = (src.ports, src_port, dst.ports, dst_port)
            judged = verdicts.get(pair)
        if judged is None:
            judged = check_wire(source, target, src_id, src_port, dst_id, dst_port, src, dst)
            if pair is not None and isinstance(judged, tuple):
                verdicts[pair] = judged
        if not isinstance(judged, tuple):
            if judged is not None:  # None: an end node has its own problem
                problems.append(judged)
            continue
        src_type, in_port = judged
        assert si is not None and di is not None
        if not in_port.multiple:  # a single input takes one wire
            key = (di, dst_port)
            prior = wired.get(key)
            if prior is None:
                wired[key] = [source]
            else:
                prior.append(source)
                if len(prior) == 2:
                    problems.append(input_taken_problem(dst_id, dst_port, prior))
                continue
        slots = in_edges[di]
        targets = out_edges[si].get(src_port)
        if targets is None:
            out_edges[si][src_port] = [(di, len(slots))]
        else:
            targets.append((di, len(slots)))
        slots.append(new_edge(InEdge, (
            dst_port, in_port.multiple, in_port.required,
            in_port.type if needs_check(src_type, in_port.type) else None, source)))
    for i, found in enumerate(checks):
        if found.ports is not None and (found.ports.required or (
                found.info is not None and found.info.cls.needs)):
            missing = missing_inputs(found, {e.port for e in in_edges[i]})
            if missing:
                problems += missing
    if pace.due():
        yield
    problems += cycle_problems(list(index), successors)
    problems += default_problems(graph)
    if problems:
        return None, problems
    if pace.due():
        yield
    return _build(graph, checker.workflow, checks, in_edges, out_edges, bodies,
                  checker.context.base_dir), []


def _one_port(edges: tuple[InEdge, ...]) -> str | Literal[False] | None:
    """False when the wires feed several ports; else the type to check arriving values
    against (the first wire's that needs one), or None."""
    port = edges[0].port
    check = None
    for e in edges:
        if e.port != port:
            return False
        if check is None:
            check = e.check
    return check


def _build(graph: Graph, workflow: Workflow, checks: list[_Building],
           in_edges: list[list[InEdge]], out_edges: list[dict[str, list[tuple[int, int]]]],
           bodies: Mapping[str, Plan], base_dir: Path) -> Plan:
    settings = getattr(graph, "settings", None) or workflow.settings
    default_on_error = settings.on_error
    collects = False
    for i, node in enumerate(checks):
        spec, cls, ports, info = node.spec, node.cls, node.ports, node.info
        assert cls is not None and ports is not None and info is not None
        node.index = i
        node.id = spec.id
        node.in_ports = ports.by_name
        node.out_ports = ports.outputs_by_name
        node.out_names = ports.out_names
        node.config_ports = info.config_ports if info.static_ports is ports else \
            tuple(p.name for p in ports.inputs if p.name in info.fields)
        edges = node.in_edges = tuple(in_edges[i])
        if not edges:
            node.in_groups = ()
            node.wired_config_fields = _NOTHING_WIRED
        elif len(edges) == 1:  # the common case, without the grouping below
            e = edges[0]
            node.in_groups = ((e.port, e.multiple, (0,), e.check),)
            node.wired_config_fields = frozenset((e.port,)) if e.port in info.fields \
                else _NOTHING_WIRED
        elif (check := _one_port(edges)) is not False:  # all on one `multiple` input
            e = edges[0]
            node.in_groups = ((e.port, e.multiple, tuple(range(len(edges))), check),)
            node.wired_config_fields = frozenset((e.port,)) if e.port in info.fields \
                else _NOTHING_WIRED
        else:
            groups: dict[str, list[int]] = {}
            for slot, e in enumerate(edges):
                groups.setdefault(e.port, []).append(slot)
            node.in_groups = tuple([
                (port, edges[ks[0]].multiple, tuple(ks),
                 next((edges[k].check for k in ks if edges[k].check), None))
                for port, ks in groups.items()])
            node.wired_config_fields = frozenset(groups).intersection(info.fields)
        if node.wired_config_fields:
            node.static_config = None  # a wired value overrides the config per execution
        outs = out_edges[i]
        if len(outs) == 1:  # most nodes feed others from one output
            for port, targets in outs.items():
                node.deliveries = ((port, tuple(targets)),)
        else:
            node.deliveries = tuple([(port, tuple(targets)) for port, targets in outs.items()])
        node.error_routed = ERROR_PORT in outs
        node.is_sink = not outs
        node.retry = _retry_policy(spec.retry or cls.default_retry)
        node.timeout_s = spec.timeout_s
        node.on_error = spec.on_error or default_on_error
        node.disabled = spec.disabled
        node.pinned = MappingProxyType(dict(spec.pinned)) if spec.pinned is not None else None
        # A retry waits between attempts and a timeout needs a task to cancel: those nodes
        # run as tasks whatever their type says.
        node.inline = cls.inline and node.retry is None and spec.timeout_s is None
        node.__class__ = PlannedNode  # type: ignore[assignment]  # read-only from here on
        collects = collects or cls.collects_result
    nodes: tuple[PlannedNode, ...] = tuple(checks)  # type: ignore[arg-type]
    return Plan(
        name=graph.name, nodes=nodes,
        roots=tuple([n.index for n in nodes if not n.in_edges]),
        settings=settings, inputs=MappingProxyType(dict(graph.inputs)),
        collects_results=collects, sinks=tuple([n.index for n in nodes if n.is_sink]),
        base_dir=base_dir, bodies=bodies)
