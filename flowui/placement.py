"""Where new nodes go: the quick search opened at the cursor (Tab, Space), where a
dragged wire was dropped (beside the port it is wired to) or into a wire; a palette
double-click at the canvas's centre, a palette drag where it is dropped."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QWidget

from engine.core.registry import Registry
from flowui.canvas.node_item import PortRef
from flowui.canvas.view import GraphView
from flowui.editor import Editor
from flowui.palette import QuickSearch

FEEDER_OFFSET = QPointF(200, 0)  # a node feeding an input goes this far to its left


class NodePlacement:
    def __init__(self, registry: Registry, view: GraphView, editor: Editor,
                 popup_parent: QWidget) -> None:
        self.view, self.editor = view, editor
        self.search = QuickSearch(registry, popup_parent, self._on_search_picked)
        self._at = QPointF()
        self._origin: PortRef | None = None
        self._wire: tuple[str, str] | None = None  # the node picked goes into this wire
        # Where a search "at the cursor" opens instead, when set (a context menu's click).
        self.anchor: Callable[[], QPointF | None] = lambda: None
        view.search_requested.connect(self.search_at)
        view.add_node_requested.connect(lambda type_id, pos: editor.add_node(type_id, pos))
        view.graph_scene.wire_dropped.connect(self._on_scene_wire_dropped)

    def search_at_cursor(self) -> None:
        """At the mouse when it is over the canvas (Tab), else in the canvas's middle."""
        anchor = self.anchor()
        if anchor is not None:
            self.search_at(anchor)
            return
        viewport = self.view.viewport()
        at = viewport.mapFromGlobal(QCursor.pos())
        if not viewport.rect().contains(at):
            at = viewport.rect().center()
        self.search_at(self.view.mapToScene(at))

    def search_at(self, scene_pos: QPointF, origin: PortRef | None = None) -> None:
        self._at, self._origin, self._wire = scene_pos, origin, None
        self.search.open_at(self.view.mapToGlobal(self.view.mapFromScene(scene_pos)), origin)

    def search_for_wire(self, scene_pos: QPointF, wire: tuple[str, str]) -> None:
        """The node search (types that take the wire's value), the node picked spliced
        into `wire` at `scene_pos`."""
        node_id, name = wire[0].split(".", 1)
        port = self.editor.doc.port(self.editor.current_graph, node_id, name, output=True)
        self.search_at(scene_pos, PortRef(node_id, name, True, port.type, False)
                       if port is not None else None)
        self._wire = wire

    def add_at_centre(self, type_id: str) -> None:
        self.editor.add_node(type_id, self.view.mapToScene(self.view.viewport().rect().center()))

    def _on_scene_wire_dropped(self, origin: PortRef, scene_pos: QPointF) -> None:
        self.search_at(scene_pos, origin)

    def _on_search_picked(self, type_id: str) -> None:
        pos = self._at
        if self._wire is not None:
            wire, self._wire = self._wire, None
            self.editor.splice_node(type_id, pos, wire)
            self.view.setFocus()
            return
        if self._origin is not None and not self._origin.output:
            pos = pos - FEEDER_OFFSET
        self.editor.add_node(type_id, pos, self._origin)
        self.view.setFocus()
