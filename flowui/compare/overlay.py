"""The comparison drawn over the canvas: added nodes and wires outlined green, changed
ones amber, removed ones as dashed red ghosts where they used to be, the rest dimmed.

Every item here belongs to the scene only, never to the document: tints are children
of the node items (they follow a drag and die with a rebuild), ghosts are top-level
items this class owns and removes in `clear`.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QGraphicsSimpleTextItem

from engine.workflow.diff import GraphDiff
from engine.workflow.model import Graph
from flowui import theme
from flowui.canvas.edge_item import wire_path
from flowui.canvas.node_item import FOOTER_H, RADIUS, TITLE_H, WIDTH
from flowui.canvas.scene import GraphScene

DIMMED = 0.5  # unchanged items: still readable, clearly not the point
GHOST_Z = 0.5  # over the wires, under the nodes that exist


def colors() -> dict[str, QColor]:
    """The overlay's colours, from the theme in use (both themes define these hues)."""
    t = theme.current()
    return {"added": QColor(t.statuses["completed"]), "changed": QColor(t.edited),
            "removed": QColor(t.problem)}


class CompareOverlay:
    def __init__(self, scene: GraphScene) -> None:
        self.scene = scene
        self.items: list[QGraphicsItem] = []  # tints and ghosts: what clear() removes
        self.kinds: dict[str, str] = {}  # node id -> added/changed/removed/unchanged (shown)
        self.wire_kinds: dict[tuple[str, str], str] = {}
        self._dimmed: list[QGraphicsItem] = []

    def show(self, diff: GraphDiff | None, old: Graph | None) -> None:
        """Draw `diff` (of the graph the scene shows; `old` its earlier version)."""
        self.clear()
        if diff is None:
            return
        c = colors()
        by_node = {n.node_id: n for n in diff.nodes}
        for node_id, item in self.scene.nodes.items():
            nd = by_node.get(node_id)
            kind: str = "unchanged" if nd is None else "moved" if nd.minor else nd.kind
            self.kinds[node_id] = kind
            if kind in ("added", "changed"):
                self._tint(item, c[kind])
            elif kind in ("unchanged", "moved"):  # a move is layout, not an edit
                self._dim(item)
        added = {(w.source, w.target) for w in diff.wires if w.kind == "added"}
        for key, edge in self.scene.edges.items():
            if key in added:
                self.wire_kinds[key] = "added"
                tint = _path_item(wire_path(*edge.ends()), c["added"], 3.0, dashed=False)
                tint.setZValue(edge.zValue() + 0.01)  # a wire drawn over a node stays over
                self._add(tint, None)
            else:
                self.wire_kinds[key] = "unchanged"
                self._dim(edge)
        ghosts: dict[str, QRectF] = {}
        for nd in diff.nodes:
            spec = old.node(nd.node_id) if old is not None else None
            if nd.kind == "removed" and spec is not None:
                ghosts[nd.node_id] = self._ghost(spec.id, spec.title or spec.type,
                                                 QPointF(*spec.position), c["removed"])
                self.kinds[nd.node_id] = "removed"
        for w in diff.wires:
            if w.kind == "removed":
                start = self._end(w.source, True, ghosts)
                end = self._end(w.target, False, ghosts)
                if start is not None and end is not None:
                    self.wire_kinds[(w.source, w.target)] = "removed"
                    self._add(_path_item(wire_path(start, end), c["removed"], 2.0,
                                         dashed=True), None)

    def clear(self) -> None:
        # A tint dies with its node (deleted, or the scene rebuilt): skip the dead.
        for item in self.items:
            if shiboken6.isValid(item) and item.scene() is not None:
                item.scene().removeItem(item)
        self.items.clear()
        for item in self._dimmed:
            if shiboken6.isValid(item) and item.scene() is self.scene:
                item.setOpacity(1.0)
        self._dimmed.clear()
        self.kinds.clear()
        self.wire_kinds.clear()

    # --- pieces ---------------------------------------------------------------------------

    def _add(self, item: QGraphicsItem, parent: QGraphicsItem | None) -> None:
        if parent is not None:
            item.setParentItem(parent)
        else:
            self.scene.addItem(item)
        self.items.append(item)

    def _dim(self, item: QGraphicsItem) -> None:
        item.setOpacity(DIMMED)
        self._dimmed.append(item)

    def _tint(self, node: QGraphicsItem, color: QColor) -> None:
        rect = node.body_rect().adjusted(-4, -4, 4, 4)  # type: ignore[attr-defined]
        path = QPainterPath()
        path.addRoundedRect(rect, RADIUS + 3, RADIUS + 3)
        tint = _path_item(path, color, 2.5, dashed=False)
        fill = QColor(color)
        fill.setAlpha(28)
        tint.setBrush(QBrush(fill))
        tint.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # clicks reach the node
        self._add(tint, node)

    def _ghost(self, node_id: str, title: str, pos: QPointF, color: QColor) -> QRectF:
        rect = QRectF(pos, pos + QPointF(WIDTH, TITLE_H + FOOTER_H + 16))
        path = QPainterPath()
        path.addRoundedRect(rect, RADIUS, RADIUS)
        ghost = _path_item(path, color, 1.6, dashed=True)
        fill = QColor(color)
        fill.setAlpha(22)
        ghost.setBrush(QBrush(fill))
        ghost.setZValue(GHOST_Z)
        ghost.setToolTip(f"Removed: {title} ({node_id})")
        short = title if len(title) <= 26 else title[:25] + "…"  # within the ghost's width
        label = QGraphicsSimpleTextItem(f"\u2212 {short}", ghost)
        label.setBrush(QBrush(color))
        label.setPos(rect.topLeft() + QPointF(12, 6))
        sub = QGraphicsSimpleTextItem(node_id, ghost)
        sub.setBrush(QBrush(theme.current().text_dim))
        sub.setPos(rect.topLeft() + QPointF(12, TITLE_H + 4))
        self._add(ghost, None)
        return rect

    def _end(self, endpoint: str, output: bool, ghosts: dict[str, QRectF]) -> QPointF | None:
        node_id, port = endpoint.split(".", 1)
        item = self.scene.nodes.get(node_id)
        if item is not None:
            return item.port_pos(port, output)  # a port gone since: the node's side
        rect = ghosts.get(node_id)
        if rect is None:
            return None
        return QPointF(rect.right() if output else rect.left(), rect.center().y())


def _path_item(path: QPainterPath, color: QColor, width: float, *,
               dashed: bool) -> QGraphicsPathItem:
    item = QGraphicsPathItem(path)
    pen = QPen(color, width)
    pen.setCosmetic(False)
    if dashed:
        pen.setStyle(Qt.PenStyle.DashLine)
    item.setPen(pen)
    item.setBrush(QBrush())  # no fill: an open wire path would be filled to its chord
    item.setZValue(GHOST_Z)
    item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
    return item
