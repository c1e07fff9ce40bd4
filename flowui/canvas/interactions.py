"""Gestures on the canvas, each a small object with one protocol (`Interaction`): the view
starts one on a mouse press (or Space) and hands it every mouse and key event until
the gesture says it is over. Gestures end as the scene's intents, never as edits.

`WireDrag`: a new wire from a port, or an existing wire's end lifted off an input;
compatible ports light up while it moves; on release it asks for a connection, a
reconnection, a disconnection, or (dropped on empty canvas) the node search.
`NodeDrag`: a press on an item (Qt selects and moves it); the whole drag becomes one
move intent. `RubberBand`: a box dragged on empty canvas selects what it touches.
`Pan`: middle-drag, or Space + drag (Space tapped alone opens the node search).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QPointF, QRect, Qt
from PySide6.QtGui import QKeyEvent, QMouseEvent, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QRubberBand

from engine.workflow.porttypes import can_connect
from flowui import theme
from flowui.canvas.edge_item import wire_path
from flowui.canvas.node_item import NodeItem, PortRef

if TYPE_CHECKING:
    from flowui.canvas.view import GraphView

ADD_TO_SELECTION = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


class Interaction:
    """A gesture in progress. The view routes mouse and key events here until `done`."""

    def __init__(self, view: GraphView) -> None:
        self.view = view
        self.scene = view.graph_scene
        self.done = False

    def press(self, event: QMouseEvent) -> None:
        """The press that started the gesture (or a later one, for gestures that wait)."""

    def move(self, event: QMouseEvent) -> None:
        """The mouse moved."""

    def release(self, event: QMouseEvent) -> None:
        """A button was released: most gestures end here."""
        self.done = True

    def key_press(self, event: QKeyEvent) -> bool:
        """A key was pressed; True if the gesture used it."""
        return False

    def key_release(self, event: QKeyEvent) -> bool:
        return False

    def cancel(self) -> None:
        """End now, leaving nothing behind and asking for nothing."""
        self.done = True


class EscapeCancels(Interaction):
    """A gesture that Escape undoes while it goes on (a wire, a group's move, a resize)."""

    def key_press(self, event: QKeyEvent) -> bool:
        if event.key() != Qt.Key.Key_Escape:
            return False
        self.cancel()
        return True


class WireDrag(EscapeCancels):
    def __init__(self, view: GraphView, origin: PortRef,
                 lifted: tuple[str, str] | None = None) -> None:
        """`origin` is the fixed end; `lifted` the wire whose other end is being moved."""
        super().__init__(view)
        scene = self.scene
        self.origin = origin
        self.lifted = lifted
        self.anchor = scene.nodes[origin.node_id].port_pos(origin.name, origin.output)
        self.preview = QGraphicsPathItem()
        self.preview.setPen(QPen(theme.port_color(origin.type), 2, Qt.PenStyle.DashLine))
        self.preview.setZValue(10)
        scene.addItem(self.preview)
        if lifted is not None and lifted in scene.edges:
            scene.edges[lifted].setVisible(False)
        scene.set_port_hints(self._hints())

    @classmethod
    def from_port(cls, view: GraphView, port: PortRef) -> WireDrag:
        """From an output: a new wire. From a wired input: its last wire, lifted off it."""
        scene = view.graph_scene
        wires = [] if port.output else scene.doc.connections_into(
            scene.graph_key, port.node_id, port.name)
        if not wires:
            return cls(view, port)
        last = wires[-1]
        origin_node, origin_port = last.source
        origin = next(r for r in scene.nodes[origin_node].port_refs()
                      if r.output and r.name == origin_port)
        return cls(view, origin, (last.from_, last.to))

    def _hints(self) -> dict[str, bool]:
        """Every port of the other direction: True when a wire to it would be accepted.
        Cycles are found with one walk upstream of the origin, not one per port."""
        links: dict[str, list[str]] = {}
        for c in self.scene.doc.connections(self.scene.graph_key):
            a, b = (c.target[0], c.source[0]) if self.origin.output else (c.source[0],
                                                                          c.target[0])
            links.setdefault(a, []).append(b)
        blocked = _walk(self.origin.node_id, links)
        hints: dict[str, bool] = {}
        for item in self.scene.nodes.values():
            for ref in item.port_refs():
                if ref.output == self.origin.output:
                    continue
                hints[ref.endpoint] = item.node_id not in blocked and (
                    can_connect(self.origin.type, ref.type) if self.origin.output
                    else can_connect(ref.type, self.origin.type))
        return hints

    def press(self, event: QMouseEvent) -> None:
        self.move(event)

    def move(self, event: QMouseEvent) -> None:
        pos = self.view.scene_pos(event)
        target = self.scene.port_at(pos)
        end = pos
        if target is not None and target.output != self.origin.output:
            end = self.scene.nodes[target.node_id].port_pos(target.name, target.output)
        a, b = (self.anchor, end) if self.origin.output else (end, self.anchor)
        self.preview.setPath(wire_path(a, b))

    def release(self, event: QMouseEvent) -> None:
        pos = self.view.scene_pos(event)
        target = self.scene.port_at(pos)
        self.cancel()
        if target is None or target.output == self.origin.output:
            if self.lifted is not None:
                self.scene.disconnect_requested.emit([self.lifted])
            elif target is None:
                self.scene.wire_dropped.emit(self.origin, pos)
            return
        source, dest = (self.origin, target) if self.origin.output else (target, self.origin)
        new = (source.endpoint, dest.endpoint)
        if new == self.lifted:
            return  # put back where it was
        reason = self.scene.doc.check_connection(self.scene.graph_key, *new)
        if reason is not None:
            self.scene.message.emit(f"Cannot connect {new[0]} → {new[1]}: {reason}")
        elif self.lifted is not None:
            self.scene.reconnect_requested.emit(self.lifted, new)
        else:
            self.scene.connect_requested.emit(*new)

    def cancel(self) -> None:
        self.done = True
        self.scene.removeItem(self.preview)
        self.scene.set_port_hints({})
        if self.lifted is not None and self.lifted in self.scene.edges:
            self.scene.edges[self.lifted].setVisible(True)


def _walk(start: str, links: dict[str, list[str]]) -> set[str]:
    seen, stack = {start}, [start]
    while stack:
        for m in links.get(stack.pop(), ()):
            if m not in seen:
                seen.add(m)
                stack.append(m)
    return seen


class NodeDrag(Interaction):
    """Qt's own item handling selects and moves; this remembers where the selected nodes
    were when the press came, so the drag is reported as one move."""

    def press(self, event: QMouseEvent) -> None:
        self.view.qt_mouse_press(event)
        self.start = {i.node_id: (i.pos().x(), i.pos().y())
                      for i in self.scene.selectedItems() if isinstance(i, NodeItem)}

    def move(self, event: QMouseEvent) -> None:
        self.view.qt_mouse_move(event)

    def release(self, event: QMouseEvent) -> None:
        self.view.qt_mouse_release(event)
        self.done = True
        moves = {}
        for node_id, old in self.start.items():
            item = self.scene.nodes.get(node_id)
            if item is None:
                continue
            new = (round(item.pos().x()), round(item.pos().y()))
            if new != (round(old[0]), round(old[1])):
                moves[node_id] = (old, (float(new[0]), float(new[1])))
        if moves:
            self.scene.move_finished.emit(moves)


class RubberBand(Interaction):
    """A box from the press point; what it touches is selected (added to the selection
    with Ctrl or Shift held at the press)."""

    def __init__(self, view: GraphView) -> None:
        super().__init__(view)
        self.band = QRubberBand(QRubberBand.Shape.Rectangle, view.viewport())
        self.origin = QPoint()
        self.kept: list[QGraphicsItem] = []

    def press(self, event: QMouseEvent) -> None:
        self.origin = event.position().toPoint()
        if event.modifiers() & ADD_TO_SELECTION:
            self.kept = self.scene.selectedItems()
        else:
            self.scene.clearSelection()

    def move(self, event: QMouseEvent) -> None:
        box = QRect(self.origin, event.position().toPoint()).normalized()
        self.band.setGeometry(box)
        self.band.show()
        area = QPainterPath()
        area.addPolygon(self.view.mapToScene(box))
        self.scene.setSelectionArea(area, Qt.ItemSelectionOperation.ReplaceSelection,
                                    Qt.ItemSelectionMode.IntersectsItemShape,
                                    self.view.viewportTransform())
        for item in self.kept:
            item.setSelected(True)

    def release(self, event: QMouseEvent) -> None:
        self.cancel()

    def cancel(self) -> None:
        self.done = True
        self.band.hide()
        self.band.deleteLater()


class Pan(Interaction):
    """Scrolls the view with the mouse. Started by the middle button, it ends on release;
    armed by Space, it pans while a button is held and ends when Space is let go (a
    Space tapped without panning asks for the node search instead)."""

    def __init__(self, view: GraphView, *, by_space: bool = False) -> None:
        super().__init__(view)
        self.by_space = by_space
        self.last: QPointF | None = None
        self.used = False
        view.setCursor(Qt.CursorShape.OpenHandCursor if by_space
                       else Qt.CursorShape.ClosedHandCursor)

    def press(self, event: QMouseEvent) -> None:
        self.last = event.position()
        self.used = True
        self.view.setCursor(Qt.CursorShape.ClosedHandCursor)

    def move(self, event: QMouseEvent) -> None:
        if self.last is None:  # Space held, no button yet: the canvas still hovers
            self.view.qt_mouse_move(event)
            return
        delta = event.position() - self.last
        self.last = event.position()
        self.view.scroll_by(delta)

    def release(self, event: QMouseEvent) -> None:
        self.last = None
        if self.by_space:
            self.view.setCursor(Qt.CursorShape.OpenHandCursor)
        else:
            self.cancel()

    def key_press(self, event: QKeyEvent) -> bool:
        return event.key() == Qt.Key.Key_Space  # held Space repeats: nothing new

    def key_release(self, event: QKeyEvent) -> bool:
        if not self.by_space or event.key() != Qt.Key.Key_Space or event.isAutoRepeat():
            return False
        self.by_space = False
        if self.last is None:  # not mid-drag: over now (else when the button goes up)
            self.cancel()
            if not self.used:
                self.view.search_requested.emit(self.view.cursor_scene_pos())
        return True

    def cancel(self) -> None:
        self.done = True
        self.view.setCursor(Qt.CursorShape.ArrowCursor)
