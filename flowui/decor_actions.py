"""Edit ▸ Group Selection, Add Note and Colour, and the menu a right-click on a group or
a note opens: the window's actions for groups and sticky notes, over the editor."""

from __future__ import annotations

from PySide6.QtCore import QObject, QPoint, QPointF, Qt
from PySide6.QtGui import QAction, QColor, QCursor, QIcon, QPixmap
from PySide6.QtWidgets import QMainWindow, QMenu

from flowui.actions import make_action
from flowui.canvas.view import GraphView
from flowui.decor import PALETTE
from flowui.editor import Editor

COLOR_ACTIONS = tuple(f"decor_color_{name.lower()}" for name in PALETTE)


def swatch(color: str) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(QColor(color))
    return QIcon(pixmap)


class DecorActions(QObject):
    def __init__(self, editor: Editor, view: GraphView, window: QMainWindow) -> None:
        super().__init__(window)
        self.editor = editor
        self.view = view
        self.window = window
        self.actions: dict[str, QAction] = {
            "group_selection": make_action(
                window, "&Group Selection", self.group_selection, "Ctrl+G", None,
                "Frame the selected nodes in a titled, coloured group"),
            "add_note": make_action(
                window, "Add Sticky &Note", self.add_note, "Shift+N", None,
                "A Markdown note at the mouse (or the middle of the canvas)"),
        }
        # Shift+N types a capital N in text fields: the canvas's own key.
        note = self.actions["add_note"]
        window.removeAction(note)
        view.addAction(note)
        note.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        for (name, color), key in zip(PALETTE.items(), COLOR_ACTIONS, strict=True):
            action = make_action(window, f"Colour: {name}", self._recolor(color), None, None,
                                 f"Colour the selected groups and notes {name.lower()}")
            action.setIcon(swatch(color))
            self.actions[key] = action
        view.graph_scene.decor.context_menu_requested.connect(self._on_decor_context_menu)

    def color_menu(self, parent: QMenu, title: str = "Group && Note Co&lour") -> QMenu:
        menu = parent.addMenu(title)
        for key in COLOR_ACTIONS:
            menu.addAction(self.actions[key])
        return menu

    # --- what the actions do ---------------------------------------------------------

    def group_selection(self) -> None:
        ident = self.editor.group_selection()
        if ident is not None:
            self.view.graph_scene.decor.edit("groups", ident)  # name it straight away

    def add_note(self) -> None:
        ident = self.editor.add_note(self._where())
        self.view.graph_scene.decor.edit("notes", ident)

    def _where(self) -> QPointF:
        """The mouse when it is on the canvas, else the middle of what is shown."""
        viewport = self.view.viewport()
        at = viewport.mapFromGlobal(QCursor.pos())
        if viewport.rect().contains(at):
            return self.view.mapToScene(at)
        return self.view.mapToScene(viewport.rect().center())

    def _recolor(self, color: str):  # type: ignore[no-untyped-def]
        return lambda: self.editor.recolor_selected_decor(color)

    def _on_decor_context_menu(self, kind: str, ident: str, at: QPoint) -> None:
        menu = QMenu(self.window)
        layer = self.view.graph_scene.decor
        edit = menu.addAction("Rename Group…" if kind == "groups" else "Edit Note…")
        edit.triggered.connect(lambda: layer.edit(kind, ident))  # type: ignore[arg-type]
        self.color_menu(menu, "&Colour")
        menu.addSeparator()
        delete = menu.addAction("Delete" + (" Group (keeps its nodes)" if kind == "groups"
                                            else " Note"))
        delete.triggered.connect(self.editor.delete_selection)
        menu.popup(at)
