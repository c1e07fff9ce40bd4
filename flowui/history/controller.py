"""The editor's side of the run store: what the Runs panel lists, a stored run shown
on the canvas (with what changed in the workflow since, node by node) and replayed,
rerun, compared with another, exported, deleted.

A stored run is shown by the same views as a live one: its events and full outputs
are replayed into a `RunSession` (flowui.history.replay) that the run controller
shows read-only. The store is opened on first use; one that cannot be opened (a
newer FlowUI's, a folder without write access) is said once, and the editor goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox, QVBoxLayout, QWidget

from engine.errors import FlowError, StoreError
from engine.store.export import export_run
from engine.store.store import RunStore
from engine.workflow.file import from_data
from flowui.document import WorkflowDocument
from flowui.history.changes import changed_since
from flowui.history.compare_view import CompareView
from flowui.history.replay import Replay, in_order
from flowui.history.runs_panel import LISTED, RunsPanel, when
from flowui.history.timeline import ReplayBar
from flowui.run.controller import RunController

POLL_MS = 1000  # the Runs panel looks for runs finished elsewhere this often


class HistoryController(QObject):
    message = Signal(str)

    def __init__(self, window: QWidget, runs: RunController, panel: RunsPanel,
                 bar: ReplayBar, open_file: Callable[[Path], bool],
                 reveal: Callable[[str | None, str], None]) -> None:
        super().__init__(window)
        self.window, self.runs, self.panel, self.bar = window, runs, panel, bar
        self.doc: WorkflowDocument = runs.doc
        self._open_file, self._reveal = open_file, reveal
        self.store: RunStore | None = None
        self._store_failed = False
        self._token: object = None
        self._shown_label = ""
        self._changed: dict[tuple[str | None, str], str] = {}
        self.compare_dialog: QDialog | None = None  # the last comparison, while open
        self.compare_view: CompareView | None = None
        self._poll = QTimer(self, interval=POLL_MS)
        self._poll.timeout.connect(self.refresh)
        self._poll.start()
        panel.open_requested.connect(self.open_run)
        panel.rerun_requested.connect(self.rerun)
        panel.compare_requested.connect(self.compare)
        panel.export_requested.connect(self.export)
        panel.delete_requested.connect(self.delete)
        panel.every.toggled.connect(lambda _on: self.refresh(force=True))
        bar.seeked.connect(self._on_seeked)
        runs.finished.connect(lambda _session: self.refresh(force=True))
        runs.started.connect(self._on_runs_started)
        self.doc.reset.connect(lambda: self.refresh(force=True))

    # --- the store ---------------------------------------------------------------------------

    def open_store(self) -> RunStore | None:
        if self.store is None and not self._store_failed and self.runs.store_path is not None:
            try:
                self.store = RunStore(self.runs.store_path, warn=self.message.emit)
            except (StoreError, OSError) as e:
                self._store_failed = True  # said once; runs go on unrecorded
                self.message.emit(f"The run store cannot be used: {e}")
                self.panel.show_runs([], "no run store")
        return self.store

    def refresh(self, *, force: bool = False) -> None:
        """List the runs again when the store changed (any process), or `force`."""
        store = self.open_store()
        if store is None:
            return
        try:
            token = store.change_token()
            if token == self._token and not force:
                return
            self._token = token
            workflow = None if self.panel.every.isChecked() else (
                str(self.doc.path) if self.doc.path else self.doc.workflow.name)
            page = store.list_runs(workflow=workflow, limit=LISTED)
        except StoreError as e:
            self.message.emit(f"Cannot read the run store: {e}")
            return
        n = len(page.runs)
        more = "+" if page.cursor else ""
        self.panel.show_runs(page.runs, f"{n}{more} run{'s' if n != 1 else ''}")

    # --- one run on the canvas ---------------------------------------------------------------

    def load(self, run_id: str) -> tuple[Replay, str, str | None] | None:
        """A stored run ready to show: its replay (at the end), a label, and the file of
        its workflow. None (and why, said) when it cannot be read."""
        store = self.open_store()
        if store is None:
            return None
        try:
            detail = store.get(run_id)
            workflow = from_data(detail.snapshot or {})
            replay = Replay(workflow, in_order(store.events(detail.id), store.outputs(detail.id)),
                            max_value_bytes=self.runs.max_value_bytes)
        except FlowError as e:  # gone meanwhile, or a snapshot this FlowUI cannot read
            self.message.emit(f"Cannot show run {run_id}: {e}")
            return None
        replay.seek(len(replay.records))
        summary = detail.summary
        label = f"Run {summary.id} · {summary.status} · {when(summary.started_at)}"
        return replay, label, summary.workflow_path

    def open_run(self, run_id: str) -> bool:
        """Show a stored run on the canvas, read-only, with the replay bar."""
        if self.runs.running:
            self.message.emit("A run is going: cancel it (Shift+F5) to look at another")
            return False
        loaded = self.load(run_id)
        if loaded is None:
            return False
        replay, label, path = loaded
        file = Path(path) if path else None
        if file is not None and file != self.doc.path and file.is_file() \
                and not self._open_file(file):
            return False  # the user kept the workflow open (unsaved changes)
        self._changed = changed_since(replay.workflow, self.doc.workflow)
        if self._changed:
            n = len(self._changed)
            label += f" · {n} node{'s' if n != 1 else ''} changed since"
        self._shown_label = label
        self.runs.show_stored(replay.session, label, self._changed)
        self.bar.show_replay(replay)
        return True

    def _on_seeked(self, rebuilt: bool) -> None:
        replay = self.bar.replay
        if replay is None:
            return
        if rebuilt:
            self.runs.show_stored(replay.session, self._shown_label, self._changed)
        else:
            self.runs.stored_advanced()

    def _on_runs_started(self, _session: object) -> None:
        if self.bar.replay is not None and self.runs.running:  # a live run replaces it
            self.bar.pause()
            self.bar.replay = None
            self.bar.hide()

    # --- acting on runs ------------------------------------------------------------------------

    def rerun(self, run_id: str) -> None:
        """Run the workflow on the canvas again with the inputs the run had."""
        store = self.open_store()
        if store is None:
            return
        try:
            inputs = store.get(run_id).inputs or {}
        except StoreError as e:
            self.message.emit(f"Cannot rerun {run_id}: {e}")
            return
        if self.runs.running:
            self.message.emit("A run is going: cancel it (Shift+F5) first")
            return
        self.runs.start(dict(inputs))

    def compare(self, older: str, newer: str) -> None:
        a, b = self.load(older), self.load(newer)
        if a is None or b is None:
            return
        view = CompareView()
        view.show_runs(a[0].session, b[0].session, a[1], b[1])
        view.node_activated.connect(self._reveal_path)
        dialog = QDialog(self.window)
        dialog.setWindowTitle("Compare runs")
        layout = QVBoxLayout(dialog)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(view)
        dialog.resize(900, 640)
        if self.compare_dialog is not None:
            self.compare_dialog.close()
        self.compare_dialog, self.compare_view = dialog, view
        dialog.show()  # not modal: the canvas stays usable beside it
        if not self.runs.running:
            self.runs.show_stored(b[0].session, b[1], changed_since(b[0].workflow,
                                                                     self.doc.workflow))

    def _reveal_path(self, path: str) -> None:
        place = self.runs.overlay.place(path) if self.runs.session is not None else None
        if place is not None:
            self._reveal(place[0], place[1])

    def export(self, run_id: str) -> None:
        store = self.open_store()
        if store is None:
            return
        folder = QFileDialog.getExistingDirectory(self.window, f"Export run {run_id} to")
        if not folder:
            return
        try:
            written = export_run(store, run_id, Path(folder) / run_id)
        except (StoreError, OSError) as e:
            self.message.emit(f"Cannot export run {run_id}: {e}")
            return
        self.message.emit(f"Run {run_id} exported to {written[0].parent}: "
                          + ", ".join(p.name for p in written))

    def delete(self, run_ids: list[str]) -> None:
        store = self.open_store()
        if store is None:
            return
        n = len(run_ids)
        answer = QMessageBox.question(
            self.window, "Delete runs",
            f"Delete {'run ' + run_ids[0] if n == 1 else f'{n} runs'} from the run store, "
            "with their events and outputs? This cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            return
        for run_id in run_ids:
            try:
                store.delete(run_id)
            except StoreError as e:
                self.message.emit(f"Cannot delete run {run_id}: {e}")
        self.refresh(force=True)
