"""The document: the workflow being edited, the single source of truth of the editor.

Only undo commands call its mutating methods; the canvas, inspector and palette
read it and follow its signals. Node specs are pydantic models of the engine,
replaced (never mutated) on each change, so a snapshot taken by a command stays
valid. Ports come from the registry, exactly as the engine computes them.

The canvas shows one graph at a time: the workflow itself or one of its subgraphs
(the bodies of loops and sub-workflows). Node and wire queries and mutations act
on that *current graph*; `show_graph` switches it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from engine.core.registry import Registry
from engine.core.sdk import ERROR_OUTPUT, Port, PortContext
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

_ID_TAIL = re.compile(r"^(.*?)(\d+)$")


class WorkflowDocument(QObject):
    node_added = Signal(str)
    node_removed = Signal(str)
    node_changed = Signal(str)  # config, title, policies: ports may have changed too
    node_moved = Signal(str)
    node_renamed = Signal(str, str)  # old id, new id (after node_removed/node_added)
    connection_added = Signal(str, str)  # "node.port" endpoints
    connection_removed = Signal(str, str)
    workflow_changed = Signal()  # inputs, settings, name, description
    reset = Signal()  # a different workflow was loaded, or another graph shown
    graph_shown = Signal(object)  # the subgraph name now shown, None for the workflow
    subgraphs_changed = Signal()  # a subgraph was added or removed

    def __init__(self, registry: Registry, workflow: Workflow | None = None,
                 path: Path | None = None) -> None:
        super().__init__()
        self.registry = registry
        self.workflow = workflow or Workflow()
        self.path = path
        self.graph_key: str | None = None  # the subgraph shown; None: the workflow itself
        self._index: dict[str, int] | None = None  # node id -> position in the list

    # --- whole document -----------------------------------------------------------------

    def load(self, workflow: Workflow, path: Path | None) -> None:
        self.workflow = workflow
        self.path = path
        self.graph_key = None
        self._index = None
        self.graph_shown.emit(None)
        self.reset.emit()

    @property
    def graph(self) -> Graph:
        """The graph on the canvas: the workflow, or the subgraph being edited."""
        if self.graph_key is None:
            return self.workflow
        return self.workflow.subgraphs[self.graph_key]

    def show_graph(self, key: str | None) -> None:
        """Put the workflow (None) or a subgraph on the canvas."""
        if key == self.graph_key:
            return
        if key is not None and key not in self.workflow.subgraphs:
            raise KeyError(f"there is no subgraph {key!r}")
        self.graph_key = key
        self._index = None
        self.graph_shown.emit(key)
        self.reset.emit()

    def snapshot(self) -> str:
        """The document as the file it would be saved to."""
        return workflow_file.dumps(self.workflow)

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    # --- queries ---------------------------------------------------------------------------

    def nodes(self) -> list[NodeSpec]:
        return self.graph.nodes

    def node(self, node_id: str) -> NodeSpec:
        return self.graph.nodes[self.node_index(node_id)]

    def has_node(self, node_id: str) -> bool:
        if self._index is None:
            self._reindex()
        assert self._index is not None
        return node_id in self._index

    def node_index(self, node_id: str) -> int:
        # An index, not a scan: building a 5,000-node scene asks for every node a few times.
        if self._index is None:
            self._reindex()
        assert self._index is not None
        return self._index[node_id]

    def _reindex(self) -> None:
        self._index = {n.id: i for i, n in enumerate(self.graph.nodes)}

    def connections(self) -> list[Connection]:
        return self.graph.connections

    def connections_into(self, node_id: str, port: str) -> list[Connection]:
        return [c for c in self.graph.connections if c.target == (node_id, port)]

    def ports(self, node_id: str) -> tuple[tuple[Port, ...], tuple[Port, ...]]:
        """(inputs, outputs) of a node, the error output last; unknown types have none."""
        spec = self.node(node_id)
        cls = self.registry.get(spec.type)
        if cls is None:
            return (), ()
        try:
            context = PortContext(self.workflow, self.base_dir, self.registry)
            inputs, outputs = cls.ports(spec.config, context)
        except Exception:  # a half-typed config must not break drawing; validation reports it
            inputs, outputs = cls.inputs, cls.outputs
        return tuple(inputs), (*outputs, ERROR_OUTPUT)

    def port(self, node_id: str, name: str, *, output: bool) -> Port | None:
        inputs, outputs = self.ports(node_id)
        return next((p for p in (outputs if output else inputs) if p.name == name), None)

    def check_connection(self, source: str, target: str) -> str | None:
        """Why the wire `source` -> `target` ("node.port") cannot exist, or None if it can."""
        (src_id, src_port), (dst_id, dst_port) = source.split(".", 1), target.split(".", 1)
        if src_id == dst_id:
            return "a node cannot be wired to itself"
        out = self.port(src_id, src_port, output=True) if self.has_node(src_id) else None
        inp = self.port(dst_id, dst_port, output=False) if self.has_node(dst_id) else None
        if out is None or inp is None:
            return "no such port"
        if not can_connect(out.type, inp.type):
            return f"type mismatch: {out.type} output cannot feed {inp.type} input"
        if any(c.from_ == source and c.to == target for c in self.graph.connections):
            return "these ports are already wired"
        if self.reaches(dst_id, src_id):
            return f"it would close a cycle ({src_id} already depends on {dst_id})"
        return None

    def reaches(self, start: str, goal: str) -> bool:
        """Whether `goal` is downstream of `start` (or is it)."""
        succ: dict[str, list[str]] = {}
        for c in self.graph.connections:
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

    def unique_id(self, base: str, taken: Iterable[str] = ()) -> str:
        """A node id not used yet: `base`, else `base2`, `base3`..."""
        used = {n.id for n in self.graph.nodes} | set(taken)
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

    def insert_node(self, spec: NodeSpec, index: int | None = None) -> None:
        nodes = self.graph.nodes
        nodes.insert(len(nodes) if index is None else index, spec)
        if index is None and self._index is not None:
            self._index[spec.id] = len(nodes) - 1  # appended: the others keep their places
        else:
            self._index = None
        self.node_added.emit(spec.id)

    def remove_node(self, node_id: str) -> tuple[NodeSpec, int]:
        """Remove a node (its wires must be gone already); returns it and its index."""
        index = self.node_index(node_id)
        spec = self.graph.nodes.pop(index)
        self._index = None
        self.node_removed.emit(node_id)
        return spec, index

    def replace_node(self, spec: NodeSpec) -> None:
        self.graph.nodes[self.node_index(spec.id)] = spec
        self.node_changed.emit(spec.id)

    def set_position(self, node_id: str, position: tuple[float, float]) -> None:
        index = self.node_index(node_id)
        nodes = self.graph.nodes
        nodes[index] = nodes[index].model_copy(update={"position": position})
        self.node_moved.emit(node_id)

    def insert_connection(self, connection: Connection, index: int | None = None) -> None:
        conns = self.graph.connections
        conns.insert(len(conns) if index is None else index, connection)
        self.connection_added.emit(connection.from_, connection.to)

    def remove_connection(self, source: str, target: str) -> tuple[Connection, int]:
        conns = self.graph.connections
        for i, c in enumerate(conns):
            if c.from_ == source and c.to == target:
                del conns[i]
                self.connection_removed.emit(source, target)
                return c, i
        raise KeyError(f"{source} -> {target}")

    def renamed(self, old_id: str, new_id: str) -> None:
        """Tell followers that the node just removed and re-added is one node renamed."""
        self.node_renamed.emit(old_id, new_id)

    def set_inputs(self, inputs: dict[str, InputSpec]) -> None:
        """The current graph's declared inputs (a body's are its caller's ports)."""
        self.graph.inputs = dict(inputs)
        self.workflow_changed.emit()

    def set_settings(self, settings: Settings) -> None:
        self.workflow.settings = settings
        self.workflow_changed.emit()

    def set_meta(self, name: str, description: str) -> None:
        self.graph.name = name
        self.graph.description = description
        self.workflow_changed.emit()

    def add_subgraph(self, name: str, subgraph: Subgraph, index: int | None = None) -> None:
        items = list(self.workflow.subgraphs.items())
        items.insert(len(items) if index is None else index, (name, subgraph))
        self.workflow.subgraphs = dict(items)
        self.subgraphs_changed.emit()

    def remove_subgraph(self, name: str) -> tuple[Subgraph, int]:
        """Remove a subgraph (showing the workflow first if it was on the canvas)."""
        if self.graph_key == name:
            self.show_graph(None)
        index = list(self.workflow.subgraphs).index(name)
        subgraph = self.workflow.subgraphs.pop(name)
        self.subgraphs_changed.emit()
        return subgraph, index
