"""The main window's menus and toolbar: which actions go where, in what order."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMenu

from flowui.graphs import GraphSelector
from flowui.run.iterations import IterationSelector

if TYPE_CHECKING:
    from flowui.mainwindow import MainWindow

EDIT_MENU = ("undo", "redo", None, "cut", "copy", "paste", "duplicate", "delete", None,
             "select_all", None, "add_node", "rename", "toggle_disabled", None,
             "group_selection", "add_note", None, "validate")
ARRANGE_MENU = ("auto_layout", None, "arrange_left", "arrange_centre", "arrange_right", None,
                "arrange_top", "arrange_middle", "arrange_bottom", None, "arrange_horizontal",
                "arrange_vertical")
VIEW_MENU = ("fit_all", "fit_selection", None, "zoom_in", "zoom_out", "zoom_reset", None,
             "minimap")
GRAPH_MENU = ("show_workflow", "open_body", None, "create_subgraph", "ungroup", None,
              "new_subgraph", "delete_subgraph")
SERVER_MENU = ("connect_server", "open_from_server", "save_to_server", "disconnect_server")
RUN_MENU = ("run", "run_on_server", "cancel", "clear_run", None, "run_node", "run_until",
            "run_from", None,
            "reuse_cache", "toggle_pin", "edit_pin", None, "test_run", "timing", None,
            "serve_triggers", "server_runs", None, "value_limit", "allowed_folders")
TOOLBAR = ("new", "open", "save", None, "undo", "redo", None, "cut", "copy", "paste",
           "delete", None, "add_node", "fit_all", "fit_selection", None, "validate", None,
           "run", "run_node", "cancel", "reuse_cache", "timing")


def _fill(window: MainWindow, menu: QMenu, names: tuple[str | None, ...]) -> None:
    for name in names:
        menu.addSeparator() if name is None else menu.addAction(window.actions_by_name[name])



def build_menus_and_toolbar(window: MainWindow) -> None:
    a = window.actions_by_name
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    _fill(window, file_menu, ("new", "new_from_example", "open"))
    file_menu.addMenu(window.files.recent_menu)
    file_menu.addMenu(window.files.examples_menu)
    _fill(window, file_menu, (None, "save", "save_as", "revert", None, *SERVER_MENU, None,
                              "compare_file", "compare_commit", None, "export_image", None,
                           "quit"))
    edit_menu = bar.addMenu("&Edit")
    _fill(window, edit_menu, EDIT_MENU)
    _fill(window, edit_menu.addMenu("Arra&nge"), ARRANGE_MENU)
    window.decor_actions.color_menu(edit_menu)
    view_menu = bar.addMenu("&View")
    _fill(window, view_menu, (*VIEW_MENU, None))
    view_menu.addMenu(window.theme.menu)
    for dock in window._docks.values():
        view_menu.addAction(dock.toggleViewAction())
    _fill(window, bar.addMenu("&Graph"), GRAPH_MENU)
    _fill(window, bar.addMenu("&Run"), RUN_MENU)
    _fill(window, bar.addMenu("&Help"), ("command_palette", "shortcuts", "about"))
    tools = window.addToolBar("Main")
    tools.setObjectName("toolbar_main")
    tools.setMovable(False)
    tools.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
    for name in TOOLBAR:
        tools.addSeparator() if name is None else tools.addAction(a[name])
    tools.addSeparator()
    window.graph_selector = GraphSelector(window.editor)
    tools.addWidget(QLabel("  Graph "))
    tools.addWidget(window.graph_selector)
    window.iteration_selector = IterationSelector(window.editor, window.runs)
    window.iteration_selector.action = tools.addWidget(window.iteration_selector)
    window.iteration_selector.refill()
    window.theme.style_bars()
