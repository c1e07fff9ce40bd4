"""The run controller: Run, Cancel and Clear, a run of a snapshot of the document on
the Qt loop (qasync; no thread), and the live view fed from the engine's events.

The engine's records (events and full outputs) are appended to a list as they
happen, in the run's own task; a timer hands them to the `RunSession` and repaints
at most every FRAME_MS, so a run of thousands of nodes cannot flood the window.
Running never touches the document or the undo stack: the file stays unmodified.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QSettings, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QInputDialog, QLabel, QMessageBox, QWidget

from engine.core.bus import EventBus
from engine.core.output_cache import CachePolicy
from engine.core.partial import Mode, partial_run
from engine.core.registry import Registry
from engine.core.runner import Runner
from engine.store.connection import default_path as default_store_path
from engine.workflow.model import Workflow
from flowui import theme
from flowui.actions import make_action
from flowui.document import GraphKey
from flowui.editor import Editor
from flowui.run import allowed_folders
from flowui.run.allowed_folders import AllowedFoldersDialog
from flowui.run.clusters import ClusterPool
from flowui.run.collector import HELD
from flowui.run.keep import DEFAULT_BUDGET_BYTES, DEFAULT_MAX_VALUE_BYTES, human_size
from flowui.run.launch import Launch
from flowui.run.overlay import RunOverlay, duration_text
from flowui.run.run_dialog import (
    RunDialog,
    remember_inputs,
    remember_test_run,
    remembered_inputs,
    remembered_test_run,
)
from flowui.run.session import RunSession
from flowui.validation import ValidationController

log = logging.getLogger("flowui.run")

FRAME_MS = 33  # live updates are coalesced to at most one repaint per frame...
MAX_FRAME_MS = 250  # ...and spaced out when a frame costs much (a huge graph at fit)
UI_SHARE = 0.25  # the share of the loop the live view may take while a run goes
CLOCK_MS = 200  # the status bar's elapsed time while running
RELEASE_AFTER_MS = 300  # after a run, full garbage collections resume this much later


def snapshot(workflow: Workflow) -> Workflow:
    """A copy the run can keep while the user goes on editing. Node specs are replaced,
    never changed in place, by the document's commands; the lists holding them are
    changed in place, so those are copied (cheap even for 10,000 nodes)."""
    subgraphs = {name: sg.model_copy(update={"nodes": list(sg.nodes),
                                             "connections": list(sg.connections),
                                             "inputs": dict(sg.inputs)})
                 for name, sg in workflow.subgraphs.items()}
    return workflow.model_copy(update={"nodes": list(workflow.nodes),
                                       "connections": list(workflow.connections),
                                       "inputs": dict(workflow.inputs),
                                       "subgraphs": subgraphs})


class RunController(QObject):
    started = Signal(object)  # the new RunSession
    updated = Signal(object)  # the set of node paths changed in this frame
    finished = Signal(object)  # the RunSession, its run over
    cleared = Signal()
    message = Signal(str)  # for the status bar
    problems_wanted = Signal()  # the run could not start: show the Problems dock
    overlay_changed = Signal()  # another iteration of a body is shown

    def __init__(self, window: QWidget, editor: Editor, validation: ValidationController,
                 settings: QSettings, registry: Registry) -> None:
        super().__init__(window)
        self.window, self.editor, self.validation = window, editor, validation
        self.doc, self.settings = editor.doc, settings
        self.runner = Runner(registry)
        self.overlay = RunOverlay(editor.scene, registry, self)
        self.session: RunSession | None = None
        self._collections_hold: object | None = None  # no 200 ms GC freeze mid-run
        self._following = False  # showing a run started elsewhere (see `follow`)
        # Cancel when no local run goes: a followed server run (flowui.remote); True
        # when it had one to cancel.
        self.external_cancel: Callable[[], bool] | None = None
        # Where runs are recorded (the store `flowcli runs` reads); None: not recorded.
        self.store_path: Path | None = default_store_path()
        self.run: Launch | None = None
        # Whole runs take unchanged cacheable nodes' outputs from the cache (Run ▸ Reuse
        # Cached Outputs, flowui.run.dev_mode); headless runs only with --cache.
        self.reuse_cache = True
        self.clusters = ClusterPool()  # Dask clusters named by settings.executor, kept
        self._partial: tuple[Mode, str] | None = None  # what the run dialog open will run
        self.label = QLabel()  # the status bar's run summary
        self._label_status = ""  # the summary's colour: its run state's
        self._restyle_label = theme.follow(
            self.label, lambda: f"color: {theme.status_color(self._label_status).name()};")
        self.dialog: RunDialog | None = None  # the run dialog last opened
        self._started_clock = 0.0
        self._pending: list[Any] = []  # engine records not yet applied
        self._then: Callable[[], object] | None = None  # after the run ends (restart, close)
        self._frame = QTimer(self, interval=FRAME_MS)
        self._frame.timeout.connect(self.apply_pending)
        self._clock = QTimer(self, interval=CLOCK_MS)
        self._clock.timeout.connect(self._show_status)
        self.actions: dict[str, QAction] = {
            "run": make_action(window, "&Run", lambda: self.request_run(), ["F5", "Ctrl+Return"],
                               "run",
                               "Run the workflow and watch it live (F5)"),
            "cancel": make_action(window, "&Cancel Run", self.cancel, "Shift+F5", "stop",
                                  "Cancel the run (Shift+F5, or Esc on the canvas)"),
            "clear_run": make_action(window, "C&lear Run", self.clear, "Ctrl+Shift+Backspace",
                                     "clear", "Forget the last run's states and values"),
            "test_run": make_action(window, "&Test Run", self._on_test_run_toggled, None,
                                    None, "Run with the test-run caps (FORMAT.md)"),
            "value_limit": make_action(window, "&Value Size Limit…", self.ask_value_limit,
                                       None, None, "How big a value the editor keeps whole"),
            "allowed_folders": make_action(
                window, "Allowed &Folders…", self.ask_allowed_folders, None, None,
                "Folders file nodes may use besides the workflow's own"),
        }
        allowed_folders.apply(settings)
        self.actions["test_run"].setCheckable(True)
        self.actions["test_run"].setChecked(remembered_test_run(settings, None))
        for signal in (self.doc.node_changed, self.doc.node_added, self.doc.node_moved,
                       self.doc.node_renamed):
            signal.connect(self._on_doc_node_edited)
        self.doc.connection_added.connect(self._on_doc_wire_edited)
        self.doc.connection_removed.connect(self._on_doc_wire_edited)
        self.doc.reset.connect(self._on_doc_reset)
        self._enable()

    # --- state -----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.run is not None

    def _enable(self) -> None:
        self.actions["cancel"].setEnabled(self.running)
        self.actions["clear_run"].setEnabled(self.session is not None and not self.running)

    @property
    def max_value_bytes(self) -> int:
        value = self.settings.value("run/max_value_bytes", DEFAULT_MAX_VALUE_BYTES)
        try:
            return max(1000, int(str(value)))
        except ValueError:  # a hand-edited settings file
            return DEFAULT_MAX_VALUE_BYTES

    # --- starting --------------------------------------------------------------------------

    def request_run(self, partial: tuple[Mode, str] | None = None) -> None:
        """The Run action: check, ask for inputs when the workflow declares some, start;
        `partial` runs part of the workflow (Run This Node and its kin)."""
        if self.running:
            answer = QMessageBox.question(
                self.window, "A run is in progress",
                "A run of this workflow is still going. Cancel it and start again?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
            if answer != QMessageBox.StandardButton.Yes:
                return
            self.cancel(then=lambda: self.request_run(partial))
            return
        problems = self.validation.revalidate()
        if problems:
            n = len(problems)
            self.message.emit(f"Cannot run: the workflow has {n} problem{'s' if n != 1 else ''}"
                              f" (see Problems). First: {problems[0]}")
            self.problems_wanted.emit()
            return
        inputs = self.doc.workflow.inputs
        self._partial = partial
        if not inputs:
            self.start({}, test_run=self.actions["test_run"].isChecked(), partial=partial)
            return
        dialog = RunDialog(inputs, remembered_inputs(self.settings, self.doc.path),
                           test_run=remembered_test_run(self.settings, self.doc.path),
                           workflow_name=self.doc.workflow.name, parent=self.window)
        dialog.run_requested.connect(self._on_dialog_run_requested)
        self.dialog = dialog
        dialog.open()  # never exec(): the engine's loop is this loop

    def _on_dialog_run_requested(self, values: dict[str, Any], test_run: bool) -> None:
        remember_inputs(self.settings, self.doc.path, values)
        remember_test_run(self.settings, self.doc.path, test_run)
        self.start(values, test_run=test_run, partial=self._partial)

    def start(self, inputs: dict[str, Any], *, test_run: bool = False,
              partial: tuple[Mode, str] | None = None) -> RunSession | None:
        """Start a run of the document as it is now, with `inputs`; `partial` runs only
        (mode, node) of it (engine.core.partial: only, until, from)."""
        if self.running:
            raise RuntimeError("a run is already going")
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self.message.emit("Cannot run: the editor's event loop is not running")
            return None
        workflow = snapshot(self.doc.workflow)
        policy = CachePolicy(reuse=self.reuse_cache)
        if partial is not None:
            part = partial_run(workflow, *partial)
            workflow, policy = part.workflow, part.policy(reuse=self.reuse_cache)
        attempts = {n.id: n.retry.max_attempts for n in workflow.nodes if n.retry}
        for sub in workflow.subgraphs.values():
            attempts.update({n.id: n.retry.max_attempts for n in sub.nodes if n.retry})
        session = RunSession(workflow, max_value_bytes=self.max_value_bytes,
                             budget_bytes=DEFAULT_BUDGET_BYTES, max_attempts=attempts)
        self.session = session
        self._pending = []
        self._following = False

        def receive(record: Any) -> None:  # in the run's task: keep it to an append
            if self.session is session:
                self._pending.append(record)

        bus = EventBus()
        bus.subscribe(receive)
        self.run = Launch(self.runner, workflow, inputs, bus=bus, base_dir=self.doc.base_dir,
                          options={"test_run": True} if test_run else None,
                          on_outputs=receive, store=self.store_path,
                          workflow_path=self.doc.path, warn=self.message.emit, policy=policy,
                          clusters=self.clusters)
        session.run_id = self.run.run_id
        self._started_clock = time.monotonic()
        self._collections_hold = HELD.hold()
        self.overlay.show_session(session)
        self.started.emit(session)
        self._frame.start()
        self._clock.start()
        watcher = asyncio.ensure_future(self.run.wait())
        watcher.add_done_callback(self._on_run_done)
        self._enable()
        self._show_status()
        return session

    # --- stopping ---------------------------------------------------------------------------

    def cancel(self, then: Callable[[], object] | None = None) -> bool:
        """Cancel the run going, if any; `then` runs once it has ended."""
        if self.run is None:
            if self.external_cancel is not None and self.external_cancel():
                return True
            if then is not None:
                then()
            return False
        self._then = then
        self.run.cancel()
        self.message.emit("Cancelling the run…")
        return True

    def clear(self) -> None:
        """Forget the last run (its states, values and log): the canvas shows the document
        alone again."""
        if self.running:
            return
        self.session = None
        self._pending = []
        self._following = False
        self._frame.stop()
        self.overlay.show_session(None)
        self.label.setText("")
        self.cleared.emit()
        self._enable()

    # --- runs that are over: stored, or replayed -------------------------------------------

    def show_stored(self, session: RunSession, label: str,
                    changed: Iterable[tuple[GraphKey, str]] = ()) -> bool:
        """Show a run that is not going on (a stored run, or a moment of one being
        replayed) in the same views as a live run; `changed`: the nodes that differ in
        the document now, marked as edited. False while a run is going."""
        if self.running:
            return False
        self.session = session
        self._pending = []
        self._following = False
        self._frame.stop()
        self.overlay.show_session(session)
        for graph, node_id in changed:
            self.overlay.mark_edited(graph, node_id)
        self.started.emit(session)
        self.updated.emit(session.take_dirty())
        if session.finished:
            self.finished.emit(session)
        self.label.setText(label)
        self._enable()
        return True

    def follow(self, session: RunSession, label: str) -> bool:
        """Show live a run that something else started (a trigger served in the
        editor: flowui.run.triggers); its records come through `follow_record`."""
        if self.running:
            return False
        self.session = session
        self._pending = []
        self._following = True
        self.overlay.show_session(session)
        self.started.emit(session)
        self.label.setText(label)
        self._frame.start()
        return True

    def follow_record(self, record: Any) -> None:
        """A record of a run being followed (others' are ignored: only one is shown)."""
        session = self.session
        if self._following and session is not None and record.run_id == session.run_id:
            self._pending.append(record)

    def stored_advanced(self) -> None:
        """The session shown (see `show_stored`) took more records: show them."""
        session = self.session
        if session is None or self.running:
            return
        dirty = session.take_dirty()
        if dirty:
            self.overlay.update_paths(dirty)
        self.updated.emit(dirty)
        if session.finished:
            self.finished.emit(session)

    def _on_run_done(self, watcher: asyncio.Future[Any]) -> None:
        if not shiboken6.isValid(self):  # the window went first (a test's teardown)
            return
        run = self.run
        if not watcher.cancelled() and watcher.exception() is not None:
            log.error("the run ended with an error the engine did not report",
                      exc_info=watcher.exception())
        self.apply_pending()
        if self.session is not None and run is not None and run.refused is not None:
            self.session.result = {"outputs": {}, "error": {"type": "executor",
                                                            "message": run.refused}}
            self.session.end("failed", run.refused)  # its executor could not be reached
            self.apply_pending()
        elif self.session is not None and run is not None and run.result is None:
            # Cancelled before its first step: the engine had nothing to report.
            self.session.end("cancelled", "Run cancelled before it started")
            self.apply_pending()
        self.run = None
        # The full collections held off during the run come once its last frame is on
        # screen (one is usually due by then: ~0.2 s with 10,000 nodes open). Not tied
        # to this object: a window closed meanwhile must not leave them off for good.
        token, self._collections_hold = self._collections_hold, None
        QTimer.singleShot(RELEASE_AFTER_MS, lambda: HELD.release(token))
        self._frame.stop()
        self._clock.stop()
        self._enable()
        self._show_status()
        session = self.session
        if session is not None:
            self.message.emit(self._final_sentence(session))
            self.finished.emit(session)
        then, self._then = self._then, None
        if then is not None:
            QTimer.singleShot(0, then)  # after the views have settled

    def apply_pending(self) -> None:
        """Hand the engine's records to the session and repaint what they changed."""
        session = self.session
        if session is None:
            return
        records, self._pending = self._pending, []
        try:
            if records:
                session.apply(records)
            dirty = session.take_dirty()
            if dirty:
                self.overlay.update_paths(dirty)
            if dirty or records:
                self.updated.emit(dirty)
        except Exception:  # a fault in a view must not stop the run or the window
            log.exception("the live view failed to show part of the run")
        if self._following and session.finished:  # a followed run ended
            self._following = False
            self._frame.stop()
            self.label.setText(self._final_sentence(session))
            self.finished.emit(session)
        # Pace the frames so that painting stays a fraction of the loop's time: the
        # run goes on at nearly its headless speed. Applying records is left out: it
        # costs the same per record however they are batched, and counting it made
        # the frames ever bigger (a big batch, a longer wait, a bigger batch: stalls).
        views = self.editor.scene.views()
        painted = getattr(views[0], "last_paint_s", 0.0) if views else 0.0
        self._frame.setInterval(int(min(MAX_FRAME_MS, max(FRAME_MS,
                                                          painted * 1000 / UI_SHARE))))

    # --- the status bar ----------------------------------------------------------------------

    def _show_status(self) -> None:
        s = self.session
        if s is None:
            self.label.setText("")
            return
        if self.running:
            elapsed = time.monotonic() - self._started_clock
            parts = [f"Running · {s.done}/{s.total} done", f"{len(s.running)} running"]
            if s.failed:
                parts.append(f"{s.failed} failed")
            parts.append(f"{elapsed:.1f} s")
            status = "running"
        else:
            status = s.status
            parts = [f"Run {status}", f"{s.done}/{s.total} done"]
            if s.failed:
                parts.append(f"{s.failed} failed")
            parts.append(duration_text(s.duration_ms))
        self.label.setText("  " + " · ".join(parts) + "  ")
        self._label_status = status
        self._restyle_label()

    @staticmethod
    def _final_sentence(s: RunSession) -> str:
        result = s.result or {}
        if s.status == "completed":
            outputs = result.get("outputs") or {}
            names = ", ".join(list(outputs)[:5])
            return (f"Run completed in {duration_text(s.duration_ms)}"
                    + (f": outputs {names}" if names else ""))
        error = result.get("error") or {}
        where = f" at {result['failed_node']}" if result.get("failed_node") else ""
        if s.status == "cancelled":
            return "Run cancelled"
        return f"Run failed{where}: {error.get('message', 'see the Log')}"

    # --- the document changing during a run -------------------------------------------------

    def _on_doc_node_edited(self, graph: GraphKey, node_id: str, *rest: str) -> None:
        if self.session is not None:
            self.overlay.mark_edited(graph, rest[0] if rest else node_id)

    def _on_doc_wire_edited(self, graph: GraphKey, source: str, target: str) -> None:
        if self.session is not None:
            self.overlay.mark_edited(graph, target.split(".", 1)[0])

    def _on_doc_reset(self) -> None:
        """Another workflow was opened: the run (going or not) is not about it."""
        if self.running:
            self.cancel()
        self.clear() if not self.running else self.overlay.show_session(None)

    def set_iteration(self, iteration: int | None) -> None:
        """Show one iteration of the body on the canvas (None: each node's latest)."""
        if iteration != self.overlay.iteration:
            self.overlay.set_iteration(iteration)
            self.overlay_changed.emit()

    def close_clusters(self) -> None:
        """Close the Dask clusters runs used (settings.executor), on the loop if it runs."""
        if not self.clusters.connected:
            return
        try:
            asyncio.get_running_loop().create_task(self.clusters.close())
        except RuntimeError:
            asyncio.run(self.clusters.close())

    # --- settings ---------------------------------------------------------------------------

    def _on_test_run_toggled(self) -> None:
        remember_test_run(self.settings, None, self.actions["test_run"].isChecked())

    def ask_allowed_folders(self) -> None:
        dialog = AllowedFoldersDialog(self.window, self.settings)
        if dialog.exec():
            self.validation.revalidate()  # a sub-workflow may be reachable now, or not

    def ask_value_limit(self) -> None:
        current = self.max_value_bytes // 1000
        value, ok = QInputDialog.getInt(
            self.window, "Value size limit",
            "Keep values up to this size whole (kB); bigger ones are kept as previews.\n"
            f"Now: {human_size(current * 1000)}.", current, 1, 10_000_000)
        if ok:
            self.settings.setValue("run/max_value_bytes", value * 1000)
