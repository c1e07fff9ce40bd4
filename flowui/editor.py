"""The editor, the one owner of edits: it holds the undo stack, turns intents from the
canvas, inspector and menus into undo commands through methods named for what the user
meant, and decides which graph is on the canvas. It knows nothing of windows."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from PySide6.QtCore import QMimeData, QObject, QPointF, Signal
from PySide6.QtGui import QGuiApplication, QUndoCommand, QUndoStack

from engine.workflow.model import IDENT_RE, InputSpec, NodeSpec, Settings
from engine.workflow.porttypes import can_connect
from flowui import clipboard, decor
from flowui.arrange import align, distribute
from flowui.auto_layout import plan_auto_layout
from flowui.canvas.decor_items import TITLE_H as GROUP_TITLE_H
from flowui.canvas.glide import NodeGlide
from flowui.canvas.node_item import WIDTH as NODE_WIDTH
from flowui.canvas.node_item import PortRef
from flowui.canvas.scene import GraphScene
from flowui.commands import (
    AddNodesCommand,
    AddSubgraphCommand,
    ConnectCommand,
    MoveNodesCommand,
    ReconnectCommand,
    RemoveItemsCommand,
    RemoveSubgraphCommand,
    RenameNodeCommand,
    SetInputsCommand,
    SetMetaCommand,
    SetNodeCommand,
    SetSettingsCommand,
    plural,
)
from flowui.decor import Decor, Kind
from flowui.decor_commands import EditDecorCommand
from flowui.document import GraphKey, WorkflowDocument
from flowui.subgraph_fold import FoldError, fold, unfold

PASTE_OFFSET = 40.0  # a second paste at the same mouse point cascades by this much
PASTE_GAP = 60.0  # between the originals and a copy placed beside them
SNAP = 10.0
GROUP_MARGIN = 20.0  # around the nodes a new group is fitted to
NOTE_SIZE = (260.0, 160.0)

Moves = Mapping[str, tuple[tuple[float, float], tuple[float, float]]]


class Editor(QObject):
    message = Signal(str)  # for the status bar
    graph_shown = Signal(object)  # the graph now on the canvas (after a switch, not a load)

    def __init__(self, doc: WorkflowDocument, scene: GraphScene,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.scene = scene
        self.undo_stack = QUndoStack(self)
        self.current_graph: GraphKey = None
        self._paste_count = 0
        self._last_paste_at: QPointF | None = None
        # Where the mouse is on the canvas (scene coordinates), None when it is elsewhere
        # (a menu, the toolbar): set by the window, which owns the view.
        self.paste_point: Callable[[], QPointF | None] = lambda: None
        self.glide = NodeGlide(scene, self)  # auto-layout's nodes moving to their places
        scene.connect_requested.connect(self.connect_ports)
        scene.reconnect_requested.connect(self.reconnect)
        scene.disconnect_requested.connect(self.disconnect_wires)
        scene.move_finished.connect(self.move_nodes)
        scene.message.connect(self.message)
        scene.decor.move_finished.connect(self.move_decor)
        scene.decor.resize_finished.connect(self.resize_decor)
        scene.decor.text_edited.connect(self.set_decor_text)
        doc.graph_about_to_change.connect(self._on_doc_graph_about_to_change)
        doc.subgraph_removed.connect(self._on_doc_subgraph_removed)
        doc.reset.connect(self._on_doc_reset)

    def _push(self, command: QUndoCommand) -> None:
        self.undo_stack.push(command)

    # --- the graph on the canvas -----------------------------------------------------------

    def show_graph(self, graph: GraphKey) -> None:
        """Put the workflow (None) or one of its subgraphs on the canvas."""
        if graph == self.current_graph:
            return
        if not self.doc.has_graph(graph):
            raise KeyError(f"there is no subgraph {graph!r}")
        self.current_graph = graph
        self.scene.show_graph(graph)
        self.graph_shown.emit(graph)

    def _on_doc_graph_about_to_change(self, graph: GraphKey) -> None:
        # Every edit is made in the graph shown, so a change elsewhere is an undo or a
        # redo (from the menu or the history): take the user to what it changes.
        if graph != self.current_graph:
            self.show_graph(graph)

    def _on_doc_subgraph_removed(self, name: str) -> None:
        if name == self.current_graph:
            self.show_graph(None)

    def _on_doc_reset(self) -> None:
        # A newly loaded workflow is shown from its top; the followers of `doc.reset`
        # know this without a `graph_shown`.
        self.current_graph = None

    # --- adding --------------------------------------------------------------------------

    def add_node(self, type_id: str, pos: QPointF, wire_from: PortRef | None = None) -> str | None:
        """Add a node of `type_id` at `pos`; with `wire_from`, also wire it to the first
        compatible port, all in one undo step. Returns the new node's id."""
        cls = self.doc.registry.get(type_id)
        if cls is None:
            self.message.emit(f"Unknown node type {type_id!r}")
            return None
        graph = self.current_graph
        node_id = self.doc.unique_id(graph, type_id.rsplit(".", 1)[-1])
        spec = NodeSpec(id=node_id, type=type_id,
                        position=(round(pos.x() / SNAP) * SNAP, round(pos.y() / SNAP) * SNAP))
        self.undo_stack.beginMacro(f"Add {cls.title}")
        self._push(AddNodesCommand(self.doc, graph, [spec]))
        if wire_from is not None and not self._wire_new_node(node_id, wire_from):
            self.message.emit(f"{cls.title} has no port that fits {wire_from.endpoint}")
        self.undo_stack.endMacro()
        self.select([node_id])
        return node_id

    def _wire_new_node(self, node_id: str, origin: PortRef) -> bool:
        graph = self.current_graph
        inputs, outputs = self.doc.ports(graph, node_id)
        if origin.output:
            wire = next(((origin.endpoint, f"{node_id}.{p.name}") for p in inputs
                         if can_connect(origin.type, p.type)), None)
        else:
            wire = next(((f"{node_id}.{p.name}", origin.endpoint) for p in outputs
                         if p.name != "error" and can_connect(p.type, origin.type)), None)
        if wire is not None:
            self._push(ConnectCommand(self.doc, graph, *wire))
        return wire is not None

    # --- wires and moves -------------------------------------------------------------------

    def connect_ports(self, source: str, target: str) -> bool:
        reason = self.doc.check_connection(self.current_graph, source, target)
        if reason is not None:
            self.message.emit(f"Cannot connect {source} → {target}: {reason}")
            return False
        self._push(ConnectCommand(self.doc, self.current_graph, source, target))
        return True

    def reconnect(self, old: tuple[str, str], new: tuple[str, str]) -> None:
        self._push(ReconnectCommand(self.doc, self.current_graph, old, new))

    def disconnect_wires(self, wires: Sequence[tuple[str, str]]) -> None:
        self._push(RemoveItemsCommand(self.doc, self.current_graph, [], wires))

    def move_nodes(self, moves: Moves) -> None:
        self._push(MoveNodesCommand(self.doc, self.current_graph, moves))

    def arrange_selection(self, how: str) -> bool:
        """Align (`left`, `right`, `top`, `bottom`, `centre`, `middle`) or distribute
        (`horizontal`, `vertical`) the selected nodes, as one undo step; False (and
        why, said) when too few are selected."""
        ids = self.scene.selected_node_ids()
        needed = 3 if how in ("horizontal", "vertical") else 2
        if len(ids) < needed:
            self.message.emit(f"Select at least {needed} nodes to "
                              f"{'distribute' if needed == 3 else 'align'} them")
            return False
        boxes = {}
        for node_id in ids:
            x, y = self.doc.node(self.current_graph, node_id).position
            rect = self.scene.nodes[node_id].body_rect()
            boxes[node_id] = (x, y, rect.width(), rect.height())
        placed = distribute(boxes, how) if how in ("horizontal", "vertical") else \
            align(boxes, how)
        moves = {k: (boxes[k][:2], pos) for k, pos in placed.items() if pos != boxes[k][:2]}
        if moves:
            self.move_nodes(moves)
        return True

    def auto_layout(self) -> bool:
        """Lay out the graph shown (or only the selection, when two or more nodes are
        selected) left to right, as one undo step; the nodes glide there. False when
        nothing moved."""
        self.glide.finish()
        ids = self.scene.selected_node_ids()
        moves = plan_auto_layout(self.scene, ids if len(ids) >= 2 else None)
        if not moves:
            self.message.emit("Already laid out" if self.scene.nodes else "Nothing to lay out")
            return False
        what = "selection" if len(ids) >= 2 else "graph"
        self._push(MoveNodesCommand(self.doc, self.current_graph, moves,
                                    text=f"Auto-Layout the {what} ({plural(len(moves), 'node')})"))
        self.glide.start(moves)
        return True

    # --- a node's spec (the inspector) -----------------------------------------------------

    def set_node_field(self, graph: GraphKey, node_id: str, field: str, value: Any) -> None:
        """Set a spec field (`title`, `retry`, ...) or a config value (`config.<key>`);
        typing into one field merges into one undo step."""
        self._push(SetNodeCommand(self.doc, graph, node_id, field=field, value=value))

    def reset_node_field(self, graph: GraphKey, node_id: str, key: str) -> None:
        """Remove a config key: the node type's default applies again."""
        self._push(SetNodeCommand.remove_config_key(self.doc, graph, node_id, key))

    def rename_node(self, graph: GraphKey, old_id: str, new_id: str) -> None:
        self._push(RenameNodeCommand(self.doc, graph, old_id, new_id))

    # --- a graph's properties and the workflow's settings ----------------------------------

    def set_inputs(self, graph: GraphKey, inputs: Mapping[str, InputSpec]) -> None:
        self._push(SetInputsCommand(self.doc, graph, inputs))

    def set_meta(self, graph: GraphKey, name: str, description: str) -> None:
        self._push(SetMetaCommand(self.doc, graph, name, description))

    def set_settings(self, settings: Settings) -> None:
        self._push(SetSettingsCommand(self.doc, settings))

    # --- subgraphs ---------------------------------------------------------------------------

    def subgraph_name_problem(self, name: str) -> str | None:
        """Why `name` cannot name a new subgraph, or None when it can."""
        if not name:
            return "A subgraph needs a name."
        if name in self.doc.workflow.subgraphs:
            return f"There is already a subgraph named {name!r}."
        if not IDENT_RE.match(name):
            return f"{name!r} cannot name a subgraph: use letters, digits, _ and - only."
        return None

    def subgraph_users(self, name: str) -> list[tuple[GraphKey, str]]:
        """The nodes (in any graph) that run subgraph `name` as their body."""
        graphs: list[GraphKey] = [None, *self.doc.workflow.subgraphs]
        found = []
        for graph in graphs:
            for spec in self.doc.nodes(graph):
                cls = self.doc.registry.get(spec.type)
                if cls is not None and cls.body is not None and \
                        cls.runs_own_body(spec.config) and cls.body_name(spec.config) == name:
                    found.append((graph, spec.id))
        return found

    def add_subgraph(self, name: str) -> bool:
        """Add an empty subgraph and show it; False (and why, as a message) for a bad name."""
        problem = self.subgraph_name_problem(name)
        if problem is not None:
            self.message.emit(f"Cannot add the subgraph: {problem}")
            return False
        self._push(AddSubgraphCommand(self.doc, name))
        self.show_graph(name)
        return True

    def remove_subgraph(self, name: str) -> None:
        self._push(RemoveSubgraphCommand(self.doc, name))

    def open_body(self, node_id: str) -> str | None:
        """Show the subgraph a node of the shown graph runs (its type's `BodySpec`),
        creating it (pre-wired, named after the node, one undo step) when the node names
        none that exists. Returns the subgraph shown, or None for nodes without a body
        of their own (a sub-workflow given a file)."""
        graph = self.current_graph
        spec = self.doc.node(graph, node_id)
        cls = self.doc.registry.get(spec.type)
        if cls is None or cls.body is None or not cls.runs_own_body(spec.config):
            return None
        named = cls.body_name(spec.config)
        if named is not None and named in self.doc.workflow.subgraphs:
            self.show_graph(named)
            return named
        name = named if named is not None and "{{" not in named \
            else self.doc.unique_subgraph_name(f"{node_id}_body")
        self.undo_stack.beginMacro(f"Create body {name} for {node_id}")
        self._push(AddSubgraphCommand(self.doc, name, cls.body.skeleton()))
        if named != name:
            self._push(SetNodeCommand(self.doc, graph, node_id,
                                      field=f"config.{cls.body.field}", value=name))
        self.undo_stack.endMacro()
        self.show_graph(name)
        return name

    # --- structure: disabling, subgraphs from a selection, ungrouping ----------------------

    def set_disabled(self, node_ids: Sequence[str], disabled: bool) -> None:
        """Disable (a run skips them, FORMAT.md) or enable nodes, as one undo step."""
        graph = self.current_graph
        changed = [i for i in node_ids if self.doc.node(graph, i).disabled != disabled]
        if not changed:
            return
        verb = "Disable" if disabled else "Enable"
        self.undo_stack.beginMacro(f"{verb} {plural(len(changed), 'node')}")
        for node_id in changed:
            self._push(SetNodeCommand(self.doc, graph, node_id, field="disabled",
                                      value=disabled, text=f"{verb} {node_id}"))
        self.undo_stack.endMacro()

    def create_subgraph(self, node_ids: Sequence[str], name: str) -> str | None:
        """Move `node_ids` into a new subgraph `name` run by one new flow.subworkflow node,
        wires through its inputs and outputs (one undo step); the new node's id, or None
        (and why, as a message)."""
        graph = self.current_graph
        try:
            problem = self.subgraph_name_problem(name)
            if problem is not None:
                raise FoldError(problem)
            f = fold(self.doc, graph, node_ids, name)
        except FoldError as e:
            self.message.emit(f"Cannot create the subgraph: {e}")
            return None
        self.undo_stack.beginMacro(f"Create subgraph {name} from "
                                   f"{plural(len(f.removed_nodes), 'node')}")
        self._push(AddSubgraphCommand(self.doc, name, f.subgraph))
        self._push(RemoveItemsCommand(self.doc, graph, f.removed_nodes, f.removed_wires))
        self._push(AddNodesCommand(self.doc, graph, f.nodes, f.connections,
                                   text=f"Add {f.node_id}"))
        self.undo_stack.endMacro()
        self.select([f.node_id])
        return f.node_id

    def ungroup(self, node_id: str) -> list[str] | None:
        """Put the body of sub-workflow node `node_id` in its place (ids made unique,
        wires through its inputs and outputs joined up), dropping the subgraph when no
        other node runs it; one undo step. The new nodes' ids, or None (and why)."""
        graph = self.current_graph
        name = self.doc.node(graph, node_id).config.get("subgraph")
        users = self.subgraph_users(name) if isinstance(name, str) else []
        try:
            u = unfold(self.doc, graph, node_id, users)
        except FoldError as e:
            self.message.emit(f"Cannot ungroup: {e}")
            return None
        self.undo_stack.beginMacro(f"Ungroup {node_id}")
        self._push(RemoveItemsCommand(self.doc, graph, [node_id], u.removed_wires))
        self._push(AddNodesCommand(self.doc, graph, u.nodes, u.connections,
                                   text=f"Add the nodes of {u.name}"))
        if u.drop_subgraph:
            self._push(RemoveSubgraphCommand(self.doc, u.name))
        self.undo_stack.endMacro()
        self.select([n.id for n in u.nodes])
        return [n.id for n in u.nodes]

    def splice_node(self, type_id: str, pos: QPointF, wire: tuple[str, str]) -> str | None:
        """Add a node of `type_id` at `pos` into `wire`: source -> new node -> target
        through the first ports whose types fit (one undo step); the new node's id."""
        graph = self.current_graph
        source, target = wire
        src = self.doc.port(graph, *source.split(".", 1), output=True)
        dst = self.doc.port(graph, *target.split(".", 1), output=False)
        self.undo_stack.beginMacro(f"Insert {type_id} on {source} → {target}")
        node_id = self.add_node(type_id, pos)
        if node_id is not None and src is not None and dst is not None:
            inputs, outputs = self.doc.ports(graph, node_id)
            into = next((p for p in inputs if can_connect(src.type, p.type)), None)
            out = next((p for p in outputs if p.name != "error"
                        and can_connect(p.type, dst.type)), None)
            if into is None or out is None:
                self.message.emit(f"{type_id} has no ports that fit {source} → {target}; "
                                  "added beside the wire")
            else:  # the target keeps the wire's place among its inputs
                self._push(ReconnectCommand(self.doc, graph, wire, (f"{node_id}.{out.name}",
                                                                    target)))
                self._push(ConnectCommand(self.doc, graph, source, f"{node_id}.{into.name}"))
        self.undo_stack.endMacro()
        return node_id

    # --- selection and clipboard ---------------------------------------------------------

    def select(self, node_ids: Sequence[str]) -> None:
        self.scene.clearSelection()
        for node_id in node_ids:
            item = self.scene.nodes.get(node_id)
            if item is not None:
                item.setSelected(True)

    def select_all(self) -> None:
        for item in self.scene.nodes.values():
            item.setSelected(True)

    def delete_selection(self) -> None:
        nodes, wires = self.scene.selected_node_ids(), self.scene.selected_edges()
        gone = self.scene.decor.selected()
        if gone:  # groups and notes go alone: the nodes inside a group stay
            self.undo_stack.beginMacro(f"Delete {_decor_count(gone)}" + (
                f" and {plural(len(nodes), 'node')}" if nodes else ""))
            ui = self.doc.ui(self.current_graph)
            for kind in decor.KINDS:
                ids = {d.id for d in gone if d.kind == kind}
                if ids:
                    ui = decor.removed(ui, kind, ids)
            self._push(EditDecorCommand(self.doc, self.current_graph, ui,
                                        f"Delete {_decor_count(gone)}"))
        if nodes or wires:
            self._push(RemoveItemsCommand(self.doc, self.current_graph, nodes, wires))
        if gone:
            self.undo_stack.endMacro()

    def copy(self) -> bool:
        ids = self.scene.selected_node_ids()
        if not ids:
            return False
        text = clipboard.copy_text(self.doc, self.current_graph, ids)
        mime = QMimeData()
        mime.setText(text)
        mime.setData(clipboard.MIME, text.encode())
        QGuiApplication.clipboard().setMimeData(mime)
        self._paste_count = 0
        self.message.emit(f"Copied {plural(len(ids), 'node')}")
        return True

    def cut(self) -> None:
        if self.copy():
            ids = self.scene.selected_node_ids()
            self._push(RemoveItemsCommand(self.doc, self.current_graph, ids,
                                          text=f"Cut {plural(len(ids), 'node')}"))

    def paste(self) -> None:
        mime = QGuiApplication.clipboard().mimeData()
        text = bytes(mime.data(clipboard.MIME).data()).decode() \
            if mime.hasFormat(clipboard.MIME) else mime.text()
        self._paste_text(text, "Paste")

    def _paste_offset(self, nodes: Sequence[NodeSpec]) -> tuple[float, float]:
        """Where a paste lands: its top-left node corner at the mouse when the mouse is
        on the canvas (a second paste there cascades), else beside what was copied, each
        further paste one width further right, never on top of the originals."""
        left = min(n.position[0] for n in nodes)
        top = min(n.position[1] for n in nodes)
        at = self.paste_point()
        if at is not None:
            last = self._last_paste_at
            again = last is not None and abs(last.x() - at.x()) < 1 and abs(last.y() - at.y()) < 1
            self._paste_count = self._paste_count + 1 if again else 0
            self._last_paste_at = QPointF(at)
            shift = PASTE_OFFSET * self._paste_count
            return at.x() - left + shift, at.y() - top + shift
        self._last_paste_at = None
        self._paste_count += 1
        width = max(n.position[0] for n in nodes) - left + NODE_WIDTH
        return (width + PASTE_GAP) * self._paste_count, 0.0

    def duplicate(self) -> None:
        ids = self.scene.selected_node_ids()
        if ids:
            self._paste_count = 0
            self._paste_text(clipboard.copy_text(self.doc, self.current_graph, ids),
                             "Duplicate")

    def _paste_text(self, text: str, verb: str) -> None:
        graph = self.current_graph
        try:
            nodes, conns = clipboard.parse_paste(self.doc, graph, text, (0.0, 0.0))
        except clipboard.PasteError as e:
            self.message.emit(f"Cannot paste: {e}")
            return
        dx, dy = self._paste_offset(nodes)
        nodes = [n.model_copy(update={"position": (n.position[0] + dx, n.position[1] + dy)})
                 for n in nodes]
        label = f"{verb} {plural(len(nodes), 'node')}"
        self._push(AddNodesCommand(self.doc, graph, nodes, conns, text=label))
        self.select([n.id for n in nodes])

    # --- groups and sticky notes (the graph's ui.groups, ui.notes) ---------------------------

    def _edit_decor(self, ui: dict[str, Any], text: str) -> None:
        self._push(EditDecorCommand(self.doc, self.current_graph, ui, text))

    def _decor(self, kind: Kind, ident: str) -> Decor | None:
        found, _ = decor.read(self.doc.ui(self.current_graph))
        return next((d for d in found if d.kind == kind and d.id == ident), None)

    def group_selection(self) -> str | None:
        """A group fitted around the selected nodes and notes (with a margin and room
        for its title); returns its id, or None (and why, said) when none is selected."""
        rects = [self.scene.nodes[i].scene_body_rect() for i in self.scene.selected_node_ids()]
        rects += [self.scene.decor.items[(d.kind, d.id)].scene_rect()
                  for d in self.scene.decor.selected()]
        if not rects:
            self.message.emit("Select the nodes to group first")
            return None
        ui = self.doc.ui(self.current_graph)
        ident = decor.unique_id(ui, "groups")
        frame = decor.fitted([(r.x(), r.y(), r.width(), r.height()) for r in rects],
                             GROUP_MARGIN, GROUP_TITLE_H)
        self._edit_decor(decor.added(ui, Decor("groups", ident, "Group",
                                               decor.DEFAULT_COLOR["groups"], frame)),
                         "Group selection")
        return ident

    def add_note(self, pos: QPointF) -> str:
        """A sticky note with its top-left corner at `pos`; returns its id."""
        ui = self.doc.ui(self.current_graph)
        ident = decor.unique_id(ui, "notes")
        rect = (round(pos.x() / SNAP) * SNAP, round(pos.y() / SNAP) * SNAP, *NOTE_SIZE)
        self._edit_decor(decor.added(ui, Decor("notes", ident, "", decor.DEFAULT_COLOR["notes"],
                                               rect)), "Add note")
        return ident

    def move_decor(self, rects: Mapping[tuple[Kind, str], decor.Rect], node_moves: Moves,
                   ) -> None:
        """Groups and notes moved (a group with the nodes inside it): one undo step."""
        items = [d for d in (self._decor(k, i) for k, i in rects) if d is not None]
        moved = [Decor(d.kind, d.id, d.text, d.color, rects[(d.kind, d.id)]) for d in items]
        if not moved:
            return
        groups = [d for d in moved if d.kind == "groups"]
        text = f"Move group {groups[0].text or groups[0].id}" if groups else "Move note"
        self.undo_stack.beginMacro(text)
        if node_moves:
            self.move_nodes(node_moves)
        self._edit_decor(decor.replaced(self.doc.ui(self.current_graph), moved), text)
        self.undo_stack.endMacro()

    def resize_decor(self, kind: Kind, ident: str, rect: decor.Rect) -> None:
        d = self._decor(kind, ident)
        if d is not None and d.rect != rect:
            self._edit_decor(decor.replaced(self.doc.ui(self.current_graph), [
                Decor(kind, ident, d.text, d.color, rect)]), f"Resize {kind[:-1]}")

    def set_decor_text(self, kind: Kind, ident: str, text: str) -> None:
        """A group's title or a note's Markdown."""
        d = self._decor(kind, ident)
        if d is not None and d.text != text:
            self._edit_decor(decor.replaced(self.doc.ui(self.current_graph), [
                Decor(kind, ident, text, d.color, d.rect)]),
                "Rename group" if kind == "groups" else "Edit note")

    def recolor_selected_decor(self, color: str) -> bool:
        """Give the selected groups and notes a colour; False when none is selected."""
        chosen = [d for d in self.scene.decor.selected() if d.color != color]
        if not self.scene.decor.selected():
            self.message.emit("Select a group or a note to colour")
            return False
        if chosen:
            self._edit_decor(decor.replaced(self.doc.ui(self.current_graph), [
                Decor(d.kind, d.id, d.text, color, d.rect) for d in chosen]),
                f"Colour {_decor_count(chosen)}")
        return True


def _decor_count(items: Sequence[Decor]) -> str:
    groups = sum(1 for d in items if d.kind == "groups")
    notes = len(items) - groups
    parts = [plural(n, noun) for n, noun in ((groups, "group"), (notes, "note")) if n]
    return " and ".join(parts)
