"""The workflow file behind the editor: new, open (dialog, recent files, examples, files
dropped on the window), save, save as, revert, the unsaved-changes prompt, the window
title, autosave and the recovery offered after a crash."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import shiboken6
from PySide6.QtCore import QEvent, QObject, QSettings, Qt
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QDialog, QFileDialog, QMainWindow, QMenu, QMessageBox

from engine.errors import WorkflowFileError
from engine.support import bounded_json
from engine.support.bounded_read import read_regular
from engine.workflow import file as workflow_file
from engine.workflow.model import Workflow
from flowui import autosave, resources
from flowui.actions import make_action
from flowui.editor import Editor

FILE_FILTER = "FlowUI workflows (*.flow.json);;JSON files (*.json);;All files (*)"
MAX_RECENT = 10


def _title_of(path: Path) -> tuple[str, str]:
    """An example's own name and description, as the menu shows them (the file name when
    the file cannot say)."""
    fallback = path.name.removesuffix(".flow.json").replace("_", " ")
    try:
        data = bounded_json.loads(read_regular(path, max_bytes=1 << 20))
    except (OSError, ValueError):
        return fallback, ""
    if not isinstance(data, dict):
        return fallback, ""
    name, about = data.get("name"), data.get("description")
    return (name if isinstance(name, str) and name.strip() else fallback,
            about if isinstance(about, str) else "")


class FileController(QObject):
    def __init__(self, window: QMainWindow, editor: Editor, settings: QSettings) -> None:
        super().__init__(window)
        self.window, self.editor, self.settings = window, editor, settings
        self.doc, self.stack = editor.doc, editor.undo_stack
        self.autosaver = autosave.Autosaver(self.doc, lambda: not self.stack.isClean(),
                                            parent=self)
        K = QKeySequence.StandardKey
        self.actions: dict[str, QAction] = {
            "new": make_action(window, "&New", self.new_file, K.New, "new"),
            "open": make_action(window, "&Open…", self.open_dialog, K.Open, "open"),
            "save": make_action(window, "&Save", self.save, K.Save, "save"),
            "save_as": make_action(window, "Save &As…", self.save_as, K.SaveAs, "save_as"),
            "revert": make_action(window, "&Revert to Saved", self.revert, None, "revert"),
            "new_from_example": make_action(
                window, "New from E&xample…", self.show_gallery, "Ctrl+Shift+N", "new",
                "Start from a copy of an example workflow"),
        }
        self.recent_menu = QMenu("Open &Recent", window)
        self.recent_menu.setIcon(resources.icon("recent"))
        self.examples_menu = QMenu("Open &Example", window)
        for path in sorted(resources.examples_dir().glob("*.flow.json")):
            name, about = _title_of(path)
            action = self.examples_menu.addAction(name, self._copier(path))
            action.setStatusTip(about)
            action.setToolTip(about)
        self.examples_menu.setToolTipsVisible(True)
        self.gallery: QDialog | None = None
        window.setAcceptDrops(True)
        window.installEventFilter(self)
        self.stack.cleanChanged.connect(self.update_title)
        self.stack.indexChanged.connect(self.update_title)
        editor.graph_shown.connect(self.update_title)
        self._refresh_recent_menu()
        self.update_title()

    # --- opening ---------------------------------------------------------------------------

    def new_file(self) -> None:
        if self.maybe_save():
            self._load(Workflow(), None)

    def open_dialog(self) -> None:
        if not self.maybe_save():
            return
        start = str(self.doc.path.parent) if self.doc.path else str(resources.examples_dir())
        path, _ = QFileDialog.getOpenFileName(self.window, "Open workflow", start, FILE_FILTER)
        if path:
            self.open_path(Path(path), ask=False)

    def open_path(self, path: Path, *, ask: bool = True) -> bool:
        """Open a file; a broken one shows every problem and leaves the current document
        untouched (never half-loaded)."""
        if ask and not self.maybe_save():
            return False
        wf = self._read(path)
        if wf is None:
            return False
        self._load(wf, Path(path).resolve())
        self._add_recent(Path(path).resolve())
        return True

    def _read(self, path: Path) -> Workflow | None:
        """The workflow in `path`, or None once its problems are shown."""
        try:
            return workflow_file.load(path)
        except WorkflowFileError as e:
            self.show_problems(f"Cannot open {Path(path).name}", e.problems)
            return None

    def _opener(self, path: Path) -> Callable[[], object]:
        return lambda: self.open_path(path)

    def show_gallery(self) -> None:
        from flowui.example_gallery import ExampleGallery

        gallery = ExampleGallery(self.doc.registry, self.open_copy, self.window)
        gallery.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.gallery = gallery  # (tests reach it here)
        gallery.open()  # never exec(): the engine shares the loop

    def open_copy(self, path: Path) -> bool:
        """A new, untitled workflow with `path`'s content (an example): saving asks
        where, so the original is never overwritten."""
        if not self.maybe_save():
            return False
        wf = self._read(path)
        if wf is None:
            return False
        self._load(wf, None)
        self.window.statusBar().showMessage(
            f"A copy of {wf.name or path.name}: Save asks where to keep it", 6000)
        return True

    def _copier(self, path: Path) -> Callable[[], object]:
        return lambda: self.open_copy(path)

    def _load(self, workflow: Workflow, path: Path | None) -> None:
        self.doc.load(workflow, path)
        self.stack.clear()
        self.stack.setClean()
        self.autosaver.clear()
        self.update_title()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Workflow files dropped on the window open (drops on the canvas add nodes)."""
        if watched is self.window and isinstance(event, QDragEnterEvent | QDropEvent):
            paths = [Path(u.toLocalFile()) for u in event.mimeData().urls()
                     if u.toLocalFile().endswith(".json")]
            if paths:
                event.acceptProposedAction()
                if event.type() == QEvent.Type.Drop:
                    self.open_path(paths[0])
                return True
        return super().eventFilter(watched, event)

    # --- saving ------------------------------------------------------------------------------

    def save(self) -> bool:
        if self.doc.path is None:
            return self.save_as()
        return self.write(self.doc.path)

    def save_as(self) -> bool:
        start = str(self.doc.path) if self.doc.path else str(
            Path.home() / f"{(self.doc.workflow.name or 'untitled').replace(' ', '_')}.flow.json")
        path, _ = QFileDialog.getSaveFileName(self.window, "Save workflow as", start,
                                              FILE_FILTER)
        if not path:
            return False
        target = Path(path)
        if not target.name.endswith(".json"):
            target = target.with_name(target.name + ".flow.json")
        return self.write(target)

    def write(self, path: Path) -> bool:
        try:
            workflow_file.save(self.doc.workflow, path)  # atomic
        except OSError as e:
            QMessageBox.critical(self.window, "Save failed",
                                 f"Could not save {path}:\n{e.strerror or e}\n\n"
                                 "Your changes are still here; try another folder.")
            return False
        self.doc.path = path.resolve()
        self.stack.setClean()
        self.autosaver.clear()
        self._add_recent(self.doc.path)
        self.window.statusBar().showMessage(f"Saved {path}", 4000)
        self.update_title()
        return True

    def revert(self) -> None:
        if self.doc.path is None or self.stack.isClean():
            return
        answer = QMessageBox.question(
            self.window, "Revert to saved",
            f"Discard your changes and reload {self.doc.path.name}?",
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
            self.window, "Unsaved changes", f"Save the changes to {name}?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def closed(self) -> None:
        """The window closes with nothing unsaved: nothing to recover either."""
        self.autosaver.clear()

    # --- after a crash -----------------------------------------------------------------------

    def offer_recovery(self) -> None:
        """Offer the newest autosave of a session that died (the others stay for later)."""
        found = autosave.pending_recoveries()
        if not found:
            return
        rec = found[0]
        name = rec.original.name if rec.original else "an unsaved workflow"
        box = QMessageBox(QMessageBox.Icon.Question, "Recover unsaved work",
                          f"FlowUI did not close properly. Restore the unsaved changes to "
                          f"{name}?", parent=self.window)
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
        self.update_title()

    def show_problems(self, title: str, problems: list[str]) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, title,
                          f"{len(problems)} problem{'s' if len(problems) != 1 else ''} "
                          "found; nothing was changed.", parent=self.window)
        box.setDetailedText("\n".join(problems))
        box.setInformativeText("\n".join(problems[:8]) + ("\n…" if len(problems) > 8 else ""))
        box.exec()

    # --- recent files and the title ----------------------------------------------------------

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
            self.recent_menu.addAction(Path(p).name, self._opener(Path(p))).setToolTip(p)
        self.recent_menu.setEnabled(bool(self._recent()))

    def update_title(self, *_: object) -> None:
        if not shiboken6.isValid(self.stack):  # the window is being torn down
            return
        name = self.doc.path.name if self.doc.path else "Untitled"
        graph = self.editor.current_graph
        if graph is not None:
            name += f" \N{SINGLE RIGHT-POINTING ANGLE QUOTATION MARK} {graph}"
        self.window.setWindowModified(not self.stack.isClean())
        self.window.setWindowTitle(f"{name}[*] — FlowUI")
        self.actions["revert"].setEnabled(self.doc.path is not None and not self.stack.isClean())

