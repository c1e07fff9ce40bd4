"""The document: the workflow being edited, the single source of truth of the editor.

Only undo commands call its mutating methods; the canvas, inspector and palette
read it and follow its signals. Node specs are pydantic models of the engine,
replaced (never mutated) on each change, so a snapshot taken by a command stays
valid. Ports come from the registry, exactly as the engine computes them.

Every query, mutation and signal names its graph: a `GraphKey`, None for the
workflow itself, else the name of one of its subgraphs (the bodies of loops and
sub-workflows). Which graph is on the canvas is the editor's business, not this.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from engine.core.locate import locate
from engine.core.registry import Registry
from engine.core.sdk import ERROR_OUTPUT, Port, PortContext
from engine.errors import Problem
from engine.workflow import file as workflow_file
from engine.workflow.model import (
    Connection,
    Graph,
    InputSpec,
    NodeSpec,
    Settings,
    Subgraph,
    Workflow,
)
from engine.workflow.porttypes import can_connect

GraphKey = str | None  # None: the workflow; else the name of one of its subgraphs

Place = tuple[GraphKey, str]  # where a node is: its graph and its id there

_ID_TAIL = re.compile(r"^(.*?)(\d+)$")


class WorkflowDocument(QObject):
    node_added = Signal(object, str)  # graph key, node id
    node_removed = Signal(object, str)
    node_changed = Signal(object, str)  # config, title, policies: ports may have changed too
    node_moved = Signal(object, str)
    node_renamed = Signal(object, str, str)  # graph key, old id, new id
    connection_added = Signal(object, str, str)  # graph key, "node.port" endpoints
    connection_removed = Signal(object, str, str)
    graph_changed = Signal(object)  # a graph's name, description or inputs
    settings_changed = Signal()  # the workflow's run settings (they cover every graph)
    subgraph_added = Signal(str)
    subgraph_removed = Signal(str)
    decor_changed = Signal(object)  # graph key: its `ui` (groups, sticky notes) was replaced
    # Before a graph's nodes, wires or (for a subgraph) properties change: the editor
    # brings that graph to the canvas, so undo shows what it changes.
    graph_about_to_change = Signal(object)
    reset = Signal()  # a different workflow was loaded

    def __init__(self, registry: Registry, workflow: Workflow | None = None,
                 path: Path | None = None) -> None:
        super().__init__()
        self.registry = registry
        self.workflow = workflow or Workflow()
        self.path = path
        # node id -> position in its graph's list, per graph, built when first asked for
        self._indexes: dict[GraphKey, dict[str, int]] = {}

    # --- whole document -----------------------------------------------------------------

    def load(self, workflow: Workflow, path: Path | None) -> None:
        self.workflow = workflow
        self.path = path
        self._indexes.clear()
        self.reset.emit()

    def snapshot(self) -> str:
        """The document as the file it would be saved to."""
        return workflow_file.dumps(self.workflow)

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    # --- graphs ------------------------------------------------------------------------------

    def graph(self, key: GraphKey) -> Graph:
        """The workflow (None) or one of its subgraphs; KeyError for a name that is not one."""
        if key is None:
            return self.workflow
        return self.workflow.subgraphs[key]

    def has_graph(self, key: GraphKey) -> bool:
        return key is None or key in self.workflow.subgraphs

    def unique_subgraph_name(self, base: str) -> str:
        name, n = base, 2
        while name in self.workflow.subgraphs:
            name, n = f"{base}{n}", n + 1
        return name

    def locate(self, where: Problem | str) -> Place | None:
        """The graph and node id that a validation problem, or a node path from an event
        (`loop1/inc`: node `inc` of the body node `loop1` runs), is about; None when it is
        about no node of this document (any more)."""
        if isinstance(where, Problem):
            local = where.local_id
            if local is None or not self.has_graph(where.graph):
                return None
            place: Place | None = (where.graph, local)
        else:
            place = locate(self.workflow, self.registry, where)
        if place is None or not self.has_node(*place):
            return None
        return place

    # --- queries ---------------------------------------------------------------------------

    def nodes(self, graph: GraphKey) -> list[NodeSpec]:
        return self.graph(graph).nodes

    def node(self, graph: GraphKey, node_id: str) -> NodeSpec:
        return self.graph(graph).nodes[self.node_index(graph, node_id)]

    def has_node(self, graph: GraphKey, node_id: str) -> bool:
        return self.has_graph(graph) and node_id in self._index(graph)

    def node_index(self, graph: GraphKey, node_id: str) -> int:
        return self._index(graph)[node_id]

    def _index(self, graph: GraphKey) -> dict[str, int]:
        # An index, not a scan: building a 5,000-node scene asks for every node a few times.
        index = self._indexes.get(graph)
        if index is None:
            index = self._indexes[graph] = {n.id: i for i, n in enumerate(self.nodes(graph))}
        return index

    def connections(self, graph: GraphKey) -> list[Connection]:
        return self.graph(graph).connections

    def connections_into(self, graph: GraphKey, node_id: str, port: str) -> list[Connection]:
        return [c for c in self.connections(graph) if c.target == (node_id, port)]

    def ports(self, graph: GraphKey, node_id: str) -> tuple[tuple[Port, ...], tuple[Port, ...]]:
        """(inputs, outputs) of a node, the error output last; unknown types have none."""
        spec = self.node(graph, node_id)
        cls = self.registry.get(spec.type)
        if cls is None:
            return (), ()
        try:
            context = PortContext(self.workflow, self.base_dir, self.registry)
            inputs, outputs = cls.ports(spec.config, context)
        except Exception:  # a half-typed config must not break drawing; validation reports it
            inputs, outputs = cls.inputs, cls.outputs
        return tuple(inputs), (*outputs, ERROR_OUTPUT)

    def port(self, graph: GraphKey, node_id: str, name: str, *, output: bool) -> Port | None:
        inputs, outputs = self.ports(graph, node_id)
        return next((p for p in (outputs if output else inputs) if p.name == name), None)

    def check_connection(self, graph: GraphKey, source: str, target: str) -> str | None:
        """Why the wire `source` -> `target` ("node.port") cannot exist, or None if it can."""
        (src_id, src_port), (dst_id, dst_port) = source.split(".", 1), target.split(".", 1)
        if src_id == dst_id:
            return "a node cannot be wired to itself"
        out = self.port(graph, src_id, src_port, output=True) \
            if self.has_node(graph, src_id) else None
        inp = self.port(graph, dst_id, dst_port, output=False) \
            if self.has_node(graph, dst_id) else None
        if out is None or inp is None:
            return "no such port"
        if not can_connect(out.type, inp.type):
            return f"type mismatch: {out.type} output cannot feed {inp.type} input"
        if any(c.from_ == source and c.to == target for c in self.connections(graph)):
            return "these ports are already wired"
        if self.reaches(graph, dst_id, src_id):
            return f"it would close a cycle ({src_id} already depends on {dst_id})"
        return None

    def reaches(self, graph: GraphKey, start: str, goal: str) -> bool:
        """Whether `goal` is downstream of `start` (or is it)."""
        succ: dict[str, list[str]] = {}
        for c in self.connections(graph):
            succ.setdefault(c.source[0], []).append(c.target[0])
        stack, seen = [start], {start}
        while stack:
            n = stack.pop()
            if n == goal:
                return True
            for m in succ.get(n, ()):
                if m not in seen:
                    seen.add(m)
                    stack.append(m)
        return False

    def unique_id(self, graph: GraphKey, base: str, taken: Iterable[str] = ()) -> str:
        """A node id not used in `graph` yet: `base`, else `base2`, `base3`..."""
        used = set(self._index(graph)) | set(taken)
        base = re.sub(r"[^A-Za-z0-9_-]", "_", base) or "node"
        if not re.match(r"[A-Za-z_]", base):
            base = f"n_{base}"
        if base not in used:
            return base
        m = _ID_TAIL.match(base)
        stem, n = (m.group(1), int(m.group(2))) if m else (base, 1)
        while f"{stem}{n}" in used or (n == 1 and not m):
            n += 1
        return f"{stem}{n}"

    # --- mutations (undo commands only) ------------------------------------------------------

    def insert_node(self, graph: GraphKey, spec: NodeSpec, index: int | None = None) -> None:
        self.graph_about_to_change.emit(graph)
        nodes = self.nodes(graph)
        nodes.insert(len(nodes) if index is None else index, spec)
        if index is None and graph in self._indexes:
            self._indexes[graph][spec.id] = len(nodes) - 1  # appended: the others keep places
        else:
            self._indexes.pop(graph, None)
        self.node_added.emit(graph, spec.id)

    def remove_node(self, graph: GraphKey, node_id: str) -> tuple[NodeSpec, int]:
        """Remove a node (its wires must be gone already); returns it and its index."""
        self.graph_about_to_change.emit(graph)
        index = self.node_index(graph, node_id)
        spec = self.nodes(graph).pop(index)
        self._indexes.pop(graph, None)
        self.node_removed.emit(graph, node_id)
        return spec, index

    def replace_node(self, graph: GraphKey, spec: NodeSpec) -> None:
        self.graph_about_to_change.emit(graph)
        self.nodes(graph)[self.node_index(graph, spec.id)] = spec
        self.node_changed.emit(graph, spec.id)

    def set_position(self, graph: GraphKey, node_id: str, position: tuple[float, float]) -> None:
        self.graph_about_to_change.emit(graph)
        index = self.node_index(graph, node_id)
        nodes = self.nodes(graph)
        nodes[index] = nodes[index].model_copy(update={"position": position})
        self.node_moved.emit(graph, node_id)

    def rename_node(self, graph: GraphKey, old_id: str, new_id: str) -> None:
        """Give a node another id; the wires naming it are rewritten where they are."""
        self.graph_about_to_change.emit(graph)
        index = self.node_index(graph, old_id)
        nodes, conns = self.nodes(graph), self.connections(graph)
        nodes[index] = nodes[index].model_copy(update={"id": new_id})
        ids = self._index(graph)
        del ids[old_id]
        ids[new_id] = index

        def renamed(endpoint: str) -> str:
            node, port = endpoint.split(".", 1)
            return f"{new_id}.{port}" if node == old_id else endpoint

        for i, c in enumerate(conns):
            if old_id in (c.source[0], c.target[0]):
                conns[i] = Connection.model_validate({"from": renamed(c.from_),
                                                      "to": renamed(c.to)})
        self.node_renamed.emit(graph, old_id, new_id)

    def insert_connection(self, graph: GraphKey, connection: Connection,
                          index: int | None = None) -> None:
        self.graph_about_to_change.emit(graph)
        conns = self.connections(graph)
        conns.insert(len(conns) if index is None else index, connection)
        self.connection_added.emit(graph, connection.from_, connection.to)

    def remove_connection(self, graph: GraphKey, source: str, target: str,
                          ) -> tuple[Connection, int]:
        self.graph_about_to_change.emit(graph)
        conns = self.connections(graph)
        for i, c in enumerate(conns):
            if c.from_ == source and c.to == target:
                del conns[i]
                self.connection_removed.emit(graph, source, target)
                return c, i
        raise KeyError(f"{source} -> {target}")

    def set_inputs(self, graph: GraphKey, inputs: dict[str, InputSpec]) -> None:
        """A graph's declared inputs (a body's are its caller's ports)."""
        self._about_to_change_properties(graph)
        self.graph(graph).inputs = dict(inputs)
        self.graph_changed.emit(graph)

    def set_meta(self, graph: GraphKey, name: str, description: str) -> None:
        self._about_to_change_properties(graph)
        target = self.graph(graph)
        target.name = name
        target.description = description
        self.graph_changed.emit(graph)

    def _about_to_change_properties(self, graph: GraphKey) -> None:
        # The workflow's own name, description and inputs (like its settings) are
        # workflow-level: changing them takes no one to another graph.
        if graph is not None:
            self.graph_about_to_change.emit(graph)

    def ui(self, graph: GraphKey) -> Any:
        """A graph's view-only `ui` as stored (flowui.decor reads it); None when a
        subgraph has none (the workflow always has one)."""
        if graph is None:
            return self.workflow.ui
        return (self.workflow.subgraphs[graph].model_extra or {}).get("ui")

    def set_ui(self, graph: GraphKey, ui: Any) -> None:
        """Replace a graph's `ui` (None: a subgraph's is removed, as it was never there)."""
        self.graph_about_to_change.emit(graph)
        if graph is None:
            self.workflow.ui = ui
        else:
            extra = self.workflow.subgraphs[graph].model_extra
            assert extra is not None  # subgraphs keep unknown keys (extra="allow")
            if ui is None:
                extra.pop("ui", None)
            else:
                extra["ui"] = ui  # in place: a key already there keeps its place in the file
        self.decor_changed.emit(graph)

    def set_settings(self, settings: Settings) -> None:
        self.workflow.settings = settings
        self.settings_changed.emit()

    def add_subgraph(self, name: str, subgraph: Subgraph, index: int | None = None) -> None:
        items = list(self.workflow.subgraphs.items())
        items.insert(len(items) if index is None else index, (name, subgraph))
        self.workflow.subgraphs = dict(items)
        self.subgraph_added.emit(name)

    def remove_subgraph(self, name: str) -> tuple[Subgraph, int]:
        index = list(self.workflow.subgraphs).index(name)
        subgraph = self.workflow.subgraphs.pop(name)
        self._indexes.pop(name, None)
        self.subgraph_removed.emit(name)
        return subgraph, index
