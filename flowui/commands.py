"""Every edit of the document is one of these undo commands.

Constructors capture what undo needs; `redo`/`undo` only call document methods,
so undoing restores the document exactly (node and wire order included: a
removed item goes back to its index). Typing into one config field merges into
one command; a drag is one MoveNodesCommand pushed on release.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtGui import QUndoCommand

from engine.workflow.model import Connection, InputSpec, NodeSpec, Settings, Subgraph
from flowui.document import WorkflowDocument

_MISSING = object()


class _Command(QUndoCommand):
    """Remembers which graph (workflow or subgraph) it edits, and shows that graph
    before redoing or undoing: undo takes the user to what it changes."""

    def __init__(self, doc: WorkflowDocument, text: str) -> None:
        super().__init__(text)
        self.doc = doc
        self.graph_key = doc.graph_key

    def redo(self) -> None:
        self.doc.show_graph(self.graph_key)
        self._redo()

    def undo(self) -> None:
        self.doc.show_graph(self.graph_key)
        self._undo()

    def _redo(self) -> None:
        raise NotImplementedError

    def _undo(self) -> None:
        raise NotImplementedError


class AddNodesCommand(_Command):
    """Add nodes and the wires among/into them (a new node, a paste, a duplicate)."""

    def __init__(self, doc: WorkflowDocument, nodes: Sequence[NodeSpec],
                 connections: Sequence[Connection] = (), text: str = "") -> None:
        n = len(nodes)
        super().__init__(doc, text or (f"Add {nodes[0].title or nodes[0].type}" if n == 1
                                       else f"Add {n} nodes"))
        self.nodes = list(nodes)
        self.connections = list(connections)

    def _redo(self) -> None:
        for spec in self.nodes:
            self.doc.insert_node(spec)
        for c in self.connections:
            self.doc.insert_connection(c)

    def _undo(self) -> None:
        for c in reversed(self.connections):
            self.doc.remove_connection(c.from_, c.to)
        for spec in reversed(self.nodes):
            self.doc.remove_node(spec.id)


class RemoveItemsCommand(_Command):
    """Delete nodes (with every wire touching them) and wires."""

    def __init__(self, doc: WorkflowDocument, node_ids: Sequence[str],
                 connections: Sequence[tuple[str, str]] = ()) -> None:
        ids = set(node_ids)
        wires = {(c.from_, c.to) for c in doc.connections()
                 if c.source[0] in ids or c.target[0] in ids} | set(connections)
        n = len(ids) + len(wires)
        super().__init__(doc, "Delete " + (
            f"{len(ids)} node{'s' if len(ids) != 1 else ''}" if ids else
            f"{len(wires)} wire{'s' if len(wires) != 1 else ''}") if n else "Delete")
        # Document order, so undo re-inserts each at its old index in ascending order.
        self.wires = [(i, c) for i, c in enumerate(doc.connections()) if (c.from_, c.to) in wires]
        self.nodes = [(i, n) for i, n in enumerate(doc.nodes()) if n.id in ids]

    def _redo(self) -> None:
        for _, c in reversed(self.wires):
            self.doc.remove_connection(c.from_, c.to)
        for _, spec in reversed(self.nodes):
            self.doc.remove_node(spec.id)

    def _undo(self) -> None:
        for index, spec in self.nodes:
            self.doc.insert_node(spec, index)
        for index, c in self.wires:
            self.doc.insert_connection(c, index)


class MoveNodesCommand(_Command):
    def __init__(self, doc: WorkflowDocument,
                 moves: Mapping[str, tuple[tuple[float, float], tuple[float, float]]]) -> None:
        """`moves`: node id -> (old position, new position)."""
        super().__init__(doc, f"Move {len(moves)} node{'s' if len(moves) != 1 else ''}")
        self.moves = dict(moves)

    def _redo(self) -> None:
        for node_id, (_, new) in self.moves.items():
            self.doc.set_position(node_id, new)

    def _undo(self) -> None:
        for node_id, (old, _) in self.moves.items():
            self.doc.set_position(node_id, old)


class ConnectCommand(_Command):
    """Wire `source` to `target`; a single input's old wire is replaced (and restored on undo)."""

    def __init__(self, doc: WorkflowDocument, source: str, target: str) -> None:
        super().__init__(doc, f"Connect {source} → {target}")
        self.connection = Connection.model_validate({"from": source, "to": target})
        node_id, port = target.split(".", 1)
        spec = doc.port(node_id, port, output=False)
        self.replaced: list[tuple[int, Connection]] = []
        if spec is not None and not spec.multiple:
            self.replaced = [(i, c) for i, c in enumerate(doc.connections())
                             if c.to == target]

    def _redo(self) -> None:
        for _, c in reversed(self.replaced):
            self.doc.remove_connection(c.from_, c.to)
        self.doc.insert_connection(self.connection)

    def _undo(self) -> None:
        self.doc.remove_connection(self.connection.from_, self.connection.to)
        for index, c in self.replaced:
            self.doc.insert_connection(c, index)


class ReconnectCommand(_Command):
    """Move one end of an existing wire (a wire's end dragged to another port)."""

    def __init__(self, doc: WorkflowDocument, old: tuple[str, str], new: tuple[str, str]) -> None:
        super().__init__(doc, "Reconnect wire")
        self.old, self.new = old, new
        self.index = next(i for i, c in enumerate(doc.connections())
                          if (c.from_, c.to) == old)

    def _redo(self) -> None:
        self.doc.remove_connection(*self.old)
        self.doc.insert_connection(
            Connection.model_validate({"from": self.new[0], "to": self.new[1]}), self.index)

    def _undo(self) -> None:
        self.doc.remove_connection(*self.new)
        self.doc.insert_connection(
            Connection.model_validate({"from": self.old[0], "to": self.old[1]}), self.index)


class SetNodeCommand(_Command):
    """Change a node's spec: config fields, title, retry, timeout, on_error, disabled.

    Consecutive edits of the same field of the same node merge into one command,
    so typing a URL is one undo step, not one per key."""

    _MERGE_ID = 1001

    def __init__(self, doc: WorkflowDocument, node_id: str, *, field: str,
                 value: Any, text: str = "") -> None:
        """`field` is a spec attribute (`title`, `retry`, ...) or `config.<name>`;
        `remove_config_key` makes the command that deletes a config key."""
        super().__init__(doc, text or f"Change {node_id}: {field.removeprefix('config.')}")
        self.node_id, self.field = node_id, field
        self.before = doc.node(node_id)
        self.after = _with_field(self.before, field, value)

    @classmethod
    def remove_config_key(cls, doc: WorkflowDocument, node_id: str, key: str) -> SetNodeCommand:
        return cls(doc, node_id, field=f"config.{key}", value=_MISSING,
                   text=f"Reset {node_id}: {key}")

    def id(self) -> int:
        return self._MERGE_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetNodeCommand) or (other.node_id, other.field) != (
                self.node_id, self.field) or not self.field.startswith(("config.", "title")):
            return False
        self.after = other.after
        return True

    def _redo(self) -> None:
        self.doc.replace_node(self.after)

    def _undo(self) -> None:
        self.doc.replace_node(self.before)


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


class RenameNodeCommand(_Command):
    """Change a node's id, rewriting the wires that name it (each keeps its index)."""

    def __init__(self, doc: WorkflowDocument, old_id: str, new_id: str) -> None:
        super().__init__(doc, f"Rename {old_id} to {new_id}")
        self.index = doc.node_index(old_id)
        self.old_spec = doc.node(old_id)
        self.new_spec = self.old_spec.model_copy(update={"id": new_id})

        def renamed(endpoint: str) -> str:
            node, port = endpoint.split(".", 1)
            return f"{new_id}.{port}" if node == old_id else endpoint

        touching = [(i, c) for i, c in enumerate(doc.connections())
                    if old_id in (c.source[0], c.target[0])]
        self.old_wires = touching
        self.new_wires = [(i, Connection.model_validate({"from": renamed(c.from_),
                                                         "to": renamed(c.to)}))
                          for i, c in touching]

    def _swap(self, wires_out: list[tuple[int, Connection]], spec_out: NodeSpec,
              spec_in: NodeSpec, wires_in: list[tuple[int, Connection]]) -> None:
        for _, c in reversed(wires_out):
            self.doc.remove_connection(c.from_, c.to)
        self.doc.remove_node(spec_out.id)
        self.doc.insert_node(spec_in, self.index)
        for i, c in wires_in:
            self.doc.insert_connection(c, i)
        self.doc.renamed(spec_out.id, spec_in.id)

    def _redo(self) -> None:
        self._swap(self.old_wires, self.old_spec, self.new_spec, self.new_wires)

    def _undo(self) -> None:
        self._swap(self.new_wires, self.new_spec, self.old_spec, self.old_wires)


class SetInputsCommand(_Command):
    def __init__(self, doc: WorkflowDocument, inputs: Mapping[str, InputSpec],
                 text: str = "Change workflow inputs") -> None:
        super().__init__(doc, text)
        self.before = dict(doc.graph.inputs)
        self.after = dict(inputs)

    def _redo(self) -> None:
        self.doc.set_inputs(self.after)

    def _undo(self) -> None:
        self.doc.set_inputs(self.before)


class SetSettingsCommand(_Command):
    _MERGE_ID = 1002

    def __init__(self, doc: WorkflowDocument, settings: Settings,
                 text: str = "Change workflow settings") -> None:
        super().__init__(doc, text)
        self.before = doc.workflow.settings
        self.after = settings

    def id(self) -> int:
        return self._MERGE_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetSettingsCommand):
            return False
        self.after = other.after
        return True

    def _redo(self) -> None:
        self.doc.set_settings(self.after)

    def _undo(self) -> None:
        self.doc.set_settings(self.before)


class SetMetaCommand(_Command):
    def __init__(self, doc: WorkflowDocument, name: str, description: str) -> None:
        super().__init__(doc, "Change workflow name")
        self.before = (doc.graph.name, doc.graph.description)
        self.after = (name, description)

    def _redo(self) -> None:
        self.doc.set_meta(*self.after)

    def _undo(self) -> None:
        self.doc.set_meta(*self.before)


class AddSubgraphCommand(_Command):
    """Create a subgraph (a body for loops and sub-workflows)."""

    def __init__(self, doc: WorkflowDocument, name: str, subgraph: Subgraph | None = None,
                 ) -> None:
        super().__init__(doc, f"Add subgraph {name}")
        self.name = name
        self.subgraph = subgraph or Subgraph()

    def _redo(self) -> None:
        self.doc.add_subgraph(self.name, self.subgraph)

    def _undo(self) -> None:
        self.doc.remove_subgraph(self.name)


class RemoveSubgraphCommand(_Command):
    def __init__(self, doc: WorkflowDocument, name: str) -> None:
        super().__init__(doc, f"Delete subgraph {name}")
        if doc.graph_key == name:
            self.graph_key = None  # it cannot stay on the canvas once deleted
        self.name = name
        self.index = list(doc.workflow.subgraphs).index(name)
        self.subgraph = doc.workflow.subgraphs[name]

    def _redo(self) -> None:
        self.doc.remove_subgraph(self.name)

    def _undo(self) -> None:
        self.doc.add_subgraph(self.name, self.subgraph, self.index)
