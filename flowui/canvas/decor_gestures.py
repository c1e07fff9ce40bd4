"""Gestures on groups and sticky notes (the `Interaction` protocol of interactions.py),
each ending as one intent of the scene's DecorLayer; Escape puts everything back.

A group dragged by its title bar carries the nodes, notes and groups inside it; a
note is dragged anywhere on it; either is resized by its bottom-right corner."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QGraphicsItem

from flowui.canvas.decor_items import TITLE_H, DecorItem, GroupItem, InlineEditor, NoteItem
from flowui.canvas.interactions import ADD_TO_SELECTION, EscapeCancels, Interaction
from flowui.decor import inside

if TYPE_CHECKING:
    from flowui.canvas.view import GraphView


def decor_interaction(view: GraphView, event: QMouseEvent) -> Interaction | None:
    """The gesture a left press on a group's title or corner, or on a note, starts;
    a press anywhere else first commits the text being edited in place."""
    layer = view.graph_scene.decor
    hit = view.itemAt(event.position().toPoint())
    if isinstance(hit, InlineEditor):
        return TextClick(view)
    layer.finish_edits()
    if not isinstance(hit, DecorItem):
        return None
    local = hit.mapFromScene(view.scene_pos(event))
    if hit.handle_rect().contains(local):
        return DecorResize(view, hit)
    if isinstance(hit, NoteItem) or (isinstance(hit, GroupItem) and local.y() <= TITLE_H):
        return DecorDrag(view, hit)
    return None


def _select(item: DecorItem, event: QMouseEvent) -> None:
    """A press selects what it is on (added to the selection with Ctrl or Shift)."""
    scene = item.scene()
    if event.modifiers() & ADD_TO_SELECTION:
        item.setSelected(not item.isSelected())
    elif not item.isSelected():
        scene.clearSelection()
        item.setSelected(True)


class TextClick(Interaction):
    """A press in the in-place editor: Qt's own handling places the cursor, selects."""

    def press(self, event: QMouseEvent) -> None:
        self.view.qt_mouse_press(event)

    def move(self, event: QMouseEvent) -> None:
        self.view.qt_mouse_move(event)

    def release(self, event: QMouseEvent) -> None:
        self.view.qt_mouse_release(event)
        self.done = True


class DecorDrag(EscapeCancels):
    """Moves a note, or a group with everything inside its frame when the press came
    (nodes whose body lies wholly inside, notes and smaller groups too)."""

    def __init__(self, view: GraphView, item: DecorItem) -> None:
        super().__init__(view)
        self.item = item
        self.start = QPointF()
        self.carried: list[QGraphicsItem] = [item]
        self.origins: list[QPointF] = []
        self.delta = QPointF()

    def press(self, event: QMouseEvent) -> None:
        _select(self.item, event)
        self.start = self.view.scene_pos(event)
        if isinstance(self.item, GroupItem):
            frame = self.item.rect()
            for node in self.scene.nodes.values():
                r = node.scene_body_rect()
                if inside((r.x(), r.y(), r.width(), r.height()), frame):
                    self.carried.append(node)
            for other in self.scene.decor.items.values():
                if other is not self.item and inside(other.rect(), frame):
                    self.carried.append(other)
        self.origins = [i.pos() for i in self.carried]

    def move(self, event: QMouseEvent) -> None:
        d = self.view.scene_pos(event) - self.start
        self.delta = QPointF(round(d.x()), round(d.y()))
        for item, origin in zip(self.carried, self.origins, strict=True):
            item.setPos(origin + self.delta)
        self.scene.overview.invalidate()

    def release(self, event: QMouseEvent) -> None:
        self.done = True
        if self.delta.isNull():
            return
        rects, nodes = {}, {}
        for item, origin in zip(self.carried, self.origins, strict=True):
            if isinstance(item, DecorItem):
                rects[item.key] = item.rect()
            else:
                node_id = getattr(item, "node_id", "")
                pos = item.pos()
                nodes[node_id] = ((origin.x(), origin.y()), (float(round(pos.x())),
                                                             float(round(pos.y()))))
        self.scene.decor.move_finished.emit(rects, nodes)

    def cancel(self) -> None:
        self.done = True
        for item, origin in zip(self.carried, self.origins, strict=True):
            item.setPos(origin)
        self.scene.overview.invalidate()


class DecorResize(EscapeCancels):
    """The bottom-right corner dragged: the size follows the mouse (never below the
    kind's minimum); the top-left corner stays."""

    def __init__(self, view: GraphView, item: DecorItem) -> None:
        super().__init__(view)
        self.item = item
        self.start = QPointF()
        self.size = item.rect()[2:]

    def press(self, event: QMouseEvent) -> None:
        _select(self.item, event)
        self.start = self.view.scene_pos(event)

    def move(self, event: QMouseEvent) -> None:
        d = self.view.scene_pos(event) - self.start
        self.item.set_size(self.size[0] + d.x(), self.size[1] + d.y())
        self.scene.overview.invalidate()

    def release(self, event: QMouseEvent) -> None:
        self.done = True
        rect = self.item.rect()
        if rect[2:] != self.size:
            self.scene.decor.resize_finished.emit(self.item.kind, self.item.decor.id, rect)

    def cancel(self) -> None:
        self.done = True
        self.item.set_size(*self.size)
        self.scene.overview.invalidate()
