"""The main window's own actions (editing, view, help), built over its parts; the
controllers (files, graphs, runs) build theirs."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence

from flowui import resources
from flowui.actions import make_action
from flowui.image_export import export_with_dialog

if TYPE_CHECKING:
    from flowui.mainwindow import MainWindow


def window_actions(window: MainWindow) -> dict[str, QAction]:
    K = QKeySequence.StandardKey
    editor, view = window.editor, window.view
    a: dict[str, QAction] = {}
    a["quit"] = make_action(window, "&Quit", window.close, K.Quit)
    a["undo"] = window.stack.createUndoAction(window, "&Undo")
    a["undo"].setShortcuts(QKeySequence.keyBindings(K.Undo))
    a["undo"].setIcon(resources.icon("undo"))
    a["redo"] = window.stack.createRedoAction(window, "&Redo")
    a["redo"].setShortcuts([QKeySequence(K.Redo), QKeySequence("Ctrl+Y")])
    a["redo"].setIcon(resources.icon("redo"))
    window.addActions([a["undo"], a["redo"]])
    a["cut"] = make_action(window, "Cu&t", editor.cut, K.Cut, "cut")
    a["copy"] = make_action(window, "&Copy", editor.copy, K.Copy, "copy")
    a["paste"] = make_action(window, "&Paste", editor.paste, K.Paste, "paste")
    a["duplicate"] = make_action(window, "&Duplicate", editor.duplicate, "Ctrl+D", "duplicate")
    a["delete"] = make_action(window, "De&lete", editor.delete_selection,
                              [K.Delete, "Backspace"], "delete")
    a["select_all"] = make_action(window, "Select &All", editor.select_all, K.SelectAll)
    a["add_node"] = make_action(window, "Add &Node…", window.placement.search_at_cursor, "Tab",
                                "search", "Search for a node type and add it")
    a["fit_all"] = make_action(window, "&Fit All", view.fit_all, "F", "fit_all")
    a["fit_selection"] = make_action(window, "Fit &Selection", view.fit_selection, "Shift+F",
                                     "fit_selection")
    a["zoom_in"] = make_action(window, "Zoom &In", lambda: view.set_zoom(view.zoom() * 1.25),
                               K.ZoomIn, "zoom_in")
    a["zoom_out"] = make_action(window, "Zoom &Out", lambda: view.set_zoom(view.zoom() / 1.25),
                                K.ZoomOut, "zoom_out")
    a["zoom_reset"] = make_action(window, "&Actual Size", lambda: view.set_zoom(1.0), "Ctrl+0")
    a["minimap"] = make_action(window, "&Minimap", lambda: window.minimap.set_wanted(
        a["minimap"].isChecked()), "Ctrl+M", None,
        "The whole graph in the canvas's corner: click or drag there to move the view")
    a["minimap"].setCheckable(True)
    a["minimap"].setChecked(window.minimap.wanted)
    a["validate"] = make_action(window, "&Validate", window.validation.revalidate,
                                "Ctrl+Shift+V", "validate", "Check the workflow now")
    a["shortcuts"] = make_action(window, "&Keyboard Shortcuts", window.show_shortcuts, "Ctrl+/",
                                 "keyboard")
    a["export_image"] = make_action(
        window, "&Export Image…",
        lambda: export_with_dialog(window, window.scene, window.doc.workflow.name,
                                   lambda text: window.statusBar().showMessage(text, 8000)),
        "Ctrl+Shift+E", "export", "The graph (or the nodes selected) as a PNG or SVG file")
    a["command_palette"] = make_action(
        window, "&Command Palette…", lambda: _open_palette(window), "Ctrl+Shift+P",
        "search", "Find any command by name and run it")
    a["auto_layout"] = make_action(
        window, "&Auto-Layout", editor.auto_layout, "Ctrl+Shift+L", "auto_layout",
        "Lay out the graph left to right (or only the selected nodes), one undo step")
    for how, text in (("left", "Align &Left"), ("right", "Align &Right"),
                      ("top", "Align &Top"), ("bottom", "Align &Bottom"),
                      ("centre", "Align &Centres (vertical line)"),
                      ("middle", "Align &Middles (horizontal line)"),
                      ("horizontal", "Distribute &Horizontally"),
                      ("vertical", "Distribute &Vertically")):
        a[f"arrange_{how}"] = make_action(window, text, _arranger(window, how), None, None,
                                          "Arrange the selected nodes (one undo step)")
    a["about"] = make_action(window, "&About FlowUI", window.show_about)
    a["timing"] = make_action(window, "&Timing View", window.on_timing_toggled,
                              "Ctrl+Shift+T", "timing",
                              "Colour nodes by how long they took; list the slowest")
    a["timing"].setCheckable(True)
    # Tab and Delete belong to the canvas only: text fields need them.
    for name in ("add_node", "delete", "fit_all", "fit_selection"):
        window.removeAction(a[name])
        view.addAction(a[name])
        a[name].setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
    return a


def _open_palette(window: MainWindow) -> None:
    from flowui.command_palette import CommandPalette

    palette = CommandPalette(window.actions_by_name, window, panels=window.panel_actions())
    window.command_palette = palette
    palette.popup()


def _arranger(window: MainWindow, how: str) -> Callable[[], object]:
    return lambda: window.editor.arrange_selection(how)
