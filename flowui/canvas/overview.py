"""The graph zoomed far out, drawn in one pass: every node a filled block and every
wire a line, batched by colour, instead of thousands of items painting themselves.

Below the block level of detail the scene marks its items as having no contents, so
Qt skips its per-item painting work (~10 µs an item, most of a frame at 4,000 items)
and the scene's background draws this overview instead."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QLineF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

from flowui import theme
from flowui.canvas.edge_item import WAITING, EdgeItem
from flowui.canvas.node_item import NodeItem


def paint_overview(painter: QPainter, exposed: QRectF, nodes: Iterable[NodeItem],
                   edges: Iterable[EdgeItem]) -> None:
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
    lines: dict[int, tuple[QColor, list[QLineF]]] = {}
    for edge in edges:
        if edge.isSelected():
            color = theme.WIRE_SELECTED
        else:
            color = edge.dim_color if edge.flow == WAITING else edge.color
        key = color.rgba()
        entry = lines.get(key)
        if entry is None:
            entry = lines[key] = (color, [])
        entry[1].append(edge.line())
    for color, batch in lines.values():
        painter.setPen(QPen(color, 0))
        painter.drawLines(batch)
    blocks: dict[int, tuple[QColor, list[QRectF]]] = {}
    for node in nodes:
        rect = node.scene_body_rect()
        if not rect.intersects(exposed):
            continue
        color = node.far_color()
        key = color.rgba()
        entry2 = blocks.get(key)
        if entry2 is None:
            entry2 = blocks[key] = (color, [])
        entry2[1].append(rect)
    painter.setPen(Qt.PenStyle.NoPen)
    for color, rects in blocks.values():
        painter.setBrush(color)
        painter.drawRects(rects)
