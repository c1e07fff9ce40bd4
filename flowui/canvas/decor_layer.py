"""The scene's groups and sticky notes: one item per entry of the shown graph's
`ui.groups` / `ui.notes`, kept by id in step with the document (undo and redo
included), and the intents their gestures and editors end with."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QPoint, QRectF, QTimer, Signal
from PySide6.QtWidgets import QGraphicsItem, QGraphicsSceneContextMenuEvent

from flowui import decor
from flowui.canvas.decor_items import DecorItem, GroupItem, NoteItem
from flowui.decor import Decor, Kind
from flowui.document import GraphKey

if TYPE_CHECKING:
    from flowui.canvas.scene import GraphScene

log = logging.getLogger(__name__)
NO_CONTENTS = QGraphicsItem.GraphicsItemFlag.ItemHasNoContents
DecorKey = tuple[Kind, str]


class DecorLayer(QObject):
    # (kind, id) -> new rect; node id -> (old, new position): a group dragged with
    # what lies inside it, or a note dragged alone
    move_finished = Signal(object, object)
    resize_finished = Signal(str, str, object)  # kind, id, (x, y, w, h)
    text_edited = Signal(str, str, str)  # kind, id, a group's title or a note's Markdown
    context_menu_requested = Signal(str, str, QPoint)  # kind, id, screen position

    def __init__(self, scene: GraphScene) -> None:
        super().__init__(scene)
        self.scene = scene
        self.items: dict[DecorKey, DecorItem] = {}
        self._reported: dict[GraphKey, list[str]] = {}  # problems said, per graph
        self.far = False
        scene.rebuilt.connect(self._on_scene_rebuilt)
        scene.doc.decor_changed.connect(self._on_doc_decor_changed)
        scene.doc.reset.connect(self._reported.clear)

    # --- following the document ------------------------------------------------------

    def _on_scene_rebuilt(self) -> None:
        self.items.clear()  # the scene's clear() deleted them
        self.sync()

    def _on_doc_decor_changed(self, graph: GraphKey) -> None:
        if graph == self.scene.graph_key:
            self.sync()

    def sync(self) -> None:
        """Items for the graph's entries: kept by id (selection and editors stay),
        added, updated in place, removed."""
        graph = self.scene.graph_key
        found, problems = decor.read(self.scene.doc.ui(graph))
        self._report(graph, problems)
        wanted = {(d.kind, d.id): d for d in found}
        for key in [k for k in self.items if k not in wanted]:
            item = self.items.pop(key)
            if item.editor is not None:
                item.editor.done = True
            self.scene.removeItem(item)
        for key, d in wanted.items():
            existing = self.items.get(key)
            if existing is None:
                self._add(d)
            elif existing.decor != d or existing.rect() != d.rect:
                existing.update_from(d)
        self.scene.overview.invalidate()
        if self.far:
            self.scene.update()  # drawn by the overview: Qt does not know it changed

    def _add(self, d: Decor) -> DecorItem:
        item: DecorItem = GroupItem(d) if d.kind == "groups" else NoteItem(d)
        item.on_edited = self._on_item_edited
        item.on_context_menu = self._on_item_context_menu
        item.setFlag(NO_CONTENTS, self.far)
        self.scene.addItem(item)
        self.items[item.key] = item
        bounds = item.sceneBoundingRect()
        if not self.scene.sceneRect().contains(bounds):
            margin = 2000.0
            self.scene.setSceneRect(self.scene.sceneRect().united(
                bounds.adjusted(-margin, -margin, margin, margin)))
        return item

    def _report(self, graph: GraphKey, problems: list[str]) -> None:
        """Entries that cannot be shown are said once per graph and file (status bar,
        log), never a reason to refuse the file: they are only decoration."""
        if problems == self._reported.get(graph, []):
            return
        self._reported[graph] = problems
        if problems:
            where = "the workflow" if graph is None else f"subgraph {graph}"
            for p in problems:
                log.warning("%s: %s", where, p)
            more = f" (and {len(problems) - 1} more, see the log)" if len(problems) > 1 else ""
            text = f"Some groups or notes of {where} are not shown: {problems[0]}{more}"
            # After the load's own messages ("Editing the workflow"), not under them.
            QTimer.singleShot(0, self, lambda: self.scene.message.emit(text))

    # --- from items ------------------------------------------------------------------

    def _on_item_edited(self, item: DecorItem, text: str | None) -> None:
        if text is not None and text != item.decor.text:
            self.text_edited.emit(item.kind, item.decor.id, text)

    def _on_item_context_menu(self, item: DecorItem,
                              event: QGraphicsSceneContextMenuEvent) -> None:
        if not item.isSelected():
            self.scene.clearSelection()
            item.setSelected(True)
        self.context_menu_requested.emit(item.kind, item.decor.id, event.screenPos())

    # --- queries and view state ------------------------------------------------------

    def selected(self) -> list[Decor]:
        return [i.decor for i in self.items.values() if i.isSelected()]

    def editing(self) -> DecorItem | None:
        return next((i for i in self.items.values() if i.editor is not None), None)

    def edit(self, kind: Kind, ident: str) -> bool:
        """Open the in-place editor of a group's title or a note's text."""
        item = self.items.get((kind, ident))
        if item is None:
            return False
        self.scene.clearSelection()
        item.setSelected(True)
        item.start_edit()
        return True

    def finish_edits(self) -> None:
        """Commit what is being typed (a press elsewhere on the canvas)."""
        item = self.editing()
        if item is not None and item.editor is not None:
            item.finish_edit(item.editor.toPlainText())

    def set_far(self, far: bool) -> None:
        """Far out the overview draws them (under the nodes it draws too)."""
        if far != self.far:
            self.far = far
            for item in self.items.values():
                item.setFlag(NO_CONTENTS, far)

    def bounding_rect(self) -> QRectF:
        rect = QRectF()
        for item in self.items.values():
            rect = rect.united(item.scene_rect())
        return rect
