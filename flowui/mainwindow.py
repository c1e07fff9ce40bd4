"""The main window assembles the editor: canvas in the centre, palette left, inspector and
history right, menus, toolbar and status bar, and the controllers that do the work
(files, validation, node placement, graphs). It owns no behaviour of its own."""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QPointF, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QCursor
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QUndoView,
    QWidget,
)

from engine.core.registry import Registry
from flowui import resources
from flowui.about import about_text
from flowui.canvas.context_menu import ContextMenus
from flowui.canvas.minimap import Minimap
from flowui.canvas.scene import GraphScene
from flowui.canvas.view import GraphView
from flowui.compare.controller import CompareController
from flowui.decor_actions import DecorActions
from flowui.document import WorkflowDocument
from flowui.editor import Editor
from flowui.files import FileController
from flowui.graphs import GraphActions, GraphSelector
from flowui.history.controller import HistoryController
from flowui.history.runs_panel import RunsPanel
from flowui.history.timeline import ReplayBar, canvas_with_bar
from flowui.inspector import InspectorWidget
from flowui.menus import ARRANGE_MENU, build_menus_and_toolbar
from flowui.node_actions import NodeActions
from flowui.palette import PaletteWidget
from flowui.placement import NodePlacement
from flowui.remote.controller import RemoteController
from flowui.run.controller import RunController
from flowui.run.dev_mode import DevMode
from flowui.run.iterations import IterationSelector
from flowui.run.panels import RunPanels
from flowui.run.triggers import LiveTriggers
from flowui.shortcuts import ShortcutsDialog
from flowui.theme_menu import ThemeSwitcher
from flowui.validation import ValidationController
from flowui.window_actions import window_actions

LEFT, RIGHT = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
BOTTOM = Qt.DockWidgetArea.BottomDockWidgetArea

class MainWindow(QMainWindow):
    graph_selector: GraphSelector  # in the toolbar (flowui.menus)
    iteration_selector: IterationSelector

    def __init__(self, registry: Registry, *, settings: QSettings | None = None) -> None:
        super().__init__()
        self.registry = registry
        self.settings = settings or QSettings("FlowUI", "FlowUI")
        self.doc = WorkflowDocument(registry)
        self.scene = GraphScene(self.doc, self)
        self.view = GraphView(self.scene)
        self.editor = Editor(self.doc, self.scene, self)
        self.editor.paste_point = self._mouse_on_canvas
        self.stack = self.editor.undo_stack
        self.replay_bar = ReplayBar()
        self.setCentralWidget(canvas_with_bar(self.view, self.replay_bar))
        self.setWindowIcon(resources.icon("app"))
        self.resize(1400, 860)

        self.node_palette = PaletteWidget(registry)
        self.inspector = InspectorWidget(self.editor)
        self.history = QUndoView(self.stack)
        self.history.setEmptyLabel("Opened file")

        # The controllers, then the panels that show their work.
        self.files = FileController(self, self.editor, self.settings)
        self.validation = ValidationController(self.editor, parent=self)
        self.placement = NodePlacement(registry, self.view, self.editor, self)
        self.graphs = GraphActions(self.editor, self)
        self.node_actions = NodeActions(self.editor, self, self.graphs.actions["open_body"])
        self.decor_actions = DecorActions(self.editor, self.view, self)  # groups, notes
        self.runs = RunController(self, self.editor, self.validation, self.settings, registry)
        self.run_panels = RunPanels(self.runs, self.validation, self)
        self.dev = DevMode(self, self.runs, self.editor, self.settings)  # run a node, pins
        self.run_panels.node_view.note_source = self.dev.note_for
        self.dev.stale_changed.connect(self.run_panels.node_view.refresh)
        self.inspector.add_tab(self.run_panels.node_view, "Run")
        self.triggers = LiveTriggers(self.runs, self.settings, self)
        self.runs_panel = RunsPanel()
        self.command_palette: QWidget | None = None  # Help > Command Palette, while open
        self.run_history = HistoryController(self, self.runs, self.runs_panel,
                                             self.replay_bar, self.files.open_path,
                                             self.reveal_node)

        self._docks = {
            "palette": self._dock("Nodes", self.node_palette, LEFT),
            "inspector": self._dock("Inspector", self.inspector, RIGHT),
            "history": self._dock("History", self.history, RIGHT),
            "timing": self._dock("Timing", self.run_panels.timing, RIGHT),
            "log": self._dock("Log", self.run_panels.log, BOTTOM),
            "problems": self._dock("Problems", self.run_panels.problems, BOTTOM),
            "runs": self._dock("Runs", self.runs_panel, BOTTOM),
        }
        self.tabifyDockWidget(self._docks["inspector"], self._docks["history"])
        self.tabifyDockWidget(self._docks["inspector"], self._docks["timing"])
        self.tabifyDockWidget(self._docks["log"], self._docks["problems"])
        self.tabifyDockWidget(self._docks["log"], self._docks["runs"])
        self._docks["inspector"].raise_()
        self._docks["log"].raise_()
        self._docks["timing"].hide()  # until the timing view is turned on
        self.resizeDocks([self._docks["log"]], [180], Qt.Orientation.Vertical)

        self.remote = RemoteController(self)  # File > Connect to Server… (flowserver)
        self._zoom_label = QLabel()
        self.statusBar().addPermanentWidget(self.remote.label)
        self.statusBar().addPermanentWidget(self.runs.label)
        self.statusBar().addPermanentWidget(self.validation.label)
        self.statusBar().addPermanentWidget(self._zoom_label)
        self.theme = ThemeSwitcher(self, self.settings)  # View > Theme
        self.minimap = Minimap(self.view, self.settings)  # View > Minimap
        self.compare = CompareController(self)  # File > Compare with File…
        self.actions_by_name = {**self.files.actions, **window_actions(self), **self.theme.actions,
                                **self.compare.actions,
                                **self.graphs.actions, **self.node_actions.actions,
                                **self.runs.actions, **self.dev.actions,
                                **self.decor_actions.actions, **self.remote.actions,
                                "serve_triggers": self.triggers.action}
        build_menus_and_toolbar(self)
        self.context_menus = ContextMenus(self.view, self.editor, self.placement,
                                          self.actions_by_name, ARRANGE_MENU,
                                          self._refresh_node_actions)

        for source in (self.editor, self.graphs, self.runs, self.run_history, self.triggers,
                       self.dev, self.remote):
            source.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.editor.graph_shown.connect(self._on_editor_graph_shown)
        self.doc.reset.connect(lambda: self._on_editor_graph_shown(None))  # a load shows it
        self._selection_settled = QTimer(self, singleShot=True, interval=0)
        self._selection_settled.timeout.connect(self._show_selection)
        self.scene.selectionChanged.connect(self._on_scene_selection_changed)
        self.view.node_double_clicked.connect(self._on_view_node_double_clicked)
        self.view.zoom_changed.connect(self._on_view_zoom_changed)
        self.node_palette.add_requested.connect(self.placement.add_at_centre)
        self.view.escape_pressed.connect(self.runs.cancel)
        self.runs.started.connect(self._on_runs_started)
        self.runs.problems_wanted.connect(self._docks["problems"].raise_)
        self.run_panels.reveal_requested.connect(self.reveal_node)
        self._on_view_zoom_changed(1.0)

    # --- building ------------------------------------------------------------------------

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower()}")
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        dock.setMinimumWidth(260 if area == LEFT else 340)
        return dock

    def panel_actions(self) -> tuple[QAction, ...]:
        """Each dock's show/hide action (the View menu's)."""
        return tuple(dock.toggleViewAction() for dock in self._docks.values())

    # --- the window's life -----------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.runs.running:
            answer = QMessageBox.question(
                self, "A run is in progress",
                "A run of this workflow is still going. Cancel it and close FlowUI?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
            if answer == QMessageBox.StandardButton.Yes:
                self.runs.cancel(then=self.close)  # closes once the run has ended cleanly
            event.ignore()
            return
        if self.files.maybe_save():
            self.triggers.stop()  # requests in flight finish; the port closes
            self.runs.close_clusters()  # a dask:local cluster's workers end with the window
            self.remote.close()  # stop following a server run; close the connection
            self.files.closed()
            self.settings.setValue("window/state", self.saveState())
            self.settings.setValue("window/geometry", self.saveGeometry())
            event.accept()
        else:
            event.ignore()

    def restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)

    # --- small handlers ------------------------------------------------------------------

    def _refresh_node_actions(self) -> None:
        self.node_actions.refresh()
        self.dev.refresh()

    def _on_editor_graph_shown(self, graph: str | None) -> None:
        where = "the workflow" if graph is None else f"subgraph {graph}"
        self.statusBar().showMessage(f"Editing {where}", 4000)

    def _on_view_zoom_changed(self, zoom: float) -> None:
        self._zoom_label.setText(f"  {zoom * 100:.0f}%  ")

    def _on_scene_selection_changed(self) -> None:
        # The panels follow once the canvas has shown the selection, and once for a
        # burst (clear then select; a rubber band): a node's form takes ~50 ms to build.
        self._selection_settled.start()

    @property
    def selection_pending(self) -> bool:
        """The panels have yet to follow the canvas's selection (see below)."""
        return self._selection_settled.isActive()

    def _show_selection(self) -> None:
        if not shiboken6.isValid(self.scene):  # emitted while the scene is destroyed
            return
        ids = self.scene.selected_node_ids()
        node_id = ids[0] if len(ids) == 1 else None
        dock = self._docks["inspector"]
        if node_id is not None and dock.isVisible() and dock.visibleRegion().isEmpty():
            dock.raise_()  # a tab (History, Timing) was in front: show what was selected
        self.inspector.show_node(node_id)
        self.run_panels.show_node(self.editor.current_graph, node_id)

    def _mouse_on_canvas(self) -> QPointF | None:
        """The mouse's scene position when it is over the canvas, else None: a paste by
        keyboard lands there; one from a menu or the toolbar, beside the originals."""
        viewport = self.view.viewport()
        at = viewport.mapFromGlobal(QCursor.pos())
        if not viewport.rect().contains(at) or not viewport.underMouse():
            return None
        return self.view.mapToScene(at)

    def _on_view_node_double_clicked(self, node_id: str) -> None:
        if self.editor.open_body(node_id) is None:
            self.inspector.show_node(node_id)

    def _on_runs_started(self) -> None:
        self.inspector.show_run_tab()  # watch it: the Run tab of the node selected

    def on_timing_toggled(self) -> None:
        on = self.actions_by_name["timing"].isChecked()
        self.runs.overlay.set_timing(on)
        dock = self._docks["timing"]
        dock.setVisible(on)
        if on:
            dock.raise_()

    def reveal_node(self, graph: str | None, node_id: str) -> None:
        """Show a node's graph, select the node and scroll it into view."""
        if not self.doc.has_graph(graph) or not self.doc.has_node(graph, node_id):
            self.statusBar().showMessage(f"{node_id} is no longer in the workflow", 5000)
            return
        self.editor.show_graph(graph)
        self.editor.select([node_id])
        self.view.ensureVisible(self.scene.nodes[node_id], 80, 80)

    def show_shortcuts(self) -> None:
        ShortcutsDialog(self.actions_by_name, self).exec()

    def show_about(self) -> None:
        QMessageBox.about(self, "About FlowUI", about_text())
