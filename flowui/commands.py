"""Every edit of the document is one of these undo commands, and only the editor makes them.

Each command names the graph it edits (None: the workflow, else a subgraph), as
orange-canvas-core's commands name their macro node. Constructors capture what undo
needs; `redo`/`undo` only call document methods, so undoing restores the document
exactly (node and wire order included: a removed item goes back to its index).
Typing into one config field merges into one command; a drag is one
MoveNodesCommand pushed on release.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtGui import QUndoCommand

from engine.workflow.model import Connection, InputSpec, NodeSpec, Settings, Subgraph
from flowui.document import GraphKey, WorkflowDocument

_MISSING = object()


def plural(n: int, noun: str) -> str:
    """`1 node`, `2 nodes`: how command names count things."""
    return f"{n} {noun}{'s' if n != 1 else ''}"


class GraphCommand(QUndoCommand):
    """A command that edits one graph of the document."""

    def __init__(self, doc: WorkflowDocument, graph: GraphKey, text: str) -> None:
        super().__init__(text)
        self.doc = doc
        self.graph = graph


class AddNodesCommand(GraphCommand):
    """Add nodes and the wires among/into them (a new node, a paste, a duplicate)."""

    def __init__(self, doc: WorkflowDocument, graph: GraphKey, nodes: Sequence[NodeSpec],
                 connections: Sequence[Connection] = (), text: str = "") -> None:
        n = len(nodes)
        super().__init__(doc, graph, text or (f"Add {nodes[0].title or nodes[0].type}" if n == 1
                                              else f"Add {n} nodes"))
        self.nodes = list(nodes)
        self.connections = list(connections)

    def redo(self) -> None:
        for spec in self.nodes:
            self.doc.insert_node(self.graph, spec)
        for c in self.connections:
            self.doc.insert_connection(self.graph, c)

    def undo(self) -> None:
        for c in reversed(self.connections):
            self.doc.remove_connection(self.graph, c.from_, c.to)
        for spec in reversed(self.nodes):
            self.doc.remove_node(self.graph, spec.id)


class RemoveItemsCommand(GraphCommand):
    """Delete nodes (with every wire touching them) and wires."""

    def __init__(self, doc: WorkflowDocument, graph: GraphKey, node_ids: Sequence[str],
                 connections: Sequence[tuple[str, str]] = (), text: str = "") -> None:
        ids = set(node_ids)
        conns = doc.connections(graph)
        wires = {(c.from_, c.to) for c in conns
                 if c.source[0] in ids or c.target[0] in ids} | set(connections)
        what = plural(len(ids), "node") if ids else plural(len(wires), "wire")
        super().__init__(doc, graph, text or ("Delete " + what if ids or wires else "Delete"))
        # Document order, so undo re-inserts each at its old index in ascending order.
        self.wires = [(i, c) for i, c in enumerate(conns) if (c.from_, c.to) in wires]
        self.nodes = [(i, n) for i, n in enumerate(doc.nodes(graph)) if n.id in ids]

    def redo(self) -> None:
        for _, c in reversed(self.wires):
            self.doc.remove_connection(self.graph, c.from_, c.to)
        for _, spec in reversed(self.nodes):
            self.doc.remove_node(self.graph, spec.id)

    def undo(self) -> None:
        for index, spec in self.nodes:
            self.doc.insert_node(self.graph, spec, index)
        for index, c in self.wires:
            self.doc.insert_connection(self.graph, c, index)


class MoveNodesCommand(GraphCommand):
    def __init__(self, doc: WorkflowDocument, graph: GraphKey,
                 moves: Mapping[str, tuple[tuple[float, float], tuple[float, float]]],
                 text: str = "") -> None:
        """`moves`: node id -> (old position, new position)."""
        super().__init__(doc, graph, text or f"Move {plural(len(moves), 'node')}")
        self.moves = dict(moves)

    def redo(self) -> None:
        for node_id, (_, new) in self.moves.items():
            self.doc.set_position(self.graph, node_id, new)

    def undo(self) -> None:
        for node_id, (old, _) in self.moves.items():
            self.doc.set_position(self.graph, node_id, old)


class ConnectCommand(GraphCommand):
    """Wire `source` to `target`; a single input's old wire is replaced (and restored on undo)."""

    def __init__(self, doc: WorkflowDocument, graph: GraphKey, source: str, target: str) -> None:
        super().__init__(doc, graph, f"Connect {source} → {target}")
        self.connection = Connection.model_validate({"from": source, "to": target})
        node_id, port = target.split(".", 1)
        spec = doc.port(graph, node_id, port, output=False)
        self.replaced: list[tuple[int, Connection]] = []
        if spec is not None and not spec.multiple:
            self.replaced = [(i, c) for i, c in enumerate(doc.connections(graph))
                             if c.to == target]

    def redo(self) -> None:
        for _, c in reversed(self.replaced):
            self.doc.remove_connection(self.graph, c.from_, c.to)
        self.doc.insert_connection(self.graph, self.connection)

    def undo(self) -> None:
        self.doc.remove_connection(self.graph, self.connection.from_, self.connection.to)
        for index, c in self.replaced:
            self.doc.insert_connection(self.graph, c, index)


class ReconnectCommand(GraphCommand):
    """Move one end of an existing wire (a wire's end dragged to another port)."""

    def __init__(self, doc: WorkflowDocument, graph: GraphKey, old: tuple[str, str],
                 new: tuple[str, str]) -> None:
        super().__init__(doc, graph, "Reconnect wire")
        self.old, self.new = old, new
        self.index = next(i for i, c in enumerate(doc.connections(graph))
                          if (c.from_, c.to) == old)

    def _swap(self, gone: tuple[str, str], back: tuple[str, str]) -> None:
        self.doc.remove_connection(self.graph, *gone)
        self.doc.insert_connection(
            self.graph, Connection.model_validate({"from": back[0], "to": back[1]}), self.index)

    def redo(self) -> None:
        self._swap(self.old, self.new)

    def undo(self) -> None:
        self._swap(self.new, self.old)


class SetNodeCommand(GraphCommand):
    """Change a node's spec: config fields, title, retry, timeout, on_error, disabled.

    Consecutive edits of the same field of the same node merge into one command,
    so typing a URL is one undo step, not one per key."""

    _MERGE_ID = 1001

    def __init__(self, doc: WorkflowDocument, graph: GraphKey, node_id: str, *, field: str,
                 value: Any, text: str = "") -> None:
        """`field` is a spec attribute (`title`, `retry`, ...) or `config.<name>`;
        `remove_config_key` makes the command that deletes a config key."""
        super().__init__(doc, graph, text or f"Change {node_id}: {field.removeprefix('config.')}")
        self.node_id, self.field = node_id, field
        self.before = doc.node(graph, node_id)
        self.after = _with_field(self.before, field, value)

    @classmethod
    def remove_config_key(cls, doc: WorkflowDocument, graph: GraphKey, node_id: str,
                          key: str) -> SetNodeCommand:
        return cls(doc, graph, node_id, field=f"config.{key}", value=_MISSING,
                   text=f"Reset {node_id}: {key}")

    def id(self) -> int:
        return self._MERGE_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetNodeCommand) or (other.graph, other.node_id, other.field) != (
                self.graph, self.node_id, self.field) or not self.field.startswith(
                    ("config.", "title")):
            return False
        self.after = other.after
        return True

    def redo(self) -> None:
        self.doc.replace_node(self.graph, self.after)

    def undo(self) -> None:
        self.doc.replace_node(self.graph, self.before)


def _with_field(spec: NodeSpec, field: str, value: Any) -> NodeSpec:
    if field.startswith("config."):
        key = field.removeprefix("config.")
        config = dict(spec.config)
        if value is _MISSING:
            config.pop(key, None)
        else:
            config[key] = value
        return spec.model_copy(update={"config": config})
    return NodeSpec.model_validate({**spec.model_dump(by_alias=True, exclude_unset=False),
                                    field: value})


class RenameNodeCommand(GraphCommand):
    """Change a node's id; the document rewrites the wires that name it in place."""

    def __init__(self, doc: WorkflowDocument, graph: GraphKey, old_id: str, new_id: str) -> None:
        super().__init__(doc, graph, f"Rename {old_id} to {new_id}")
        self.old_id, self.new_id = old_id, new_id

    def redo(self) -> None:
        self.doc.rename_node(self.graph, self.old_id, self.new_id)

    def undo(self) -> None:
        self.doc.rename_node(self.graph, self.new_id, self.old_id)


class SetInputsCommand(GraphCommand):
    def __init__(self, doc: WorkflowDocument, graph: GraphKey, inputs: Mapping[str, InputSpec],
                 text: str = "Change workflow inputs") -> None:
        super().__init__(doc, graph, text)
        self.before = dict(doc.graph(graph).inputs)
        self.after = dict(inputs)

    def redo(self) -> None:
        self.doc.set_inputs(self.graph, self.after)

    def undo(self) -> None:
        self.doc.set_inputs(self.graph, self.before)


class SetMetaCommand(GraphCommand):
    def __init__(self, doc: WorkflowDocument, graph: GraphKey, name: str,
                 description: str) -> None:
        super().__init__(doc, graph, "Change workflow name")
        target = doc.graph(graph)
        self.before = (target.name, target.description)
        self.after = (name, description)

    def redo(self) -> None:
        self.doc.set_meta(self.graph, *self.after)

    def undo(self) -> None:
        self.doc.set_meta(self.graph, *self.before)


class SetSettingsCommand(QUndoCommand):
    """The workflow's run settings (one set for the workflow and all its subgraphs)."""

    _MERGE_ID = 1002

    def __init__(self, doc: WorkflowDocument, settings: Settings,
                 text: str = "Change workflow settings") -> None:
        super().__init__(text)
        self.doc = doc
        self.before = doc.workflow.settings
        self.after = settings

    def id(self) -> int:
        return self._MERGE_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetSettingsCommand):
            return False
        self.after = other.after
        return True

    def redo(self) -> None:
        self.doc.set_settings(self.after)

    def undo(self) -> None:
        self.doc.set_settings(self.before)


class AddSubgraphCommand(QUndoCommand):
    """Create a subgraph (a body for loops and sub-workflows)."""

    def __init__(self, doc: WorkflowDocument, name: str, subgraph: Subgraph | None = None,
                 ) -> None:
        super().__init__(f"Add subgraph {name}")
        self.doc = doc
        self.name = name
        self.subgraph = subgraph or Subgraph()

    def redo(self) -> None:
        self.doc.add_subgraph(self.name, self.subgraph)

    def undo(self) -> None:
        self.doc.remove_subgraph(self.name)


class RemoveSubgraphCommand(QUndoCommand):
    def __init__(self, doc: WorkflowDocument, name: str) -> None:
        super().__init__(f"Delete subgraph {name}")
        self.doc = doc
        self.name = name
        self.index = list(doc.workflow.subgraphs).index(name)
        self.subgraph = doc.workflow.subgraphs[name]

    def redo(self) -> None:
        self.doc.remove_subgraph(self.name)

    def undo(self) -> None:
        self.doc.add_subgraph(self.name, self.subgraph, self.index)
