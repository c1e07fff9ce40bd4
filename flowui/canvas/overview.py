"""The graph zoomed far out, drawn in one pass: every node a filled block and every
wire a line, batched by colour, instead of thousands of items painting themselves.

Below the block level of detail the scene marks its items as having no contents, so
Qt skips its per-item painting work (~10 µs an item, most of a frame at 4,000 items)
and the scene's background draws this overview instead.

What is drawn is kept between frames as a picture of the viewport: during a run
every frame recolours a few hundred of 10,000 nodes and wires, and only those are
drawn again (drawing all of them cost 20-40 ms a frame, most of it 10,000 long
wires; bench/live.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Generic, Protocol, TypeVar

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QTransform

from flowui import theme
from flowui.canvas.edge_item import WAITING, EdgeItem
from flowui.canvas.node_item import NodeItem

Item = TypeVar("Item")
Shape = TypeVar("Shape")


class _Layer(Generic[Item, Shape]):
    """One kind of item (wires, or nodes) drawn into a picture of the viewport that
    is kept between frames: an item whose colour changed is drawn again over its old
    self; anything else (a zoom, a scroll, an item moved, added or removed, a
    selection) redraws the whole picture."""

    def __init__(self, describe: Callable[[Item], tuple[QColor, Shape]],
                 draw: Callable[[QPainter, QColor, list[Shape]], None]) -> None:
        self._describe = describe
        self._draw = draw
        self._image: QImage | None = None
        self._key: tuple[object, ...] = ()  # the transform and device it was drawn for
        self._redraw = True
        self._dirty: dict[Item, None] = {}  # recoloured since; in order: the last on top
        self._drawn = 0  # items in the picture: an empty one is not blitted

    def invalidate(self) -> None:
        self._redraw = True
        self._dirty.clear()

    def recolored(self, item: Item) -> None:
        if not self._redraw:
            self._dirty[item] = None

    def paint(self, painter: QPainter, items: Iterable[Item]) -> None:
        device = painter.device()
        ratio = device.devicePixelRatioF()
        transform = painter.worldTransform()
        key = (transform.m11(), transform.m12(), transform.m21(), transform.m22(),
               transform.dx(), transform.dy(), device.width(), device.height(), ratio)
        if key != self._key or self._image is None:
            self._key = key
            self._image = QImage(round(device.width() * ratio), round(device.height() * ratio),
                                 QImage.Format.Format_ARGB32_Premultiplied)
            self._image.setDevicePixelRatio(ratio)
            self._redraw = True
        if self._redraw:
            self._redraw = False
            self._dirty.clear()
            self._image.fill(Qt.GlobalColor.transparent)
            self._drawn = self._draw_items(transform, items)
        elif self._dirty:
            dirty, self._dirty = self._dirty, {}
            self._drawn += self._draw_items(transform, dirty)
        if not self._drawn:
            return
        painter.save()
        painter.resetTransform()
        painter.drawImage(QPointF(), self._image)
        painter.restore()

    def draw_direct(self, painter: QPainter, items: Iterable[Item]) -> int:
        """Draw the items; how many there were."""
        count = 0
        for color, shapes in self._batches(items):
            self._draw(painter, color, shapes)
            count += len(shapes)
        return count

    def _draw_items(self, transform: QTransform, items: Iterable[Item]) -> int:
        assert self._image is not None
        painter = QPainter(self._image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setTransform(transform)
        count = self.draw_direct(painter, items)
        painter.end()
        return count

    def _batches(self, items: Iterable[Item]) -> Iterable[tuple[QColor, list[Shape]]]:
        batches: dict[int, tuple[QColor, list[Shape]]] = {}
        for item in items:
            color, shape = self._describe(item)
            key = color.rgba()
            entry = batches.get(key)
            if entry is None:
                entry = batches[key] = (color, [])
            entry[1].append(shape)
        return batches.values()


def _draw_lines(painter: QPainter, color: QColor, lines: list[QLineF]) -> None:
    painter.setPen(QPen(color, 0))  # cosmetic 1 px: the cheapest line there is
    painter.drawLines(lines)


def _draw_blocks(painter: QPainter, color: QColor, rects: list[QRectF]) -> None:
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    painter.drawRects(rects)


class Backdrop(Protocol):
    """A group or a sticky note, as the overview draws it (flowui.canvas.decor_items)."""

    def far_color(self) -> QColor: ...

    def scene_rect(self) -> QRectF: ...

    def zValue(self) -> float: ...


def _backdrop_batches(items: Iterable[Backdrop]) -> Iterable[tuple[QColor, list[QRectF]]]:
    """By colour, groups (lower) before notes."""
    batches: dict[tuple[float, int], tuple[QColor, list[QRectF]]] = {}
    for item in items:
        color = item.far_color()
        batches.setdefault((item.zValue(), color.rgba()), (color, []))[1].append(
            item.scene_rect())
    return [batches[k] for k in sorted(batches, key=lambda k: k[0])]


def _node_block(node: NodeItem) -> tuple[QColor, QRectF]:
    return node.far_color(), node.scene_body_rect()


def _edge_line(edge: EdgeItem) -> tuple[QColor, QLineF]:
    if edge.isSelected():
        return theme.WIRE_SELECTED, edge.line()
    return (edge.dim_color if edge.flow == WAITING else edge.color), edge.line()


class Overview:
    """The far picture of one scene. The scene says when items come or go
    (`invalidate`), items when they changed (`changed`: moved, or only recoloured)."""

    def __init__(self) -> None:
        self._nodes: _Layer[NodeItem, QRectF] = _Layer(_node_block, _draw_blocks)
        self._edges: _Layer[EdgeItem, QLineF] = _Layer(_edge_line, _draw_lines)
        # wires passing through a node they do not touch: drawn over the blocks
        self._over: _Layer[EdgeItem, QLineF] = _Layer(_edge_line, _draw_lines)
        self.over_wires = 0  # how many there are (none: no third picture to keep)

    def invalidate(self) -> None:
        self._nodes.invalidate()
        self._edges.invalidate()
        self._over.invalidate()

    def changed(self, item: NodeItem | EdgeItem, *, moved: bool) -> None:
        """A moved (or resized) item redraws the whole picture; a recoloured one is
        drawn again over its old self."""
        if moved:
            self.invalidate()
        elif isinstance(item, NodeItem):
            self._nodes.recolored(item)
        elif item.over:
            self._over.recolored(item)
        else:
            self._edges.recolored(item)

    def paint(self, painter: QPainter, nodes: Iterable[NodeItem],
               edges: Iterable[EdgeItem], *, kept: bool = True,
               backdrops: Iterable[Backdrop] = ()) -> None:
        """Groups and notes under wires under nodes (but wires drawn over them), clipped
        by the painter to what is exposed. `kept`: from the pictures kept for the view
        (else drawn afresh, e.g. into an export). Backdrops are few: drawn afresh each
        frame, plain rects."""
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        for color, rects in _backdrop_batches(backdrops):
            _draw_blocks(painter, color, rects)
        over = self.over_wires
        under = (e for e in edges if not e.over) if over else edges
        above = (e for e in edges if e.over)  # (both read only when drawn afresh)
        if kept:
            self._edges.paint(painter, under)
            self._nodes.paint(painter, nodes)
            if over:
                self._over.paint(painter, above)
        else:
            self._edges.draw_direct(painter, under)
            self._nodes.draw_direct(painter, nodes)
            if over:
                self._over.draw_direct(painter, above)
