"""Gestures on the canvas, each a small object the view feeds mouse positions to.

`WireDrag`: a new wire from a port, or an existing wire's end lifted off an input.
While it moves, compatible ports light up and the rest dim; on release it asks
for a connection, a reconnection, a disconnection, or (dropped on empty canvas)
the node search. `NodeDrag`: remembers where the selected nodes started so the
whole drag becomes one undo step.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QPen
from PySide6.QtWidgets import QGraphicsPathItem

from engine.workflow.porttypes import can_connect
from flowui import theme
from flowui.canvas.edge_item import wire_path
from flowui.canvas.node_item import NodeItem, PortRef
from flowui.canvas.scene import GraphScene


class WireDrag:
    def __init__(self, scene: GraphScene, origin: PortRef,
                 lifted: tuple[str, str] | None = None) -> None:
        """`origin` is the fixed end; `lifted` the wire whose other end is being moved."""
        self.scene = scene
        self.origin = origin
        self.lifted = lifted
        self.anchor = scene.nodes[origin.node_id].port_pos(origin.name, origin.output)
        self.preview = QGraphicsPathItem()
        pen = QPen(theme.port_color(origin.type), 2, Qt.PenStyle.DashLine)
        self.preview.setPen(pen)
        self.preview.setZValue(10)
        scene.addItem(self.preview)
        if lifted is not None and lifted in scene.edges:
            scene.edges[lifted].setVisible(False)
        scene.set_port_hints(self._hints())

    def _hints(self) -> dict[str, bool]:
        """Every port of the other direction: True when a wire to it would be accepted.
        Cycles are found with one walk upstream of the origin, not one per port."""
        source_node = self.origin.node_id
        blocked = self._upstream(source_node) if self.origin.output else \
            self._downstream(source_node)
        hints: dict[str, bool] = {}
        for item in self.scene.nodes.values():
            for ref in item.port_refs():
                if ref.output == self.origin.output:
                    continue
                ok = (item.node_id not in blocked and (
                    can_connect(self.origin.type, ref.type) if self.origin.output
                    else can_connect(ref.type, self.origin.type)))
                hints[ref.endpoint] = ok
        return hints

    def _upstream(self, node_id: str) -> set[str]:
        preds: dict[str, list[str]] = {}
        for c in self.scene.doc.connections():
            preds.setdefault(c.target[0], []).append(c.source[0])
        return _walk(node_id, preds)

    def _downstream(self, node_id: str) -> set[str]:
        succs: dict[str, list[str]] = {}
        for c in self.scene.doc.connections():
            succs.setdefault(c.source[0], []).append(c.target[0])
        return _walk(node_id, succs)

    def move(self, pos: QPointF) -> None:
        target = self.scene.port_at(pos)
        end = pos
        if target is not None and target.output != self.origin.output:
            end = self.scene.nodes[target.node_id].port_pos(target.name, target.output)
        a, b = (self.anchor, end) if self.origin.output else (end, self.anchor)
        self.preview.setPath(wire_path(a, b))

    def finish(self, pos: QPointF) -> None:
        target = self.scene.port_at(pos)
        self._cleanup()
        if target is None or target.output == self.origin.output:
            if self.lifted is not None:
                self.scene.disconnect_requested.emit([self.lifted])
            elif target is None:
                self.scene.wire_dropped.emit(self.origin, pos)
            return
        source, dest = (self.origin, target) if self.origin.output else (target, self.origin)
        new = (source.endpoint, dest.endpoint)
        if new == self.lifted:
            return  # put back where it was
        reason = self.scene.doc.check_connection(*new)
        if reason is not None:
            self.scene.message.emit(f"Cannot connect {new[0]} → {new[1]}: {reason}")
            return
        if self.lifted is not None:
            self.scene.reconnect_requested.emit(self.lifted, new)
        else:
            self.scene.connect_requested.emit(*new)

    def cancel(self) -> None:
        self._cleanup()

    def _cleanup(self) -> None:
        self.scene.removeItem(self.preview)
        self.scene.set_port_hints({})
        if self.lifted is not None and self.lifted in self.scene.edges:
            self.scene.edges[self.lifted].setVisible(True)


def _walk(start: str, links: dict[str, list[str]]) -> set[str]:
    seen, stack = {start}, [start]
    while stack:
        for m in links.get(stack.pop(), ()):
            if m not in seen:
                seen.add(m)
                stack.append(m)
    return seen


class NodeDrag:
    """Where the selected nodes were when the drag began; `finish` reports the moves."""

    def __init__(self, scene: GraphScene) -> None:
        self.scene = scene
        self.start = {i.node_id: (i.pos().x(), i.pos().y())
                      for i in scene.selectedItems() if isinstance(i, NodeItem)}

    def finish(self) -> None:
        moves = {}
        for node_id, old in self.start.items():
            item = self.scene.nodes.get(node_id)
            if item is None:
                continue
            new = (round(item.pos().x()), round(item.pos().y()))
            if new != (round(old[0]), round(old[1])):
                moves[node_id] = (old, (float(new[0]), float(new[1])))
        if moves:
            self.scene.move_finished.emit(moves)
