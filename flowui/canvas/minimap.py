"""View > Minimap: the whole graph in a small overlay in the canvas's bottom-right
corner, with the rectangle the view shows; click to centre the view there, drag to
pan, wheel to zoom the view.

Cheap by construction: the nodes (blocks in their category colour) are drawn once
into a kept picture, drawn again only when the graph changes (nodes added, removed,
moved or resized; another graph shown; the theme), a burst of changes once, a
moment after it. A pan or a zoom of the view repaints the overlay from that picture
plus one rectangle (bench/editor.py measures what it adds to a panning frame).

The overlay is a child of the viewport, put back in its corner after each scroll (a
viewport scrolls its children along with its pixels): as a sibling over the viewport
it would stop Qt from scrolling the viewport's pixels, and every panning frame would
paint the whole canvas instead of the strip that came into view."""

from __future__ import annotations

import math

from PySide6.QtCore import (
    QCoreApplication,
    QEvent,
    QObject,
    QPointF,
    QRectF,
    QSettings,
    QSize,
    Qt,
    QTimer,
)
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QWheelEvent,
)
from PySide6.QtWidgets import QWidget

from flowui import theme
from flowui.canvas.node_item import NodeItem
from flowui.canvas.view import GraphView
from flowui.theme import mix

SETTINGS_KEY = "view/minimap"
WIDTH, MIN_HEIGHT, MAX_HEIGHT = 220, 70, 160  # the overlay's size in pixels
MARGIN = 12  # from the viewport's corner
INSET = 8  # the graph's picture inside the overlay's frame
RADIUS = 8.0
RENDER_DELAY_MS = 120  # a burst of edits (a paste, an auto-layout's moves) renders once
_BACK_TO_CORNER = QEvent.Type(QEvent.registerEventType())


class Minimap(QWidget):
    """The overlay on one view. `renders` counts the pictures drawn (tests: a pan
    draws none)."""

    def __init__(self, view: GraphView, settings: QSettings) -> None:
        super().__init__(view.viewport())
        self.view = view
        self.scene = view.graph_scene
        self.settings = settings
        self.renders = 0
        self._image: QImage | None = None
        self._world = QRectF()  # the scene rectangle the picture shows
        self._grab: QPointF | None = None  # a drag: where in the visible rect it was held
        # Opaque, so Qt never paints the canvas under it: a pan then repaints only the
        # canvas's new strip and the slivers the overlay's return uncovers (translucent,
        # the canvas under all of it was painted again each frame: +45% at 5,000 nodes).
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Minimap: click or drag to move the view, wheel to zoom")
        self._stale = QTimer(self, singleShot=True, interval=RENDER_DELAY_MS)
        self._stale.timeout.connect(self._render_and_show)
        self._return_posted = False  # see _on_scrolled
        doc = self.scene.doc
        for signal in (doc.node_added, doc.node_removed, doc.node_moved, doc.node_changed):
            signal.connect(self._on_graph_edited)
        self.scene.rebuilt.connect(self.invalidate_now)  # another graph, another file
        # The view's visible rectangle: scroll bars move on a pan, the zoom on a zoom.
        view.horizontalScrollBar().valueChanged.connect(self._on_scrolled)
        view.verticalScrollBar().valueChanged.connect(self._on_scrolled)
        view.zoom_changed.connect(self.update)
        view.viewport().installEventFilter(self)  # its resizes place the overlay
        self.wanted: bool = bool(settings.value(SETTINGS_KEY, False, type=bool))
        self.invalidate_now()

    # --- on or off -------------------------------------------------------------------------

    def set_wanted(self, on: bool) -> None:
        """View > Minimap: remembered; shown whenever the graph has nodes."""
        self.wanted = on
        self.settings.setValue(SETTINGS_KEY, on)
        self._refresh_visibility()

    def _refresh_visibility(self) -> None:
        show = self.wanted and bool(self.scene.nodes)
        if show and self._image is None:
            self._render()
        if show:
            self._place()
            self.raise_()
        self.setVisible(show)

    # --- the kept picture ------------------------------------------------------------------

    def _on_graph_edited(self, graph: object, *_: object) -> None:
        if graph == self.scene.graph_key:
            self._image = None if not self.scene.nodes else self._image
            self._stale.start()  # (restarted by each edit of a burst)
            if not self.scene.nodes:
                self._refresh_visibility()

    def invalidate_now(self) -> None:
        """Another graph shown: drawn at once, not a moment later."""
        self._stale.stop()
        self._render_and_show()

    def _render_and_show(self) -> None:
        self._image = None
        if self.wanted and self.scene.nodes:
            self._render()
        self._refresh_visibility()
        self.update()

    def _graph_bounds(self) -> QRectF:
        bounds = QRectF()
        for item in self.scene.nodes.values():
            bounds = bounds.united(self._rect(item))
        return bounds

    def _rect(self, item: NodeItem) -> QRectF:
        """A node's body where the document has it: a gliding node (auto-layout) is
        drawn where it is going, as the picture is kept until the next edit."""
        rect = item.scene_body_rect()
        x, y = self.scene.doc.node(self.scene.graph_key, item.node_id).position
        return rect.translated(x - item.pos().x(), y - item.pos().y())

    def _render(self) -> None:
        """Draw the nodes into the picture, sized to the graph's proportions."""
        bounds = self._graph_bounds()
        if bounds.isNull():
            self._image = None
            return
        pad = max(bounds.width(), bounds.height()) * 0.04
        bounds = bounds.adjusted(-pad, -pad, pad, pad)
        inner_w = WIDTH - 2 * INSET
        inner_h = min(MAX_HEIGHT - 2 * INSET,
                      max(MIN_HEIGHT - 2 * INSET, inner_w * bounds.height() / bounds.width()))
        # The world shown keeps the graph's aspect: widened to the picture's if need be.
        scale = min(inner_w / bounds.width(), inner_h / bounds.height())
        world_w, world_h = inner_w / scale, inner_h / scale
        centre = bounds.center()
        self._world = QRectF(centre.x() - world_w / 2, centre.y() - world_h / 2,
                             world_w, world_h)
        size = QSize(WIDTH, round(inner_h + 2 * INSET))
        if self.size() != size:
            self.resize(size)
        # The whole overlay in one opaque picture (frame, corners, nodes): a pan frame
        # copies it and draws one rectangle over it.
        look = theme.current()
        ratio = self.devicePixelRatioF()
        image = QImage(round(size.width() * ratio), round(size.height() * ratio),
                       QImage.Format.Format_RGB32)
        image.setDevicePixelRatio(ratio)
        image.fill(look.background)  # the rounded corners: the canvas
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(look.border, 1))
        painter.setBrush(mix(look.panel, look.background, 0.9))
        painter.drawRoundedRect(QRectF(0.5, 0.5, size.width() - 1, size.height() - 1),
                                RADIUS, RADIUS)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setClipRect(QRectF(INSET, INSET, inner_w, inner_h))
        painter.translate(INSET, INSET)
        painter.scale(scale, scale)
        painter.translate(-self._world.topLeft())
        painter.setPen(Qt.PenStyle.NoPen)
        batches: dict[int, tuple[QColor, list[QRectF]]] = {}
        for item in self.scene.nodes.values():
            color = QColor(look.unknown_category) if item.unknown \
                else look.category_color(item.category)
            entry = batches.setdefault(color.rgba(), (color, []))
            entry[1].append(self._rect(item))
        minimum = 1.5 / scale  # a node stays at least a pixel and a half, however far
        for color, rects in batches.values():
            painter.setBrush(color)
            painter.drawRects([r if r.width() * scale >= 1.5 and r.height() * scale >= 1.5
                               else QRectF(r.x(), r.y(), max(r.width(), minimum),
                                           max(r.height(), minimum)) for r in rects])
        painter.end()
        self._image = image
        self.renders += 1

    # --- geometry --------------------------------------------------------------------------

    def _place(self) -> None:
        viewport = self.view.viewport().rect()
        self.move(viewport.right() + 1 - MARGIN - self.width(),
                  viewport.bottom() + 1 - MARGIN - self.height())

    def _on_scrolled(self) -> None:
        """The view scrolled: the viewport moved this overlay with its pixels. It goes
        back to the corner once the pan step is over (a step scrolls twice, across then
        down: moved between the two, the overlay's old place would be left to repaint
        and Qt would repaint the whole canvas rather than blit it), and before the frame
        (a posted event of normal priority runs before the low one that paints)."""
        if self.isVisible() and not self._return_posted:
            self._return_posted = True
            QCoreApplication.postEvent(self, QEvent(_BACK_TO_CORNER))

    def customEvent(self, event: QEvent) -> None:
        if event.type() == _BACK_TO_CORNER:
            self._return_posted = False
            if self.isVisible():
                self._place()
                self.update()

    def _picture_rect(self) -> QRectF:
        return QRectF(self.rect()).adjusted(INSET, INSET, -INSET, -INSET)

    def to_scene(self, pos: QPointF) -> QPointF:
        """A point of the overlay as a point of the scene."""
        picture = self._picture_rect()
        return QPointF(
            self._world.left() + (pos.x() - picture.left()) * self._world.width()
            / picture.width(),
            self._world.top() + (pos.y() - picture.top()) * self._world.height()
            / picture.height())

    def from_scene(self, rect: QRectF) -> QRectF:
        picture = self._picture_rect()
        sx = picture.width() / self._world.width()
        sy = picture.height() / self._world.height()
        return QRectF(picture.left() + (rect.left() - self._world.left()) * sx,
                      picture.top() + (rect.top() - self._world.top()) * sy,
                      rect.width() * sx, rect.height() * sy)

    def visible_scene_rect(self) -> QRectF:
        return self.view.mapToScene(self.view.viewport().rect()).boundingRect()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and self.isVisible():
            self._place()
        return False

    def changeEvent(self, event: QEvent) -> None:
        # A theme switch: the category colours change.
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._render_and_show()
        super().changeEvent(event)

    # --- painting --------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        if self._image is None or self._world.isEmpty():
            return
        look = theme.current()
        painter = QPainter(self)
        painter.drawImage(QPointF(), self._image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        # The view's rectangle: clipped to the picture, a soft fill and a crisp outline.
        shown = self.from_scene(self.visible_scene_rect()).intersected(
            QRectF(self.rect()).adjusted(2, 2, -2, -2))
        if not shown.isEmpty():
            accent = QColor(look.node_selected)
            fill = QColor(accent)
            fill.setAlpha(40)
            painter.setBrush(fill)
            painter.setPen(QPen(mix(accent, look.text, 0.2), 1.2))
            painter.drawRoundedRect(shown, 2, 2)
        painter.end()

    # --- navigating ------------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            event.ignore()
            return
        at = self.to_scene(event.position())
        visible = self.visible_scene_rect()
        # Held inside the view's rectangle it moves as held (no jump); elsewhere the
        # view is first centred on the point.
        self._grab = at - visible.center() if visible.contains(at) else QPointF()
        if self._grab.isNull():
            self.view.centerOn(at)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._grab is not None:
            self.view.centerOn(self.to_scene(event.position()) - self._grab)
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._grab = None
        event.accept()

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        event.accept()  # not the canvas's menu for the point hidden under the overlay

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            centre = QPointF(self.view.viewport().rect().center())
            self.view.set_zoom(self.view.zoom() * math.pow(1.2, steps), centre)
        event.accept()
