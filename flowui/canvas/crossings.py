"""Wires are drawn under nodes, so a wire passing behind a node it does not touch
would vanish there and look attached to it. Such a wire is drawn over every node
instead, with a casing of the canvas's colour along it (as maps draw a road over
another): visibly passing, never plugged in.

Which wires cross which nodes is worked out for the wires whose ends moved and the
wires near a node that moved, on the event loop's next turn (a drag step, a file
opened, an undo each make one batch), from the scene's own index of items."""

from __future__ import annotations

from PySide6.QtCore import QObject, QRectF, Qt, QTimer
from PySide6.QtWidgets import QGraphicsScene

from flowui.canvas.edge_item import EdgeItem
from flowui.canvas.node_item import NodeItem
from flowui.wire_geometry import passes_through, polyline

_BOUNDS = Qt.ItemSelectionMode.IntersectsItemBoundingRect


class Crossings(QObject):
    def __init__(self, scene: QGraphicsScene) -> None:
        super().__init__(scene)
        self.scene = scene
        self._dirty: dict[EdgeItem, None] = {}
        self._over: dict[NodeItem, set[EdgeItem]] = {}  # node -> wires drawn over it
        self._crosses: dict[EdgeItem, list[NodeItem]] = {}  # the other way round
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
        if node.scene() is not self.scene:
            return  # being built: its wires are checked as they are placed
        for item in self.scene.items(node.sceneBoundingRect(), _BOUNDS):
            if isinstance(item, EdgeItem):
                self._dirty[item] = None
        for edge in self._over.get(node, ()):
            self._dirty[edge] = None
        self._schedule()

    def node_removed(self, node: NodeItem) -> None:
        for edge in self._over.pop(node, ()):
            self._dirty[edge] = None
        self._schedule()

    def wire_removed(self, edge: EdgeItem) -> None:
        self._dirty.pop(edge, None)
        self._file(edge, [])

    def clear(self) -> None:
        self._dirty.clear()
        self._over.clear()
        self._crosses.clear()
        overview = getattr(self.scene, "overview", None)
        if overview is not None:
            overview.over_wires = 0

    def hold(self) -> None:
        """Many moves to come (a glide): check once, at `release`."""
        self._held += 1

    def release(self) -> None:
        self._held = max(0, self._held - 1)
        self._schedule()

    def _schedule(self) -> None:
        if self._dirty and not self._held and not self._timer.isActive():
            self._timer.start()

    # --- the check --------------------------------------------------------------------------

    def settle(self) -> None:
        """Check every wire waiting; a wire's state changes its z and its drawing."""
        self._timer.stop()
        if self._held:
            return
        dirty, self._dirty = self._dirty, {}
        changed = False
        for edge in dirty:
            if edge.scene() is not self.scene:
                continue  # removed since
            crossed = self.crossed_by(edge)
            self._file(edge, crossed)
            changed |= edge.set_over(bool(crossed))
        if changed:
            overview = getattr(self.scene, "overview", None)
            if overview is not None:
                overview.over_wires = len(self._crosses)
                overview.invalidate()
                if getattr(self.scene, "far", False):
                    self.scene.update()  # the overview draws them: Qt does not know

    def _file(self, edge: EdgeItem, crossed: list[NodeItem]) -> None:
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
        """The nodes, other than its own two, that the wire passes through."""
        ends = {edge.source.split(".", 1)[0], edge.target.split(".", 1)[0]}
        start, end = edge.ends()
        points: list[tuple[float, float]] | None = None
        found = []
        for item in self.scene.items(QRectF(edge.curve_rect()), _BOUNDS):
            if isinstance(item, NodeItem) and item.node_id not in ends:
                if points is None:
                    points = polyline((start.x(), start.y()), (end.x(), end.y()))
                r = item.scene_body_rect()
                if passes_through(points, (r.x() + 1, r.y() + 1, r.width() - 2,
                                           r.height() - 2)):
                    found.append(item)
        return found
