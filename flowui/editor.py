"""The editor controller: turns the canvas's intents and the menu's actions into undo
commands on the document. Owns the undo stack; knows nothing of windows."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QObject, QPointF, Signal
from PySide6.QtGui import QGuiApplication, QUndoStack

from engine.workflow.model import NodeSpec
from engine.workflow.porttypes import can_connect
from flowui import clipboard
from flowui.canvas.node_item import PortRef
from flowui.canvas.scene import GraphScene
from flowui.commands import (
    AddNodesCommand,
    ConnectCommand,
    MoveNodesCommand,
    ReconnectCommand,
    RemoveItemsCommand,
)
from flowui.document import WorkflowDocument

PASTE_OFFSET = 40.0
SNAP = 10.0


class Editor(QObject):
    message = Signal(str)  # for the status bar

    def __init__(self, doc: WorkflowDocument, scene: GraphScene,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.scene = scene
        self.undo_stack = QUndoStack(self)
        self._paste_count = 0
        scene.connect_requested.connect(self.connect_ports)
        scene.reconnect_requested.connect(self._on_scene_reconnect_requested)
        scene.disconnect_requested.connect(self._on_scene_disconnect_requested)
        scene.move_finished.connect(self._on_scene_move_finished)
        scene.message.connect(self.message)

    # --- adding --------------------------------------------------------------------------

    def add_node(self, type_id: str, pos: QPointF, wire_from: PortRef | None = None) -> str | None:
        """Add a node of `type_id` at `pos`; with `wire_from`, also wire it to the first
        compatible port, all in one undo step. Returns the new node's id."""
        cls = self.doc.registry.get(type_id)
        if cls is None:
            self.message.emit(f"Unknown node type {type_id!r}")
            return None
        node_id = self.doc.unique_id(type_id.rsplit(".", 1)[-1])
        spec = NodeSpec(id=node_id, type=type_id,
                        position=(round(pos.x() / SNAP) * SNAP, round(pos.y() / SNAP) * SNAP))
        self.undo_stack.beginMacro(f"Add {cls.title}")
        self.undo_stack.push(AddNodesCommand(self.doc, [spec]))
        if wire_from is not None:
            wired = self._wire_new_node(node_id, wire_from)
            if not wired:
                self.message.emit(f"{cls.title} has no port that fits {wire_from.endpoint}")
        self.undo_stack.endMacro()
        self.select([node_id])
        return node_id

    def _wire_new_node(self, node_id: str, origin: PortRef) -> bool:
        inputs, outputs = self.doc.ports(node_id)
        if origin.output:
            for p in inputs:
                if can_connect(origin.type, p.type):
                    self.undo_stack.push(ConnectCommand(self.doc, origin.endpoint,
                                                        f"{node_id}.{p.name}"))
                    return True
        else:
            for p in outputs:
                if p.name != "error" and can_connect(p.type, origin.type):
                    self.undo_stack.push(ConnectCommand(self.doc, f"{node_id}.{p.name}",
                                                        origin.endpoint))
                    return True
        return False

    # --- wires ---------------------------------------------------------------------------

    def connect_ports(self, source: str, target: str) -> bool:
        reason = self.doc.check_connection(source, target)
        if reason is not None:
            self.message.emit(f"Cannot connect {source} → {target}: {reason}")
            return False
        self.undo_stack.push(ConnectCommand(self.doc, source, target))
        return True

    def _on_scene_reconnect_requested(self, old: tuple, new: tuple) -> None:
        self.undo_stack.push(ReconnectCommand(self.doc, old, new))

    def _on_scene_disconnect_requested(self, wires: list) -> None:
        self.undo_stack.push(RemoveItemsCommand(self.doc, [], wires))

    def _on_scene_move_finished(self, moves: dict) -> None:
        self.undo_stack.push(MoveNodesCommand(self.doc, moves))

    # --- selection and clipboard ---------------------------------------------------------

    def select(self, node_ids: list[str]) -> None:
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
        if nodes or wires:
            self.undo_stack.push(RemoveItemsCommand(self.doc, nodes, wires))

    def copy(self) -> bool:
        ids = self.scene.selected_node_ids()
        if not ids:
            return False
        text = clipboard.copy_text(self.doc, ids)
        mime = QMimeData()
        mime.setText(text)
        mime.setData(clipboard.MIME, text.encode())
        QGuiApplication.clipboard().setMimeData(mime)
        self._paste_count = 0
        self.message.emit(f"Copied {len(ids)} node{'s' if len(ids) != 1 else ''}")
        return True

    def cut(self) -> None:
        if self.copy():
            ids = self.scene.selected_node_ids()
            self.undo_stack.push(RemoveItemsCommand(self.doc, ids))
            self.undo_stack.command(self.undo_stack.count() - 1).setText(
                f"Cut {len(ids)} node{'s' if len(ids) != 1 else ''}")

    def paste(self) -> None:
        mime = QGuiApplication.clipboard().mimeData()
        text = bytes(mime.data(clipboard.MIME)).decode() if mime.hasFormat(clipboard.MIME) \
            else mime.text()
        self._paste_text(text, "Paste")

    def duplicate(self) -> None:
        ids = self.scene.selected_node_ids()
        if ids:
            self._paste_count = 0
            self._paste_text(clipboard.copy_text(self.doc, ids), "Duplicate")

    def _paste_text(self, text: str, verb: str) -> None:
        self._paste_count += 1
        shift = PASTE_OFFSET * self._paste_count
        try:
            nodes, conns = clipboard.parse_paste(self.doc, text, (shift, shift))
        except clipboard.PasteError as e:
            self.message.emit(f"Cannot paste: {e}")
            return
        label = f"{verb} {len(nodes)} node{'s' if len(nodes) != 1 else ''}"
        self.undo_stack.push(AddNodesCommand(self.doc, nodes, conns, text=label))
        self.select([n.id for n in nodes])
