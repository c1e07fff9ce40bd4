"""The view onto the canvas: grid, zoom around the cursor, panning (middle drag or
Space + drag), fit all / fit selection, rubber-band selection, drops from the palette,
and the mouse routing that starts gestures."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent, QPainter, QPen, QWheelEvent
from PySide6.QtWidgets import QGraphicsView

from flowui import theme
from flowui.canvas.interactions import NodeDrag, WireDrag
from flowui.canvas.node_item import NodeItem
from flowui.canvas.scene import GraphScene

NODE_MIME = "application/x-flowui-node-type"
MIN_ZOOM, MAX_ZOOM = 0.05, 3.0
GRID = 20


def _shift_as_ctrl(event: QMouseEvent) -> QMouseEvent:
    """Shift-click adds to the selection as Ctrl-click does (Qt's items only know Ctrl);
    press and release both decide selection, so both are translated."""
    if not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
        return event
    return QMouseEvent(event.type(), event.position(), event.globalPosition(), event.button(),
                       event.buttons(), (event.modifiers() & ~Qt.KeyboardModifier.ShiftModifier)
                       | Qt.KeyboardModifier.ControlModifier)


class GraphView(QGraphicsView):
    add_node_requested = Signal(str, QPointF)  # type id, scene position
    search_requested = Signal(QPointF)  # Tab / Space: open the quick search here
    node_double_clicked = Signal(str)  # node id: open its body
    zoom_changed = Signal(float)

    def __init__(self, scene: GraphScene) -> None:
        super().__init__(scene)
        self.graph = scene
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setAcceptDrops(True)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheBackground)  # the grid
        self._wire: WireDrag | None = None
        self._drag: NodeDrag | None = None
        self._pan_from: QPointF | None = None
        self._space = False
        self._space_used = False

    # --- zoom and framing ----------------------------------------------------------------

    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float, anchor: QPointF | None = None) -> None:
        target = min(MAX_ZOOM, max(MIN_ZOOM, factor))
        scale = target / self.zoom()
        if anchor is not None:
            old = self.mapToScene(anchor.toPoint())
            self.scale(scale, scale)
            delta = self.mapToScene(anchor.toPoint()) - old
            self.translate(delta.x(), delta.y())
        else:
            self.scale(scale, scale)
        self.zoom_changed.emit(self.zoom())

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.set_zoom(self.zoom() * math.pow(1.2, steps), event.position())

    def fit_rect(self, rect: QRectF) -> None:
        if rect.isNull():
            return
        self.fitInView(rect.adjusted(-60, -60, 60, 60), Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom() > 1.5:
            self.set_zoom(1.5)
        self.zoom_changed.emit(self.zoom())

    def fit_all(self) -> None:
        rect = QRectF()
        for item in self.graph.nodes.values():
            rect = rect.united(item.sceneBoundingRect())
        self.fit_rect(rect)

    def fit_selection(self) -> None:
        rect = QRectF()
        for item in self.graph.selectedItems():
            rect = rect.united(item.sceneBoundingRect())
        self.fit_rect(rect) if not rect.isNull() else self.fit_all()

    # --- background ----------------------------------------------------------------------

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        painter.fillRect(rect, theme.BACKGROUND)
        zoom = self.zoom()
        if zoom < 0.25:
            return  # a grid finer than a few pixels is noise
        left = math.floor(rect.left() / GRID) * GRID
        top = math.floor(rect.top() / GRID) * GRID
        minor, major = [], []
        x = left
        while x < rect.right():
            (major if x % (GRID * 5) == 0 else minor).append((x, True))
            x += GRID
        y = top
        while y < rect.bottom():
            (major if y % (GRID * 5) == 0 else minor).append((y, False))
            y += GRID
        for lines, color in ((minor, theme.GRID_MINOR), (major, theme.GRID_MAJOR)):
            if lines is minor and zoom < 0.5:
                continue
            painter.setPen(QPen(color, 0))
            for value, vertical in lines:
                if vertical:
                    painter.drawLine(QPointF(value, rect.top()), QPointF(value, rect.bottom()))
                else:
                    painter.drawLine(QPointF(rect.left(), value), QPointF(rect.right(), value))

    # --- mouse: gestures -----------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.MiddleButton or (
                event.button() == Qt.MouseButton.LeftButton and self._space):
            self._space_used = True  # Space + drag pans; Space alone opens the search
            self._pan_from = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        if event.button() == Qt.MouseButton.LeftButton:
            pos = self.mapToScene(event.position().toPoint())
            port = self.graph.port_at(pos)
            if port is not None:
                lifted = None
                if not port.output:  # an input with a wire: lift that wire's end
                    wires = self.graph.doc.connections_into(port.node_id, port.name)
                    if wires:
                        last = wires[-1]
                        lifted = (last.from_, last.to)
                        origin_node, origin_port = last.source
                        origin = next(r for r in self.graph.nodes[origin_node].port_refs()
                                      if r.output and r.name == origin_port)
                        self._wire = WireDrag(self.graph, origin, lifted)
                        self._wire.move(pos)
                        return
                self._wire = WireDrag(self.graph, port)
                self._wire.move(pos)
                return
        event = _shift_as_ctrl(event)
        super().mousePressEvent(event)
        if event.button() == Qt.MouseButton.LeftButton and any(
                isinstance(i, NodeItem) for i in self.graph.selectedItems()):
            self._drag = NodeDrag(self.graph)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.horizontalScrollBar().setValue(int(self.horizontalScrollBar().value() - delta.x()))
            self.verticalScrollBar().setValue(int(self.verticalScrollBar().value() - delta.y()))
            return
        if self._wire is not None:
            self._wire.move(self.mapToScene(event.position().toPoint()))
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self.setCursor(Qt.CursorShape.OpenHandCursor if self._space
                           else Qt.CursorShape.ArrowCursor)
            return
        if self._wire is not None:
            wire, self._wire = self._wire, None
            wire.finish(self.mapToScene(event.position().toPoint()))
            return
        super().mouseReleaseEvent(_shift_as_ctrl(event))
        if self._drag is not None:
            drag, self._drag = self._drag, None
            drag.finish()

    # --- keyboard ------------------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_Escape and self._wire is not None:
            self._wire.cancel()
            self._wire = None
            return
        if key == Qt.Key.Key_Space and not event.isAutoRepeat() and self._pan_from is None \
                and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            self._space = True
            self.setCursor(Qt.CursorShape.OpenHandCursor)
            self._space_used = False
            return
        if key == Qt.Key.Key_Tab:
            self.search_requested.emit(self.mapToScene(self.mapFromGlobal(self.cursor().pos())))
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat() and self._space:
            self._space = False
            self.setCursor(Qt.CursorShape.ArrowCursor)
            if not self._space_used:
                self.search_requested.emit(
                    self.mapToScene(self.mapFromGlobal(self.cursor().pos())))
            return
        super().keyReleaseEvent(event)

    def focusNextPrevChild(self, next: bool) -> bool:
        return False  # Tab belongs to the quick search, not to focus traversal

    # --- drops from the palette ----------------------------------------------------------

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasFormat(NODE_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()  # the main window handles dropped files

    def dragMoveEvent(self, event) -> None:
        if event.mimeData().hasFormat(NODE_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:
        data = event.mimeData()
        if data.hasFormat(NODE_MIME):
            type_id = bytes(data.data(NODE_MIME)).decode()
            self.add_node_requested.emit(type_id, self.mapToScene(event.position().toPoint()))
            event.acceptProposedAction()
        else:
            event.ignore()
