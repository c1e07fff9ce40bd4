"""Nodes gliding for a quarter of a second to where the document already has them
(after an auto-layout, one undo command pushed first); any change of the document
meanwhile ends the glide at once, every item where the document says."""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QEasingCurve, QObject, QPointF, QVariantAnimation

from flowui.canvas.scene import GraphScene

DURATION_MS = 250
# More at once cannot glide smoothly (a frame moves each node and its wires, ~0.1 ms a
# node: 400 nodes make ~12 frames a second): they jump instead.
MAX_NODES = 400

Moves = Mapping[str, tuple[tuple[float, float], tuple[float, float]]]


class NodeGlide(QObject):
    def __init__(self, scene: GraphScene, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.scene = scene
        self._moves: dict[str, tuple[QPointF, QPointF]] = {}
        self._animation = QVariantAnimation(self)
        self._animation.setStartValue(0.0)
        self._animation.setEndValue(1.0)
        self._animation.setDuration(DURATION_MS)
        self._animation.setEasingCurve(QEasingCurve.Type.OutCubic)
        self._animation.valueChanged.connect(self._on_animation_value_changed)
        self._animation.finished.connect(self.finish)
        scene.doc.node_moved.connect(self._on_doc_changed)
        scene.doc.node_removed.connect(self._on_doc_changed)
        scene.doc.node_renamed.connect(self._on_doc_changed)
        scene.rebuilt.connect(self._on_scene_rebuilt)

    @property
    def running(self) -> bool:
        return bool(self._moves)

    def start(self, moves: Moves) -> None:
        """Glide the nodes of `moves` (id -> (old, new) position) from old to new; the
        document has them at new already."""
        self.finish()
        if not moves or len(moves) > MAX_NODES:
            return
        self._moves = {k: (QPointF(*old), QPointF(*new)) for k, (old, new) in moves.items()
                       if k in self.scene.nodes}
        self.scene.crossings.hold()  # worked out once, where the nodes end
        self._on_animation_value_changed(0.0)
        self._animation.start()

    def finish(self) -> None:
        """Every gliding node where the document has it, now."""
        if not self._moves:
            return
        self._animation.stop()
        moves, self._moves = self._moves, {}
        doc, graph = self.scene.doc, self.scene.graph_key
        for node_id in moves:
            item = self.scene.nodes.get(node_id)
            if item is not None:
                x, y = doc.node(graph, node_id).position
                if (item.pos().x(), item.pos().y()) != (x, y):
                    if abs(item.pos().x() - x) + abs(item.pos().y() - y) < 0.01:
                        # setPos ignores a point it finds fuzzily equal: step off first
                        item.setPos(QPointF(x + 1, y))
                    item.setPos(QPointF(x, y))
        self.scene.crossings.release()

    def _on_animation_value_changed(self, value: object) -> None:
        t = float(value)  # type: ignore[arg-type]
        self.scene.place_nodes({k: new if t >= 1.0 else old + (new - old) * t
                                for k, (old, new) in self._moves.items()})

    def _on_doc_changed(self, *_: object) -> None:
        self.finish()  # an undo, a redo or another edit: the document wins at once

    def _on_scene_rebuilt(self) -> None:
        if self._moves:  # the items are new and already where the document says
            self._animation.stop()
            self._moves = {}
            self.scene.crossings.release()
