"""The main window: canvas in the centre, palette left, inspector and history right,
menus, toolbar and status bar; files (new, open, save, revert, recent), the
unsaved-changes prompt, autosave and crash recovery, and validation badges."""

from __future__ import annotations

from pathlib import Path

import shiboken6
from PySide6.QtCore import QPointF, QSettings, Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QCursor,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QUndoView,
)

from engine.core.plan import validate
from engine.core.registry import Registry
from engine.errors import WorkflowFileError
from engine.workflow import file as workflow_file
from engine.workflow.model import Workflow
from flowui import autosave, resources
from flowui.canvas.scene import GraphScene
from flowui.canvas.view import GraphView
from flowui.commands import AddSubgraphCommand, RemoveSubgraphCommand
from flowui.document import WorkflowDocument
from flowui.editor import Editor
from flowui.graphs import GraphSelector, open_body, unique_subgraph_name
from flowui.inspector import InspectorWidget
from flowui.palette import PaletteWidget, QuickSearch
from flowui.shortcuts import ShortcutsDialog

FILE_FILTER = "FlowUI workflows (*.flow.json);;JSON files (*.json);;All files (*)"
MAX_RECENT = 10
VALIDATE_DELAY_MS = 300


class MainWindow(QMainWindow):
    def __init__(self, registry: Registry, *, settings: QSettings | None = None) -> None:
        super().__init__()
        self.registry = registry
        self.settings = settings or QSettings("FlowUI", "FlowUI")
        self.doc = WorkflowDocument(registry)
        self.scene = GraphScene(self.doc, self)
        self.view = GraphView(self.scene)
        self.editor = Editor(self.doc, self.scene, self)
        self.stack = self.editor.undo_stack
        self.setCentralWidget(self.view)
        self.setWindowIcon(resources.icon("app"))
        self.setAcceptDrops(True)
        self.resize(1400, 860)

        self.palette = PaletteWidget(registry)
        self.inspector = InspectorWidget(self.doc, self.stack)
        self.history = QUndoView(self.stack)
        self.history.setEmptyLabel("Opened file")
        self._docks = {
            "palette": self._dock("Nodes", self.palette, Qt.DockWidgetArea.LeftDockWidgetArea),
            "inspector": self._dock("Inspector", self.inspector,
                                    Qt.DockWidgetArea.RightDockWidgetArea),
            "history": self._dock("History", self.history, Qt.DockWidgetArea.RightDockWidgetArea),
        }
        self.tabifyDockWidget(self._docks["inspector"], self._docks["history"])
        self._docks["inspector"].raise_()
        self.quick_search = QuickSearch(registry, self, self._on_quick_search_picked)
        self._quick_search_at = QPointF()
        self._quick_search_origin = None

        self._zoom_label = QLabel()
        self._problems_label = QLabel()
        self.statusBar().addPermanentWidget(self._problems_label)
        self.statusBar().addPermanentWidget(self._zoom_label)
        self._build_actions()
        self._build_menus_and_toolbar()

        self._validate_timer = QTimer(self, singleShot=True, interval=VALIDATE_DELAY_MS)
        self._validate_timer.timeout.connect(self.validate_now)
        for signal in (self.doc.node_added, self.doc.node_removed, self.doc.node_changed,
                       self.doc.connection_added, self.doc.connection_removed):
            signal.connect(self._schedule_validation)
        self.doc.workflow_changed.connect(self._schedule_validation)
        self.doc.reset.connect(self._schedule_validation)
        self.stack.cleanChanged.connect(self._update_title)
        self.stack.indexChanged.connect(self._update_title)
        self.editor.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.scene.selectionChanged.connect(self._on_scene_selection_changed)
        self.doc.node_renamed.connect(lambda old, new: self.editor.select([new]))
        self.doc.graph_shown.connect(self._on_doc_graph_shown)
        self.view.node_double_clicked.connect(self._on_view_node_double_clicked)
        self.scene.wire_dropped.connect(self._on_scene_wire_dropped)
        self.view.add_node_requested.connect(lambda t, pos: self.editor.add_node(t, pos))
        self.view.search_requested.connect(self._on_view_search_requested)
        self.view.zoom_changed.connect(self._on_view_zoom_changed)
        self.palette.add_requested.connect(self._on_palette_add_requested)
        self.autosaver = autosave.Autosaver(self.doc, lambda: not self.stack.isClean(),
                                            parent=self)
        self._update_title()
        self._on_view_zoom_changed(1.0)
        self.inspector.show_node(None)

    # --- building ------------------------------------------------------------------------

    def _dock(self, title: str, widget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower()}")
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        dock.setMinimumWidth(260 if area == Qt.DockWidgetArea.LeftDockWidgetArea else 340)
        return dock

    def _action(self, text: str, slot, shortcut=None, icon: str | None = None,
                tip: str = "") -> QAction:
        action = QAction(text, self)
        if icon:
            action.setIcon(resources.icon(icon))
        if shortcut is not None:
            keys = shortcut if isinstance(shortcut, list) else [shortcut]
            action.setShortcuts([QKeySequence(k) for k in keys])
        action.setStatusTip(tip or text.replace("&", "").replace("…", ""))
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work wherever the focus is in the window
        return action

    def _build_actions(self) -> None:
        K = QKeySequence.StandardKey
        a = self.actions_by_name = {}
        a["new"] = self._action("&New", self.new_file, K.New, "new")
        a["open"] = self._action("&Open…", self.open_dialog, K.Open, "open")
        a["save"] = self._action("&Save", self.save, K.Save, "save")
        a["save_as"] = self._action("Save &As…", self.save_as, K.SaveAs, "save_as")
        a["revert"] = self._action("&Revert to Saved", self.revert, None, "revert")
        a["quit"] = self._action("&Quit", self.close, K.Quit)
        undo = self.stack.createUndoAction(self, "&Undo")
        undo.setShortcuts(QKeySequence.keyBindings(K.Undo))
        undo.setIcon(resources.icon("undo"))
        redo = self.stack.createRedoAction(self, "&Redo")
        redo.setShortcuts([QKeySequence(K.Redo), QKeySequence("Ctrl+Y")])
        redo.setIcon(resources.icon("redo"))
        self.addAction(undo)
        self.addAction(redo)
        a["undo"], a["redo"] = undo, redo
        a["cut"] = self._action("Cu&t", self.editor.cut, K.Cut, "cut")
        a["copy"] = self._action("&Copy", self.editor.copy, K.Copy, "copy")
        a["paste"] = self._action("&Paste", self.editor.paste, K.Paste, "paste")
        a["duplicate"] = self._action("&Duplicate", self.editor.duplicate, "Ctrl+D", "duplicate")
        a["delete"] = self._action("De&lete", self.editor.delete_selection,
                                   [QKeySequence.StandardKey.Delete, "Backspace"], "delete")
        a["select_all"] = self._action("Select &All", self.editor.select_all, K.SelectAll)
        a["add_node"] = self._action("Add &Node…", self._open_search_at_cursor, "Tab", "search",
                                     "Search for a node type and add it")
        a["fit_all"] = self._action("&Fit All", self.view.fit_all, "F", "fit_all")
        a["fit_selection"] = self._action("Fit &Selection", self.view.fit_selection, "Shift+F",
                                          "fit_selection")
        a["zoom_in"] = self._action("Zoom &In", lambda: self.view.set_zoom(self.view.zoom() * 1.25),
                                    K.ZoomIn, "zoom_in")
        a["zoom_out"] = self._action("Zoom &Out",
                                     lambda: self.view.set_zoom(self.view.zoom() / 1.25),
                                     K.ZoomOut, "zoom_out")
        a["zoom_reset"] = self._action("&Actual Size", lambda: self.view.set_zoom(1.0), "Ctrl+0")
        a["validate"] = self._action("&Validate", self.validate_now, "Ctrl+Shift+V", "validate",
                                     "Check the workflow now")
        a["show_workflow"] = self._action("Show &Workflow", lambda: self.doc.show_graph(None),
                                          "Ctrl+Up", "subworkflow",
                                          "Back from a subgraph to the workflow")
        a["open_body"] = self._action("Open &Body of Selected Node", self.open_selected_body,
                                      "Ctrl+Down", None,
                                      "Edit the subgraph a loop or sub-workflow node runs")
        a["new_subgraph"] = self._action("&New Subgraph…", self.new_subgraph, None, None,
                                         "Add an empty subgraph and show it")
        a["delete_subgraph"] = self._action("&Delete This Subgraph", self.delete_subgraph)
        a["shortcuts"] = self._action("&Keyboard Shortcuts", self.show_shortcuts, "Ctrl+/",
                                      "keyboard")
        a["about"] = self._action("&About FlowUI", self.show_about)
        # Tab and Delete belong to the canvas only: text fields need them.
        for name in ("add_node", "delete", "fit_all", "fit_selection"):
            self.removeAction(a[name])
            self.view.addAction(a[name])
            a[name].setShortcutContext(Qt.ShortcutContext.WidgetShortcut)

    def _build_menus_and_toolbar(self) -> None:
        a = self.actions_by_name
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        for name in ("new", "open"):
            file_menu.addAction(a[name])
        self.recent_menu = file_menu.addMenu(resources.icon("recent"), "Open &Recent")
        self.examples_menu = file_menu.addMenu("Open &Example")
        for path in sorted(resources.examples_dir().glob("*.flow.json")):
            self.examples_menu.addAction(path.name.removesuffix(".flow.json").replace("_", " "),
                                         lambda p=path: self.open_path(p))
        file_menu.addSeparator()
        for name in ("save", "save_as", "revert"):
            file_menu.addAction(a[name])
        file_menu.addSeparator()
        file_menu.addAction(a["quit"])
        edit = bar.addMenu("&Edit")
        for name in ("undo", "redo", None, "cut", "copy", "paste", "duplicate", "delete", None,
                     "select_all", None, "add_node", "validate"):
            edit.addSeparator() if name is None else edit.addAction(a[name])
        view = bar.addMenu("&View")
        for name in ("fit_all", "fit_selection", None, "zoom_in", "zoom_out", "zoom_reset"):
            view.addSeparator() if name is None else view.addAction(a[name])
        view.addSeparator()
        for dock in self._docks.values():
            view.addAction(dock.toggleViewAction())
        graph_menu = bar.addMenu("&Graph")
        for name in ("show_workflow", "open_body", None, "new_subgraph", "delete_subgraph"):
            graph_menu.addSeparator() if name is None else graph_menu.addAction(a[name])
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(a["shortcuts"])
        help_menu.addAction(a["about"])
        tools = self.addToolBar("Main")
        tools.setObjectName("toolbar_main")
        tools.setMovable(False)
        tools.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        for name in ("new", "open", "save", None, "undo", "redo", None, "cut", "copy", "paste",
                     "delete", None, "add_node", "fit_all", "fit_selection", None, "validate"):
            tools.addSeparator() if name is None else tools.addAction(a[name])
        tools.addSeparator()
        self.graph_selector = GraphSelector(self.doc)
        tools.addWidget(QLabel("  Graph "))
        tools.addWidget(self.graph_selector)
        self._refresh_recent_menu()

    # --- files ---------------------------------------------------------------------------

    def new_file(self) -> None:
        if self.maybe_save():
            self._load(Workflow(), None)

    def open_dialog(self) -> None:
        if not self.maybe_save():
            return
        start = str(self.doc.path.parent) if self.doc.path else str(resources.examples_dir())
        path, _ = QFileDialog.getOpenFileName(self, "Open workflow", start, FILE_FILTER)
        if path:
            self.open_path(Path(path), ask=False)

    def open_path(self, path: Path, *, ask: bool = True) -> bool:
        """Open a file; a broken one shows every problem and leaves the current document
        untouched (never half-loaded)."""
        if ask and not self.maybe_save():
            return False
        try:
            wf = workflow_file.load(path)
        except WorkflowFileError as e:
            self.show_problems(f"Cannot open {Path(path).name}", e.problems)
            return False
        self._load(wf, Path(path).resolve())
        self._add_recent(Path(path).resolve())
        return True

    def _load(self, workflow: Workflow, path: Path | None) -> None:
        self.doc.load(workflow, path)
        self.stack.clear()
        self.stack.setClean()
        self.autosaver.clear()
        self.inspector.show_node(None)
        self._update_title()
        QTimer.singleShot(0, self.view.fit_all)

    def save(self) -> bool:
        if self.doc.path is None:
            return self.save_as()
        return self._write(self.doc.path)

    def save_as(self) -> bool:
        start = str(self.doc.path) if self.doc.path else str(
            Path.home() / f"{(self.doc.workflow.name or 'untitled').replace(' ', '_')}.flow.json")
        path, _ = QFileDialog.getSaveFileName(self, "Save workflow as", start, FILE_FILTER)
        if not path:
            return False
        target = Path(path)
        if not target.name.endswith(".json"):
            target = target.with_name(target.name + ".flow.json")
        return self._write(target)

    def _write(self, path: Path) -> bool:
        try:
            workflow_file.save(self.doc.workflow, path)  # atomic
        except OSError as e:
            QMessageBox.critical(self, "Save failed",
                                 f"Could not save {path}:\n{e.strerror or e}\n\n"
                                 "Your changes are still here; try another folder.")
            return False
        self.doc.path = path.resolve()
        self.stack.setClean()
        self.autosaver.clear()
        self._add_recent(self.doc.path)
        self.statusBar().showMessage(f"Saved {path}", 4000)
        self._update_title()
        return True

    def revert(self) -> None:
        if self.doc.path is None or self.stack.isClean():
            return
        answer = QMessageBox.question(
            self, "Revert to saved", f"Discard your changes and reload {self.doc.path.name}?",
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Discard:
            self.open_path(self.doc.path, ask=False)

    def maybe_save(self) -> bool:
        """Ask about unsaved changes; False means the user chose to stay."""
        if self.stack.isClean():
            return True
        name = self.doc.path.name if self.doc.path else "this new workflow"
        answer = QMessageBox.warning(
            self, "Unsaved changes", f"Save the changes to {name}?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.maybe_save():
            self.autosaver.clear()
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

    def offer_recovery(self) -> None:
        """After a crash: offer the newest autosave (the others stay for later)."""
        found = autosave.pending_recoveries()
        if not found:
            return
        rec = found[0]
        name = rec.original.name if rec.original else "an unsaved workflow"
        box = QMessageBox(QMessageBox.Icon.Question, "Recover unsaved work",
                          f"FlowUI did not close properly. Restore the unsaved changes to "
                          f"{name}?", parent=self)
        restore = box.addButton("Restore", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
        box.exec()
        if box.clickedButton() is restore:
            self.restore(rec)
        else:
            rec.discard()

    def restore(self, rec: autosave.Recovery) -> None:
        try:
            wf = workflow_file.loads(rec.text(), source=str(rec.snapshot))
        except WorkflowFileError as e:
            self.show_problems("Cannot restore the autosave", e.problems)
            return
        self._load(wf, rec.original)
        # Restored work is unsaved work: mark it so, and keep it autosaved.
        self.stack.resetClean()
        rec.discard()
        self.autosaver.save_now()
        self._update_title()

    def _add_recent(self, path: Path) -> None:
        recent = [p for p in self._recent() if p != str(path)]
        self.settings.setValue("recent", [str(path), *recent][:MAX_RECENT])
        self._refresh_recent_menu()

    def _recent(self) -> list[str]:
        value = self.settings.value("recent") or []
        return [value] if isinstance(value, str) else list(value)

    def _refresh_recent_menu(self) -> None:
        self.recent_menu.clear()
        for p in self._recent():
            self.recent_menu.addAction(Path(p).name, lambda p=p: self.open_path(Path(p)))\
                .setToolTip(p)
        self.recent_menu.setEnabled(bool(self._recent()))

    # --- drops of files ------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(u.toLocalFile().endswith(".json") for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            if url.toLocalFile().endswith(".json"):
                event.acceptProposedAction()
                self.open_path(Path(url.toLocalFile()))
                return

    # --- validation ----------------------------------------------------------------------

    def _schedule_validation(self, *_: object) -> None:
        self._validate_timer.start()

    def validate_now(self) -> list:
        problems = validate(self.doc.workflow, self.registry, base_dir=self.doc.base_dir)
        by_node: dict[str, list[str]] = {}
        prefix = f"{self.doc.graph_key}/" if self.doc.graph_key else ""
        for p in problems:
            node_id = p.node_id or ""
            if prefix and node_id.startswith(prefix):
                node_id = node_id[len(prefix):]  # validation names body nodes `body/node`
            elif prefix or "/" in node_id:
                continue  # a problem in another graph: in the status bar's tooltip only
            if node_id in self.scene.nodes:
                by_node.setdefault(node_id, []).append(
                    f"{p.field}: {p.message}" if p.field else p.message)
        self.scene.set_problems(by_node)
        n = len(problems)
        self._problems_label.setText(f"  {n} problem{'s' if n != 1 else ''}  " if n else
                                     "  ✓ valid  ")
        self._problems_label.setStyleSheet("color: #f85149;" if n else "color: #3fb950;")
        self._problems_label.setToolTip("\n".join(str(p) for p in problems))
        return problems

    # --- small handlers ------------------------------------------------------------------

    def _update_title(self, *_: object) -> None:
        if not shiboken6.isValid(self.stack):  # the window is being torn down
            return
        name = self.doc.path.name if self.doc.path else "Untitled"
        if self.doc.graph_key is not None:
            name += f" \N{SINGLE RIGHT-POINTING ANGLE QUOTATION MARK} {self.doc.graph_key}"
        self.setWindowModified(not self.stack.isClean())
        self.setWindowTitle(f"{name}[*] — FlowUI")
        self.actions_by_name["revert"].setEnabled(
            self.doc.path is not None and not self.stack.isClean())

    def _on_view_zoom_changed(self, zoom: float) -> None:
        self._zoom_label.setText(f"  {zoom * 100:.0f}%  ")

    def _on_scene_selection_changed(self) -> None:
        if not shiboken6.isValid(self.scene):  # emitted while the scene is destroyed
            return
        ids = self.scene.selected_node_ids()
        self.inspector.show_node(ids[0] if len(ids) == 1 else None)

    def _open_search_at_cursor(self) -> None:
        """At the mouse when it is over the canvas (Tab), else in the canvas's middle."""
        at = self.view.viewport().mapFromGlobal(QCursor.pos())
        if not self.view.viewport().rect().contains(at):
            at = self.view.viewport().rect().center()
        self._on_view_search_requested(self.view.mapToScene(at))

    def _on_view_search_requested(self, scene_pos: QPointF) -> None:
        self._quick_search_at = scene_pos
        self._quick_search_origin = None
        self.quick_search.open_at(self.view.mapToGlobal(self.view.mapFromScene(scene_pos)))

    def _on_scene_wire_dropped(self, origin, scene_pos: QPointF) -> None:
        self._quick_search_at = scene_pos
        self._quick_search_origin = origin
        self.quick_search.open_at(self.view.mapToGlobal(self.view.mapFromScene(scene_pos)),
                                  origin)

    def _on_quick_search_picked(self, type_id: str) -> None:
        pos = self._quick_search_at
        if self._quick_search_origin is not None and not self._quick_search_origin.output:
            pos = pos - QPointF(200, 0)  # a node feeding an input goes to its left
        self.editor.add_node(type_id, pos, self._quick_search_origin)
        self.view.setFocus()

    def _on_palette_add_requested(self, type_id: str) -> None:
        self.editor.add_node(type_id, self.view.mapToScene(self.view.viewport().rect().center()))

    # --- subgraphs ------------------------------------------------------------------------

    def _on_doc_graph_shown(self, key: str | None) -> None:
        self.actions_by_name["delete_subgraph"].setEnabled(key is not None)
        self.actions_by_name["show_workflow"].setEnabled(key is not None)
        where = "the workflow" if key is None else f"subgraph {key}"
        self.statusBar().showMessage(f"Editing {where}", 4000)
        self._update_title()
        self._schedule_validation()
        QTimer.singleShot(0, self.view.fit_all)

    def _on_view_node_double_clicked(self, node_id: str) -> None:
        if open_body(self.doc, self.stack, node_id) is None:
            self.inspector.show_node(node_id)

    def open_selected_body(self) -> None:
        ids = self.scene.selected_node_ids()
        if len(ids) == 1 and open_body(self.doc, self.stack, ids[0]) is not None:
            return
        self.statusBar().showMessage("Select one loop, for-each or sub-workflow node first",
                                     5000)

    def new_subgraph(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        name, ok = QInputDialog.getText(self, "New subgraph", "Name (letters, digits, _ and -):",
                                        text=unique_subgraph_name(self.doc, "body"))
        if not ok:
            return
        import re

        name = name.strip()
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", name) or \
                name in self.doc.workflow.subgraphs:
            self.statusBar().showMessage(f"Cannot add subgraph {name!r}: the name must be new "
                                         "and made of letters, digits, _ and -", 6000)
            return
        self.stack.push(AddSubgraphCommand(self.doc, name))
        self.doc.show_graph(name)

    def delete_subgraph(self) -> None:
        key = self.doc.graph_key
        if key is not None:
            self.stack.push(RemoveSubgraphCommand(self.doc, key))

    def show_problems(self, title: str, problems: list[str]) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, title,
                          f"{len(problems)} problem{'s' if len(problems) != 1 else ''} "
                          "found; nothing was changed.", parent=self)
        box.setDetailedText("\n".join(problems))
        box.setInformativeText("\n".join(problems[:8]) + ("\n…" if len(problems) > 8 else ""))
        box.exec()

    def show_shortcuts(self) -> None:
        ShortcutsDialog(self.actions_by_name, self).exec()

    def show_about(self) -> None:
        QMessageBox.about(self, "About FlowUI",
                          "<b>FlowUI</b><br>A visual node editor for workflows, with an "
                          "embedded async engine.<br>The same files run headless with "
                          "<code>flowcli run</code>.")
