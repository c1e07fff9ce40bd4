"""A wire on the canvas: a cubic curve between two ports, coloured by the value type.

Its bounding rect is the curve's own (tight), so the scene index culls long wires
that are off screen; far zoomed out it is a plain line without antialiasing.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsSceneHoverEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

from flowui import theme


def wire_path(start: QPointF, end: QPointF) -> QPainterPath:
    dx = max(abs(end.x() - start.x()) * 0.5, 40.0)
    path = QPainterPath(start)
    path.cubicTo(start + QPointF(dx, 0), end - QPointF(dx, 0), end)
    return path


_FAR_SELECTED = QPen(theme.WIRE_SELECTED, 0)


class EdgeItem(QGraphicsItem):
    def __init__(self, source: str, target: str, port_type: str) -> None:
        super().__init__()
        self.color = theme.port_color(port_type)
        self._far_pen = QPen(self.color, 0)  # cosmetic 1 px: the cheapest line there is
        self._start = QPointF()
        self._end = QPointF()
        self._path = QPainterPath()
        self._bounds = QRectF()
        self._shape: QPainterPath | None = None
        self._hover = False
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.setZValue(0)
        self.set_endpoints(source, target)

    @property
    def key(self) -> tuple[str, str]:
        return self.source, self.target

    def set_endpoints(self, source: str, target: str) -> None:
        """The ports it joins ("node.port"), e.g. after a node was renamed."""
        self.source, self.target = source, target
        self.is_error = source.endswith(".error")
        self.setToolTip(f"{source} → {target}")

    def set_ends(self, start: QPointF, end: QPointF) -> None:
        if start == self._start and end == self._end:
            return
        self.prepareGeometryChange()
        self._start, self._end = start, end
        self._path = wire_path(start, end)
        self._bounds = self._path.controlPointRect().adjusted(-4, -4, 4, 4)
        self._shape = None

    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        if self._shape is None:  # a wide invisible band makes a 2 px wire easy to click
            stroker = QPainterPathStroker()
            stroker.setWidth(10)
            self._shape = stroker.createStroke(self._path)
        return self._shape

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        selected = self.isSelected()
        if option.levelOfDetailFromTransform(painter.worldTransform()) < 0.35:
            # Far away (thousands of wires in a frame): a straight line, nothing to compute.
            painter.setPen(_FAR_SELECTED if selected else self._far_pen)
            painter.drawLine(self._start, self._end)
            return
        color = theme.WIRE_SELECTED if selected else QColor(self.color)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        width = 3.0 if (selected or self._hover) else 2.0
        pen = QPen(color, width)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        if self.is_error:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)

    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self._hover = True
        self.update()

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self._hover = False
        self.update()
