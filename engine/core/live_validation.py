"""Validation that follows a workflow being edited, re-checking only what an edit
touched: the editor says what changed, and `problems()` answers with the problems a
full `validate()` would find (tests/engine/test_live_validation.py checks that on
random edit sequences), in well under a millisecond for a config edit in a graph of
thousands of nodes instead of a full pass over all of them.

What depends on what (the rules themselves are engine.core.validation's):

- a node's own problems depend on its spec; for types with their own `check` or
  config-dependent ports, also on the rest of its graph (two webhooks on one path,
  a flow.input and the graph's inputs) and, for types that look at bodies, on every
  subgraph: those are re-checked whenever their graph (or any subgraph) changes;
- a wire's verdict depends on the checks of its two nodes (kept per wire with the
  checks it was made from);
- required inputs and one-wire-per-input depend on a node's check and its wires;
- duplicate ids depend on the node list, cycles on the wires: both are worked out
  again only when those change.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.core.registry import Registry
from engine.core.validation import (
    NodeCheck,
    NodeChecker,
    TypeInfo,
    check_wire,
    cycle_problems,
    default_problems,
    duplicate_id_problem,
    in_subgraph,
    input_taken_problem,
    missing_inputs,
)
from engine.errors import Problem
from engine.workflow.model import Graph, Workflow

if TYPE_CHECKING:
    from engine.templates.engine import TemplateEngine

GraphKey = str | None  # a subgraph's name; None: the workflow itself
_Wire = tuple[str, str]  # (source "node.port", target "node.port")


def _node(endpoint: str) -> str:
    return endpoint.split(".", 1)[0]


class _GraphState:
    """What is known about one graph. Sets of stale things say what the next
    `problems()` must work out again; `result` is the answer while nothing changed."""

    def __init__(self) -> None:
        self.index: dict[str, int] | None = None  # node id -> position; None: rebuild
        self.duplicates: list[Problem] = []
        self.checks: dict[str, NodeCheck] = {}
        # nodes whose problems may depend on more than their own spec
        self.dependents: dict[str, TypeInfo] = {}
        self.stale: set[str] = set()  # node ids to check again
        self.wiring_stale = True  # wires changed: incidence, every verdict, cycles
        self.touched: set[str] = set()  # nodes whose wires and inputs to judge again
        self.incident: dict[str, list[_Wire]] = {}  # node id -> its wires, in order
        self.verdicts: dict[_Wire, tuple[NodeCheck | None, NodeCheck | None, Any]] = {}
        self.wire_problems: dict[_Wire, Problem] = {}
        self.wire_counts: dict[_Wire, int] = {}  # a wire may be in the file twice
        self.node_wiring: dict[str, list[Problem]] = {}  # required inputs, input taken
        self.flagged: set[str] = set()  # nodes with any problem of their own
        self.cycles: list[Problem] = []
        self.result: list[Problem] | None = None


class LiveValidation:
    """The problems of one workflow (and its subgraphs) as it is being edited."""

    def __init__(self, workflow: Workflow, registry: Registry, *, base_dir: Path,
                 templates: TemplateEngine | None = None) -> None:
        self.registry = registry
        self.base_dir = base_dir
        self._templates = templates
        self.reset(workflow)

    # --- what changed ----------------------------------------------------------------

    def reset(self, workflow: Workflow, *, base_dir: Path | None = None) -> None:
        """Another workflow (or the same one reloaded): everything is checked again."""
        self.workflow = workflow
        if base_dir is not None:
            self.base_dir = base_dir
        self.checker = NodeChecker(workflow, self.registry, base_dir=self.base_dir,
                                   templates=self._templates)
        self._graphs: dict[GraphKey, _GraphState] = {}

    def node_changed(self, graph: GraphKey, node_id: str) -> None:
        """A node was added, or its spec (config, policies, title...) was replaced."""
        state = self._state(graph)
        if state.index is not None and node_id not in state.index:
            state.index = None  # a new node
        state.stale.add(node_id)
        self._dependents_stale(graph)

    def node_removed(self, graph: GraphKey, node_id: str) -> None:
        state = self._state(graph)
        state.index = None
        state.wiring_stale = True  # its wires went with it
        self._dependents_stale(graph)

    def node_renamed(self, graph: GraphKey, old_id: str, new_id: str) -> None:
        self.node_removed(graph, old_id)
        self.node_changed(graph, new_id)

    def wires_changed(self, graph: GraphKey) -> None:
        """A connection was added, removed or moved."""
        self._state(graph).wiring_stale = True

    def graph_changed(self, graph: GraphKey) -> None:
        """A graph's own properties changed (its declared inputs, its name)."""
        self._state(graph)
        self._dependents_stale(graph)

    def subgraphs_changed(self) -> None:
        """A subgraph was added or removed."""
        for key in [k for k in self._graphs
                    if k is not None and k not in self.workflow.subgraphs]:
            del self._graphs[key]
        self._dependents_stale(None, everywhere=True)

    def everything_changed(self) -> None:
        """Check every node and wire again (files on disk may have changed)."""
        self.reset(self.workflow)

    # --- the answer --------------------------------------------------------------------

    def problems(self) -> list[Problem]:
        """Every problem of the workflow and its subgraphs, as `validate()` finds them
        (a subgraph's nodes as `subgraph/node`, with `Problem.graph` set)."""
        found: list[Problem] = []
        for key, graph in self._all_graphs():
            state = self._graphs.get(key)
            if state is None:
                state = self._graphs[key] = _GraphState()
            if state.result is None:
                local = self._graph_problems(state, graph)
                state.result = local if key is None else [in_subgraph(key, p) for p in local]
            found += state.result
        return found

    # --- inside ----------------------------------------------------------------------------

    def _all_graphs(self) -> Iterable[tuple[GraphKey, Graph]]:
        yield None, self.workflow
        yield from self.workflow.subgraphs.items()

    def _state(self, graph: GraphKey) -> _GraphState:
        state = self._graphs.get(graph)
        if state is None:
            state = self._graphs[graph] = _GraphState()
        state.result = None
        return state

    def _dependents_stale(self, graph: GraphKey, *, everywhere: bool = False) -> None:
        """Nodes whose checks may look beyond their own spec: in `graph`, those with a
        check or ports of their own; in every graph, those that look at bodies or take
        their ports from one, when a subgraph (or the set of them) changed."""
        bodies = graph is not None or everywhere
        for key, state in self._graphs.items():
            for node_id, info in state.dependents.items():
                if key == graph or (bodies and (info.context_check or info.custom_ports)):
                    state.stale.add(node_id)
                    state.result = None

    def _graph_problems(self, state: _GraphState, graph: Graph) -> list[Problem]:
        if state.index is None:
            self._reindex(state, graph)
        if state.stale:
            self._recheck(state, graph)
        if state.wiring_stale:
            self._rewire(state, graph)
        elif state.touched:
            self._rewire_nodes(state)
        state.touched = set()
        found: list[Problem] = list(state.duplicates)
        assert state.index is not None
        for node_id in sorted(state.flagged, key=state.index.__getitem__):
            found += state.checks[node_id].problems
            found += state.node_wiring.get(node_id, ())
        for wire, problem in state.wire_problems.items():
            found += [problem] * state.wire_counts[wire]
        found += state.cycles
        found += default_problems(graph)
        return found

    def _reindex(self, state: _GraphState, graph: Graph) -> None:
        index: dict[str, int] = {}
        duplicates = []
        for i, spec in enumerate(graph.nodes):
            if spec.id in index:
                duplicates.append(duplicate_id_problem(spec.id))
            else:
                index[spec.id] = i
        state.index = index
        state.duplicates = duplicates
        for gone in set(state.checks) - index.keys():
            for table in (state.checks, state.dependents, state.node_wiring):
                table.pop(gone, None)
            state.flagged.discard(gone)
        state.stale |= index.keys() - state.checks.keys()

    def _recheck(self, state: _GraphState, graph: Graph) -> None:
        index = state.index
        assert index is not None
        fill = self.checker.fill
        for node_id in state.stale & index.keys():
            found = NodeCheck(graph.nodes[index[node_id]])
            fill(found, graph)
            state.checks[node_id] = found
            info = found.info
            if info is not None and info.depends_on_workflow:
                state.dependents[node_id] = info
            else:
                state.dependents.pop(node_id, None)
            state.touched.add(node_id)
        state.stale = set()

    def _rewire(self, state: _GraphState, graph: Graph) -> None:
        """Wires changed: judge every wire (keeping verdicts whose nodes' checks are
        unchanged), then every node's inputs, then the cycles."""
        incident: dict[str, list[_Wire]] = {}
        wires: list[_Wire] = []
        for c in graph.connections:
            wire = (c.from_, c.to)
            wires.append(wire)
            source, target = _node(wire[0]), _node(wire[1])
            incident.setdefault(source, []).append(wire)
            if target != source:
                incident.setdefault(target, []).append(wire)
        state.incident = incident
        counts: dict[_Wire, int] = {}
        for wire in wires:
            counts[wire] = counts.get(wire, 0) + 1
        state.wire_counts = counts
        state.verdicts = {w: v for w, v in state.verdicts.items() if w in counts}
        state.wire_problems = {}
        for wire in wires:
            self._judge(state, wire)
        self._inputs_of(state, state.checks)
        assert state.index is not None
        ids = list(state.index)  # in node order, as the compiler names cycles
        position = {node_id: i for i, node_id in enumerate(ids)}
        successors: list[list[int]] = [[] for _ in ids]
        for source, target in wires:
            a, b = position.get(_node(source)), position.get(_node(target))
            if a is not None and b is not None:
                successors[a].append(b)
        state.cycles = cycle_problems(ids, successors)
        state.wiring_stale = False

    def _rewire_nodes(self, state: _GraphState) -> None:
        """Only some nodes' checks changed: judge their wires again, and the inputs of
        the nodes those wires lead to."""
        inputs_of = set(state.touched)
        for node_id in state.touched:
            for wire in state.incident.get(node_id, ()):
                self._judge(state, wire)
                inputs_of.add(_node(wire[1]))
        self._inputs_of(state, inputs_of)

    def _judge(self, state: _GraphState, wire: _Wire) -> None:
        source, target = wire
        src_id, src_port = source.split(".", 1)
        dst_id, dst_port = target.split(".", 1)
        src, dst = state.checks.get(src_id), state.checks.get(dst_id)
        known = state.verdicts.get(wire)
        if known is not None and known[0] is src and known[1] is dst:
            verdict = known[2]
        else:
            verdict = check_wire(source, target, src_id, src_port, dst_id, dst_port, src, dst)
            state.verdicts[wire] = (src, dst, verdict)
        if isinstance(verdict, Problem):
            state.wire_problems[wire] = verdict
        else:
            state.wire_problems.pop(wire, None)

    def _inputs_of(self, state: _GraphState, node_ids: Iterable[str]) -> None:
        """Required inputs and one-wire-per-input of these nodes, from their sound
        wires in connection order; and whether each node now has any problem."""
        for node_id in node_ids:
            found = state.checks.get(node_id)
            if found is None:
                continue
            problems: list[Problem] = []
            if found.ports is not None:
                wired: dict[str, list[str]] = {}
                for wire in state.incident.get(node_id, ()):
                    dst_id, dst_port = wire[1].split(".", 1)
                    verdict = state.verdicts[wire][2]
                    if dst_id == node_id and isinstance(verdict, tuple):
                        wired.setdefault(dst_port, []).append(wire[0])
                for port, sources in wired.items():
                    if len(sources) > 1 and not found.ports.by_name[port].multiple:
                        problems.append(input_taken_problem(node_id, port, sources[:2]))
                problems += missing_inputs(found, wired)
            state.node_wiring[node_id] = problems
            if problems or found.problems:
                state.flagged.add(node_id)
            else:
                state.flagged.discard(node_id)
