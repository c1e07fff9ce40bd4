"""A wire on the canvas: a cubic curve between two ports, coloured by the value type.

Its bounding rect is the curve's own (tight), so the scene index culls long wires
that are off screen; far zoomed out it is a plain line without antialiasing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsSceneHoverEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

from flowui import theme
from flowui.wire_geometry import bend


def wire_path(start: QPointF, end: QPointF) -> QPainterPath:
    dx = bend(start.x(), end.x())
    path = QPainterPath(start)
    path.cubicTo(start + QPointF(dx, 0), end - QPointF(dx, 0), end)
    return path



_COUNT_FONT = QFont()
_COUNT_FONT.setPointSizeF(8.0)
_COUNT_FONT.setWeight(QFont.Weight.DemiBold)

# A wire's part in the run shown (`flow`): no run, waiting for a value, else how many
# values passed along it (more than one inside loop bodies).
NO_RUN, WAITING = 0, -1
WIRE_Z, OVER_Z = 0.0, 3.0  # under every node; over every node (see flowui.canvas.crossings)
CASING = 4.0  # the canvas-coloured band on each side of a wire drawn over a node
PORT_DISC = 6.5  # a port's disc (PORT_R, and its outline)


class EdgeItem(QGraphicsItem):
    def __init__(self, source: str, target: str, port_type: str) -> None:
        super().__init__()
        self.port_type = port_type
        self._set_colors()
        self._start = QPointF()
        self._end = QPointF()
        self._path = QPainterPath()
        self._line = QLineF()
        self._bounds = QRectF()
        self._shape: QPainterPath | None = None
        self._clip: QPainterPath | None = None  # drawn over nodes: all but its ports
        self._hover = False
        self.over = False  # drawn over the nodes it passes, with a casing
        self.flow = NO_RUN
        # The run overlay's: text describing the last value that passed, for the tooltip.
        self.describe: Callable[[EdgeItem], str] | None = None
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.setZValue(WIRE_Z)
        self.set_endpoints(source, target)

    def _set_colors(self) -> None:
        self.color = theme.port_color(self.port_type)
        self._far_pen = QPen(self.color, 0)  # cosmetic 1 px: the cheapest line there is
        # Waiting for a value while a run is shown: dimmed by mixing with the canvas,
        # not by alpha (an opaque line is drawn several times faster).
        self.dim_color = theme.mix(self.color, theme.BACKGROUND, 0.35)
        self._far_dim_pen = QPen(self.dim_color, 0)
        self._far_selected = QPen(theme.WIRE_SELECTED, 0)

    def restyle(self) -> None:
        """The theme changed: the port type's colour in it."""
        self._set_colors()
        self._far_changed(moved=False)
        self.update()

    @property
    def key(self) -> tuple[str, str]:
        return self.source, self.target

    def set_endpoints(self, source: str, target: str) -> None:
        """The ports it joins ("node.port"), e.g. after a node was renamed."""
        self.source, self.target = source, target
        self.source_port = source.split(".", 1)[1]
        self.is_error = source.endswith(".error")
        self.setToolTip(f"{source} → {target}")

    def set_ends(self, start: QPointF, end: QPointF) -> None:
        if start == self._start and end == self._end:
            return
        self.prepareGeometryChange()
        self._start, self._end = start, end
        self._path = wire_path(start, end)
        self._line = QLineF(start, end)  # the overview's (far zoom)
        self._bounds = self._path.controlPointRect().adjusted(-4, -4, 4, 4)
        self._shape = None
        self._clip = None
        self._far_changed(moved=True)

    def set_flow(self, flow: int, repaint: bool = True) -> None:
        if flow != self.flow:
            if (flow > 1) != (self.flow > 1):
                self.prepareGeometryChange()  # the count's label needs room
                self._clip = None
            self.flow = flow
            self._far_changed(moved=False)
            if repaint:
                self.update()

    def line(self) -> QLineF:
        return self._line

    def ends(self) -> tuple[QPointF, QPointF]:
        return self._start, self._end

    def curve_rect(self) -> QRectF:
        """Where the curve can be (its control points' box)."""
        return self._bounds

    def set_over(self, over: bool) -> bool:
        """Drawn over every node (it passes through one it does not touch), or under;
        True if that changed."""
        if over == self.over:
            return False
        self.prepareGeometryChange()  # the casing is wider
        self.over = over
        self._clip = None
        self.setZValue(OVER_Z if over else WIRE_Z)
        return True

    def _far_changed(self, *, moved: bool) -> None:
        """The far picture's line changed: its ends, or only its colour."""
        overview = getattr(self.scene(), "overview", None)
        if overview is not None:
            overview.changed(self, moved=moved)

    def update(self, *args: Any) -> None:
        scene = self.scene()
        if scene is not None and getattr(scene, "far", False):
            scene.update(self._bounds)  # drawn by the overview: no contents of its own
        else:
            super().update(*args)

    def boundingRect(self) -> QRectF:
        if self.flow > 1:
            return self._bounds.adjusted(-28, -12, 28, 12)
        return self._bounds.adjusted(-CASING, -CASING, CASING, CASING) if self.over \
            else self._bounds

    def shape(self) -> QPainterPath:
        if self._shape is None:  # a wide invisible band makes a 2 px wire easy to click
            stroker = QPainterPathStroker()
            stroker.setWidth(10)
            self._shape = stroker.createStroke(self._path)
        return self._shape

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        selected = self.isSelected()
        flow = self.flow
        if option.levelOfDetailFromTransform(painter.worldTransform()) < 0.35:
            # Far away (thousands of wires in a frame): a straight aliased line, nothing
            # to compute (antialiased, the same line costs ~20 times more to draw).
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
            painter.setPen(self._far_selected if selected else (
                self._far_dim_pen if flow == WAITING else self._far_pen))
            painter.drawLine(self._start, self._end)
            return
        color = theme.WIRE_SELECTED if selected else QColor(self.color)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        width = 3.0 if (selected or self._hover) else 2.0
        if self.over:  # a band of canvas along it: passing over the node, not into it
            painter.setClipPath(self._port_clip())  # its own ports stay on top of it
            # The view does not save painter state between items: a brush left by the
            # item painted before (a filled overlay) would fill the curve to its chord.
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(theme.BACKGROUND, width + 2 * CASING + (1 if flow > 0 else 0),
                                Qt.PenStyle.SolidLine, Qt.PenCapStyle.FlatCap))
            painter.drawPath(self._path)
        if flow == WAITING:  # a run is shown and nothing passed here (yet)
            color = QColor(self.dim_color)
        elif flow > 0:  # lit: a value passed
            width += 1.0
            glow = QColor(theme.STATUS_COLORS["completed"])  # lit: a green halo, as n8n
            glow.setAlphaF(0.35)
            painter.setPen(QPen(glow, width + 5, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
            painter.drawPath(self._path)
        pen = QPen(color, width)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        if self.is_error:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)
        if flow > 1:  # how many values passed (a wire inside a loop body)
            self._paint_count(painter, f"×{flow}")  # noqa: RUF001 (the sign is meant)

    def _port_clip(self) -> QPainterPath:
        """Everything but its two ports' discs: drawn over the nodes, the wire still
        goes into its ports as one drawn under them does."""
        if self._clip is None:
            clip = QPainterPath()
            clip.addRect(self.boundingRect().adjusted(-2, -2, 2, 2))
            ports = QPainterPath()
            for point in (self._start, self._end):
                ports.addEllipse(point, PORT_DISC, PORT_DISC)
            self._clip = clip.subtracted(ports)
        return self._clip

    def _paint_count(self, painter: QPainter, text: str) -> None:
        mid = self._path.pointAtPercent(0.5)
        box = QRectF(mid.x() - 4 - 4 * len(text), mid.y() - 9, 8 + 8 * len(text), 18)
        painter.setPen(QPen(QColor(self.color), 1))
        painter.setBrush(theme.NODE_BODY)
        painter.drawRoundedRect(box, 9, 9)
        painter.setFont(_COUNT_FONT)
        painter.setPen(theme.TEXT)
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self._hover = True
        describe = self.describe
        detail = describe(self) if describe is not None else ""
        self.setToolTip(f"{self.source} → {self.target}" + (f"\n{detail}" if detail else ""))
        self.update()

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self._hover = False
        self.update()
