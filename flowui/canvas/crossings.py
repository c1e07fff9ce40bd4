"""Wires that pass through a node they do not touch: drawn over the nodes (with a
casing of the canvas's colour along them, as maps draw a road over another), never
vanishing under one as if plugged into it.

Which wires cross which nodes is worked out on the event loop's next turn (a drag
step, a file opened, an undo, an auto-layout each make one batch) for the wires whose
ends moved and the wires near a node that moved, for at most SLICE_S a turn (in
batches of 1,500 wires, opening 2,000 nodes stalled a real window for 70-120 ms
twice). Nodes are
found through a grid of their boxes kept here, each piece of a wire's curve against
the nodes of the cells under it: asking the scene's index for each of 7,500 wires
cost 0.3 ms a wire (its answer is sorted and wrapped item by item), 2-4 s to open
5,000 nodes."""

from __future__ import annotations

from itertools import pairwise
from time import perf_counter

import shiboken6
from PySide6.QtCore import QObject, QRectF, Qt, QTimer
from PySide6.QtWidgets import QGraphicsScene

from flowui.canvas.edge_item import EdgeItem
from flowui.canvas.node_item import NodeItem
from flowui.wire_geometry import polyline, segment_enters

_BOUNDS = Qt.ItemSelectionMode.IntersectsItemBoundingRect
CELL = 400.0  # the grid's cell: about two nodes wide
MANY = 64  # more nodes moved at once than this: every wire is checked again
SLICE_S = 0.008  # wires are checked for this long a turn of the loop, then frames go on
CHECK_EVERY = 64  # wires between looks at the clock (~40 us each)
Cell = tuple[int, int]


def _cells(rect: QRectF) -> list[Cell]:
    x0, y0 = int(rect.left() // CELL), int(rect.top() // CELL)
    x1, y1 = int(rect.right() // CELL), int(rect.bottom() // CELL)
    return [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


class Crossings(QObject):
    def __init__(self, scene: QGraphicsScene) -> None:
        super().__init__(scene)
        self.scene = scene
        self._dirty: dict[EdgeItem, None] = {}  # wires to check
        self._moved: dict[NodeItem, None] = {}  # nodes moved or resized since
        self._over: dict[NodeItem, set[EdgeItem]] = {}  # node -> wires drawn over it
        self._crosses: dict[EdgeItem, list[NodeItem]] = {}  # the other way round
        # the nodes by cell, each with its box (less 1 px: touching is not crossing)
        self._grid: dict[Cell, dict[NodeItem, tuple[NodeItem, float, float, float, float]]] = {}
        self._filed: dict[NodeItem, list[Cell]] = {}
        self._held = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.settle)

    # --- told by the scene ------------------------------------------------------------------

    def wire_moved(self, edge: EdgeItem) -> None:
        self._dirty[edge] = None
        self._schedule()

    def node_moved(self, node: NodeItem) -> None:
        """A node moved or resized: the wires near where it is now, and those drawn over
        it where it was, are checked again."""
        if node.scene() is self.scene:  # (else being built: filed when first checked)
            self._moved[node] = None
            self._schedule()

    def node_removed(self, node: NodeItem) -> None:
        self._moved.pop(node, None)
        self._unfile_node(node)
        for edge in self._over.pop(node, ()):
            self._dirty[edge] = None
        self._schedule()

    def wire_removed(self, edge: EdgeItem) -> None:
        self._dirty.pop(edge, None)
        self._file_wire(edge, [])

    def clear(self) -> None:
        self._dirty.clear()
        self._moved.clear()
        self._over.clear()
        self._crosses.clear()
        self._grid.clear()
        self._filed.clear()
        overview = getattr(self.scene, "overview", None)
        if overview is not None:
            overview.over_wires = 0

    @property
    def pending(self) -> bool:
        """Wires or nodes wait to be checked (on the loop's next turns)."""
        return bool(self._dirty or self._moved)

    def hold(self) -> None:
        """Many moves to come (a glide): check once, at `release`."""
        self._held += 1

    def release(self) -> None:
        self._held = max(0, self._held - 1)
        self._schedule()

    def _schedule(self) -> None:
        if (self._dirty or self._moved) and not self._held and not self._timer.isActive():
            self._timer.start()

    # --- the check --------------------------------------------------------------------------

    def settle(self) -> None:
        """Check every wire waiting; a wire's state changes its z and its drawing."""
        self._timer.stop()
        if self._held:
            return
        nodes: dict[str, NodeItem] = getattr(self.scene, "nodes", {})
        if len(self._filed) != len(nodes):  # nodes added (or a new graph): file them
            for node in nodes.values():
                if node not in self._filed:
                    self._moved[node] = None
        moved, self._moved = self._moved, {}
        for node in [n for n in moved if not shiboken6.isValid(n)]:
            del moved[node]
            self._unfile_node(node)
        for node in moved:
            self._file_node(node)
        if len(moved) > MANY:  # an auto-layout, an undo of one: everything again
            edges: dict[object, EdgeItem] = getattr(self.scene, "edges", {})
            self._dirty.update(dict.fromkeys(edges.values()))
        else:
            for node in moved:
                for edge in self._over.get(node, ()):
                    self._dirty[edge] = None
                for item in self.scene.items(node.sceneBoundingRect(), _BOUNDS):
                    if isinstance(item, EdgeItem):
                        self._dirty[item] = None
        changed = False
        deadline = perf_counter() + SLICE_S
        waiting, self._dirty = list(self._dirty), {}
        for i, edge in enumerate(waiting):
            if i % CHECK_EVERY == 0 and i and perf_counter() > deadline:
                self._dirty.update(dict.fromkeys(waiting[i:]))  # next turn: frames go on
                self._timer.start()
                break
            if not shiboken6.isValid(edge) or edge.scene() is not self.scene:
                continue  # removed since
            crossed = self.crossed_by(edge)
            self._file_wire(edge, crossed)
            changed |= edge.set_over(bool(crossed))
        if changed:
            overview = getattr(self.scene, "overview", None)
            if overview is not None:
                overview.over_wires = len(self._crosses)
                overview.invalidate()
                if getattr(self.scene, "far", False):
                    self.scene.update()  # the overview draws them: Qt does not know

    def _file_node(self, node: NodeItem) -> None:
        self._unfile_node(node)
        if not shiboken6.isValid(node) or node.scene() is not self.scene:
            return  # deleted since (a scene cleared without telling, e.g. a thumbnail's)
        r = node.scene_body_rect()
        cells = _cells(r)
        self._filed[node] = cells
        entry = (node, r.left() + 1, r.top() + 1, r.right() - 1, r.bottom() - 1)
        for cell in cells:
            self._grid.setdefault(cell, {})[node] = entry

    def _unfile_node(self, node: NodeItem) -> None:
        for cell in self._filed.pop(node, ()):
            here = self._grid.get(cell)
            if here is not None:
                here.pop(node, None)
                if not here:
                    del self._grid[cell]

    def _file_wire(self, edge: EdgeItem, crossed: list[NodeItem]) -> None:
        for node in self._crosses.pop(edge, ()):
            wires = self._over.get(node)
            if wires is not None:
                wires.discard(edge)
                if not wires:
                    del self._over[node]
        if crossed:
            self._crosses[edge] = crossed
            for node in crossed:
                self._over.setdefault(node, set()).add(edge)

    def crossed_by(self, edge: EdgeItem) -> list[NodeItem]:
        """The nodes, other than its own two, that the wire passes through: each piece
        of the curve against the nodes filed in the cells under it."""
        ends = (edge.source.split(".", 1)[0], edge.target.split(".", 1)[0])
        grid = self._grid
        start, end = edge.ends()
        points = polyline((start.x(), start.y()), (end.x(), end.y()))
        found: list[NodeItem] = []
        for (ax, ay), (bx, by) in pairwise(points):
            lo_x, hi_x = (ax, bx) if ax < bx else (bx, ax)
            lo_y, hi_y = (ay, by) if ay < by else (by, ay)
            for cx in range(int(lo_x // CELL), int(hi_x // CELL) + 1):
                for cy in range(int(lo_y // CELL), int(hi_y // CELL) + 1):
                    here = grid.get((cx, cy))
                    if here is None:
                        continue
                    for node, left, top, right, bottom in here.values():
                        if hi_x <= left or lo_x >= right or hi_y <= top or lo_y >= bottom:
                            continue  # the piece's box misses the node's
                        if node.node_id in ends or node in found:
                            continue
                        if segment_enters(ax, ay, bx, by, left, top, right, bottom):
                            found.append(node)
        return found
