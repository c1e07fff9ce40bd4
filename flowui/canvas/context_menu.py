"""Right-click menus on the canvas: for nodes (acting on the selection, which the node
clicked joins), for wires, for the empty canvas.

They hold the window's own actions, so the menu bar, these menus and the command
palette run one action and show one shortcut; only what needs the click's place is
the menu's own.

Each kind of item has a builder (`node_menu`, `wire_menu`, `canvas_menu`); a new kind
(groups, notes) adds its builder and a line in `ContextMenus.build`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from PySide6.QtCore import QObject, QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QGraphicsItem, QMenu, QWidget

from flowui.canvas.edge_item import EdgeItem
from flowui.canvas.node_item import NodeItem
from flowui.canvas.view import GraphView
from flowui.editor import Editor

Actions = Mapping[str, QAction]

NODE_ITEMS = ("run_node", "run_until", "run_from", None, "toggle_pin", "edit_pin", None,
              "rename", "duplicate", "copy", "cut", "delete", None, "toggle_disabled", None,
              "open_body", "create_subgraph", "ungroup")
CANVAS_ITEMS = ("add_node", "paste", None, "select_all", "fit_all", "auto_layout")


class Placement(Protocol):
    """What the menus need of node placement (flowui.placement.NodePlacement)."""

    anchor: Callable[[], QPointF | None]

    def search_at(self, scene_pos: QPointF) -> None: ...

    def search_for_wire(self, scene_pos: QPointF, wire: tuple[str, str]) -> None: ...


def _fill(menu: QMenu, actions: Actions, names: Sequence[str | None]) -> None:
    """The named actions that exist, separators between groups (never doubled)."""
    for name in names:
        if name is None:
            menu.addSeparator()
        elif name in actions:
            menu.addAction(actions[name])


def node_menu(parent: QWidget, actions: Actions, arrange: Sequence[str | None]) -> QMenu:
    menu = QMenu(parent)
    _fill(menu, actions, NODE_ITEMS)
    menu.addSeparator()
    sub = menu.addMenu("Arra&nge")
    _fill(sub, actions, arrange)
    sub.setEnabled(any(actions[n].isEnabled() for n in arrange if n is not None and n in actions))
    return menu


def wire_menu(parent: QWidget, actions: Actions, insert: QAction) -> QMenu:
    menu = QMenu(parent)
    menu.addAction(insert)
    menu.addSeparator()
    _fill(menu, actions, ("delete",))
    return menu


def canvas_menu(parent: QWidget, actions: Actions) -> QMenu:
    menu = QMenu(parent)
    _fill(menu, actions, CANVAS_ITEMS)
    return menu


class ContextMenus(QObject):
    """Opens the menu for what was right-clicked; while a menu is open, a paste or a
    node search from it lands at the click, not at the mouse (which is on the menu)."""

    def __init__(self, view: GraphView, editor: Editor, placement: Placement,
                 actions: Actions, arrange: Sequence[str | None],
                 refresh: Callable[[], object] = lambda: None) -> None:
        """`refresh` brings the actions' enabled states up to date with the selection
        (they follow it a turn later; the menu shows them at once)."""
        super().__init__(view)
        self.refresh = refresh
        self.view, self.editor, self.placement = view, editor, placement
        self.actions, self.arrange = actions, arrange
        self.point: QPointF | None = None  # the click of the menu open (scene)
        self.menu: QMenu | None = None  # the menu open (or last opened)
        near_mouse = editor.paste_point
        editor.paste_point = lambda: self.point if self.point is not None else near_mouse()
        placement.anchor = lambda: self.point
        view.context_menu_requested.connect(self.open_at)

    def item_at(self, scene_pos: QPointF) -> QGraphicsItem | None:
        """The node, else the wire, under a scene point (topmost first)."""
        for item in self.view.graph_scene.items(scene_pos):
            if isinstance(item, NodeItem | EdgeItem):
                return item
        return None

    def build(self, scene_pos: QPointF) -> QMenu:
        """The menu for a right-click at `scene_pos`, the selection adjusted first as
        the click implies: a node joins it; a wire becomes it; empty canvas keeps it."""
        item = self.item_at(scene_pos)
        scene = self.view.graph_scene
        if isinstance(item, NodeItem):
            item.setSelected(True)
            self.refresh()
            return node_menu(self.view, self.actions, self.arrange)
        if isinstance(item, EdgeItem):
            scene.clearSelection()
            item.setSelected(True)
            self.refresh()
            insert = QAction("&Insert Node on Wire…", self.view)
            wire = item.key
            insert.triggered.connect(lambda: self.placement.search_for_wire(scene_pos, wire))
            insert.setStatusTip("Search for a node type and put it into this wire")
            return wire_menu(self.view, self.actions, insert)
        self.refresh()
        return canvas_menu(self.view, self.actions)

    def open_at(self, scene_pos: QPointF, global_pos: QPoint) -> QMenu:
        if self.menu is not None:
            self.menu.close()
        menu = self.menu = self.build(scene_pos)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.destroyed.connect(lambda: self._forget(menu))
        self.point = QPointF(scene_pos)
        # The chosen action runs right after the menu hides: forget the click after it.
        menu.aboutToHide.connect(lambda: QTimer.singleShot(0, self, self._clear_point))
        menu.popup(global_pos)
        return menu

    def _clear_point(self) -> None:
        if self.menu is None or not self.menu.isVisible():
            self.point = None

    def _forget(self, menu: QMenu) -> None:
        if self.menu is menu:
            self.menu = None
