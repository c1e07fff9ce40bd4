"""The view onto the canvas: grid, zoom around the cursor, fit all / fit selection,
drops from the palette, and the routing of mouse and key events into gestures
(interactions.py: wires, node drags, rubber band, panning)."""

from __future__ import annotations

import math
import time

from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QContextMenuEvent,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QFont,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QWheelEvent,
)
from PySide6.QtWidgets import QGraphicsView

from flowui import theme
from flowui.canvas.decor_gestures import decor_interaction
from flowui.canvas.decor_items import DecorItem
from flowui.canvas.edge_item import EdgeItem
from flowui.canvas.interactions import Interaction, NodeDrag, Pan, RubberBand, WireDrag
from flowui.canvas.node_item import FAR_LOD, NodeItem
from flowui.canvas.scene import GraphScene

NODE_MIME = "application/x-flowui-node-type"
MIN_ZOOM, MAX_ZOOM = 0.05, 3.0
# From here titles read (~9.5 px) and port labels are drawn (from 0.6): a graph opens at
# this zoom or closer, never at the 40-68% where a fit left the examples unreadable.
READABLE_ZOOM = 0.75
FAR_ZOOM = FAR_LOD  # below it nodes are painted as blocks, uncached
GRID = 20
EMPTY_HINT = ("An empty workflow",
              "Drag a node from the Nodes panel onto the canvas,",
              "or press Tab here to search for one by name.",
              "File ▸ New from Example starts from a finished one.")
EMPTY_BODY_HINT = ("An empty subgraph",
                   "Add a flow.input node for each value it takes and a flow.output for",
                   "each it gives back (Tab searches), then the nodes in between.")


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
    escape_pressed = Signal()  # Esc with no gesture to cancel (cancels a run)
    zoom_changed = Signal(float)
    context_menu_requested = Signal(QPointF, QPoint)  # scene position, global position

    def __init__(self, scene: GraphScene) -> None:
        super().__init__(scene)
        self.graph_scene = scene
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setAcceptDrops(True)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheBackground)  # the grid
        self._interaction: Interaction | None = None  # the gesture in progress
        self.last_paint_s = 0.0
        self.zoom_changed.connect(self._on_zoom_changed)
        # Framed once the window has its size, not in the middle of a load.
        scene.rebuilt.connect(lambda: QTimer.singleShot(0, self, self.frame_opened))
        # The empty graph's hint covers the view: repainted whole when it comes or goes.
        self._empty = not scene.nodes
        for signal in (scene.rebuilt, scene.doc.node_added, scene.doc.node_removed):
            signal.connect(self._on_nodes_changed)

    def _on_nodes_changed(self, *_: object) -> None:
        empty = not self.graph_scene.nodes
        if empty != self._empty:
            self._empty = empty
            self.viewport().update()

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
        rect = self.graph_scene.decor.bounding_rect()
        for item in self.graph_scene.nodes.values():
            rect = rect.united(item.sceneBoundingRect())
        self.fit_rect(rect)

    def frame_opened(self) -> None:
        """How a graph opens: all of it when that stays readable, else at a readable zoom
        on where it starts (its leftmost column of nodes), to be read left to right.
        Fit All still shows everything, however small."""
        rects = [item.sceneBoundingRect() for item in self.graph_scene.nodes.values()]
        if not rects:
            return
        whole = QRectF()
        for r in rects:
            whole = whole.united(r)
        self.fit_rect(whole)
        if self.zoom() >= READABLE_ZOOM:
            return
        self.set_zoom(READABLE_ZOOM)
        column = QRectF()
        for r in rects:
            if r.left() <= whole.left() + r.width() * 1.5:
                column = column.united(r)
        visible = self.mapToScene(self.viewport().rect()).boundingRect()
        self.centerOn(QPointF(whole.left() - 60 + visible.width() / 2, column.center().y()))

    def fit_selection(self) -> None:
        rect = QRectF()
        for item in self.graph_scene.selectedItems():
            rect = rect.united(item.sceneBoundingRect())
        self.fit_rect(rect) if not rect.isNull() else self.fit_all()

    # --- background ----------------------------------------------------------------------

    def _on_zoom_changed(self, zoom: float) -> None:
        far = zoom < FAR_ZOOM
        if far != self.graph_scene.far:
            # Far out the background holds the overview (the nodes and wires), which
            # changes with them: it cannot be cached as the grid is.
            self.setCacheMode(QGraphicsView.CacheModeFlag.CacheNone if far
                              else QGraphicsView.CacheModeFlag.CacheBackground)
            self.resetCachedContent()
        self.graph_scene.set_far(far)

    def changeEvent(self, event: QEvent) -> None:
        """A theme switch reaches the canvas as a palette change: items, the cached
        grid and the overview are painted again in the new colours."""
        if event.type() == QEvent.Type.PaletteChange:
            self.graph_scene.restyle()
            self.resetCachedContent()
            self.viewport().update()
        super().changeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        started = time.perf_counter()
        super().paintEvent(event)
        # What a frame costs, for whoever paces repaints (the live run view).
        self.last_paint_s = time.perf_counter() - started

    def drawBackground(self, painter: QPainter, exposed: QRectF | QRect) -> None:
        rect = QRectF(exposed)
        painter.fillRect(rect, theme.BACKGROUND)
        zoom = self.zoom()
        if zoom < 0.25:
            self.graph_scene.draw_overview(painter, rect)
            return  # a grid finer than a few pixels is noise
        left = math.floor(rect.left() / GRID) * GRID
        top = math.floor(rect.top() / GRID) * GRID
        minor: list[tuple[float, bool]] = []  # (x or y, vertical)
        major: list[tuple[float, bool]] = []
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
        self.graph_scene.draw_overview(painter, rect)

    def drawForeground(self, painter: QPainter, exposed: QRectF | QRect) -> None:
        """An empty graph says how to begin (a new file would otherwise be a blank)."""
        if self.graph_scene.nodes:
            return
        painter.save()
        painter.resetTransform()
        box = QRectF(self.viewport().rect()).adjusted(40, 40, -40, -40)
        heading = QFont(self.font())
        heading.setPointSizeF(heading.pointSizeF() * 1.5)
        heading.setWeight(QFont.Weight.DemiBold)
        painter.setFont(heading)
        painter.setPen(theme.TEXT)
        middle = box.center().y()
        title = EMPTY_HINT[0] if self.graph_scene.graph_key is None else EMPTY_BODY_HINT[0]
        lines = EMPTY_HINT[1:] if self.graph_scene.graph_key is None else EMPTY_BODY_HINT[1:]
        painter.drawText(QRectF(box.left(), middle - 60, box.width(), 34),
                         Qt.AlignmentFlag.AlignCenter, title)
        painter.setFont(self.font())
        painter.setPen(theme.TEXT_DIM)
        painter.drawText(QRectF(box.left(), middle - 20, box.width(), 120),
                         Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop
                         | Qt.TextFlag.TextWordWrap, "\n".join(lines))
        painter.restore()

    # --- mouse and keys: gestures ----------------------------------------------------------

    def _interaction_for(self, event: QMouseEvent) -> Interaction | None:
        """The gesture a press starts: by the button and what lies under the mouse."""
        if event.button() == Qt.MouseButton.MiddleButton:
            return Pan(self)
        if event.button() != Qt.MouseButton.LeftButton:
            return None
        decor = decor_interaction(self, event)  # groups, notes, text typed in place
        if decor is not None:
            return decor
        port = self.graph_scene.port_at(self.scene_pos(event))
        if port is not None:
            return WireDrag.from_port(self, port)
        if self.itemAt(event.position().toPoint()) is not None:
            return NodeDrag(self)
        return RubberBand(self)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self._interaction is None:
            self._interaction = self._interaction_for(event)
        if self._interaction is None:
            self.qt_mouse_press(event)
            return
        self._interaction.press(event)
        self._forget_if_done()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._interaction is None:
            self.qt_mouse_move(event)
        else:
            self._interaction.move(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._interaction is None:
            self.qt_mouse_release(event)
            return
        self._interaction.release(event)
        self._forget_if_done()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        item = self.itemAt(event.position().toPoint())
        if event.button() == Qt.MouseButton.LeftButton and isinstance(item, NodeItem) and \
                self.graph_scene.port_at(self.scene_pos(event)) is None:
            self.node_double_clicked.emit(item.node_id)
            return
        super().mouseDoubleClickEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        if self._interaction is not None:  # a right-click mid-gesture: the gesture wins
            return
        item = self.itemAt(event.pos())
        while item is not None and not isinstance(item, DecorItem | NodeItem | EdgeItem):
            item = item.parentItem()
        if isinstance(item, DecorItem):  # a group's title or corner, a note: their own menu
            super().contextMenuEvent(event)
            return
        event.accept()
        self.context_menu_requested.emit(self.mapToScene(event.pos()), event.globalPos())

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self._interaction is not None and self._interaction.key_press(event):
            self._forget_if_done()
            return
        if self.graph_scene.decor.editing() is not None:
            super().keyPressEvent(event)  # Space, Tab and Esc are the text's while typing
            return
        key = event.key()
        if key == Qt.Key.Key_Space and self._interaction is None and not event.isAutoRepeat() \
                and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            self._interaction = Pan(self, by_space=True)
            return
        if key == Qt.Key.Key_Tab:
            self.search_requested.emit(self.cursor_scene_pos())
            return
        if key == Qt.Key.Key_Escape and self._interaction is None:
            self.escape_pressed.emit()
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if self._interaction is not None and self._interaction.key_release(event):
            self._forget_if_done()
            return
        super().keyReleaseEvent(event)

    def _forget_if_done(self) -> None:
        if self._interaction is not None and self._interaction.done:
            self._interaction = None

    # --- what gestures use ---------------------------------------------------------------

    def qt_mouse_press(self, event: QMouseEvent) -> None:
        """Qt's own handling: items select and move themselves."""
        super().mousePressEvent(_shift_as_ctrl(event))

    def qt_mouse_move(self, event: QMouseEvent) -> None:
        super().mouseMoveEvent(event)

    def qt_mouse_release(self, event: QMouseEvent) -> None:
        super().mouseReleaseEvent(_shift_as_ctrl(event))

    def scene_pos(self, event: QMouseEvent) -> QPointF:
        return self.mapToScene(event.position().toPoint())

    def cursor_scene_pos(self) -> QPointF:
        return self.mapToScene(self.mapFromGlobal(self.cursor().pos()))

    def scroll_by(self, delta: QPointF) -> None:
        self.horizontalScrollBar().setValue(int(self.horizontalScrollBar().value() - delta.x()))
        self.verticalScrollBar().setValue(int(self.verticalScrollBar().value() - delta.y()))

    def focusNextPrevChild(self, next: bool) -> bool:
        return False  # Tab belongs to the quick search, not to focus traversal

    # --- drops from the palette ----------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasFormat(NODE_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()  # the main window handles dropped files

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if event.mimeData().hasFormat(NODE_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        data = event.mimeData()
        if data.hasFormat(NODE_MIME):
            type_id = bytes(data.data(NODE_MIME).data()).decode()
            self.add_node_requested.emit(type_id, self.mapToScene(event.position().toPoint()))
            event.acceptProposedAction()
        else:
            event.ignore()
