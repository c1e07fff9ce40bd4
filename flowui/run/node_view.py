"""The inspector's Run tab: what the selected node did in the run shown (state, duration,
attempts, its full outputs and the inputs it ran with as JSON trees, its log lines,
and on failure the error with its traceback); with no node selected, the run itself."""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QTabWidget, QVBoxLayout, QWidget

from flowui import theme
from flowui.document import GraphKey
from flowui.run.controller import RunController
from flowui.run.keep import Kept, human_size
from flowui.run.log_view import time_text
from flowui.run.overlay import SKIP_REASONS, duration_text
from flowui.run.session import NodeState, RunSession
from flowui.run.value_tree import ValueTree

REFRESH_MS = 250  # while a run goes, the shown node's values are re-read at most this often


def _chip(status: str) -> str:
    look = theme.current()
    color = look.status_color(status).name()
    return (f"<span style='background:{color}; color:{look.node_body.name()}; font-weight:600'>"
            f"&nbsp;{html.escape(status)}&nbsp;</span>")


class NodeRunView(QWidget):
    def __init__(self, runs: RunController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs = runs
        self.graph: GraphKey = None
        self.node_id: str | None = None
        self.header = QLabel()
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setWordWrap(True)
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Development mode's lines about the node (pinned, stale and why): set by
        # flowui.run.dev_mode through `note_source`.
        self.note = QLabel()
        self.note.setTextFormat(Qt.TextFormat.RichText)
        self.note.setWordWrap(True)
        self.note_source: Callable[[GraphKey, str | None], str] | None = None
        self.error = QLabel()
        self.error.setObjectName("error")
        theme.tone(self.error, "error")
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.traceback = QPlainTextEdit()
        self.traceback.setReadOnly(True)
        self.traceback.setMaximumHeight(170)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        mono.setPointSizeF(8.5)
        self.traceback.setFont(mono)
        self.traceback.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.outputs = ValueTree()
        self.outputs.set_placeholder("No outputs")
        self.inputs = ValueTree()
        self.inputs.set_placeholder("No inputs")
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setFont(mono)
        self.log.setPlaceholderText("No log lines")
        self.tabs = QTabWidget()
        self.tabs.addTab(self.outputs, "Outputs")
        self.tabs.addTab(self.inputs, "Inputs")
        self.tabs.addTab(self.log, "Log")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.addWidget(self.header)
        layout.addWidget(self.note)
        layout.addWidget(self.error)
        layout.addWidget(self.traceback)
        layout.addWidget(self.tabs, 1)
        self._due = False
        self._last_refresh = 0.0
        self._shown: tuple[Any, ...] = ()  # what the trees hold, to skip rebuilding them
        self._later = QTimer(self, singleShot=True, interval=REFRESH_MS)
        self._later.timeout.connect(self.refresh)
        runs.started.connect(lambda _s: self.refresh())
        runs.updated.connect(self._on_runs_updated)
        runs.finished.connect(lambda _s: self.refresh())
        runs.cleared.connect(self.refresh)
        runs.overlay_changed.connect(self.refresh)
        self.refresh()

    # --- what to show --------------------------------------------------------------------

    def show_node(self, graph: GraphKey, node_id: str | None) -> None:
        self.graph, self.node_id = graph, node_id
        self.refresh()

    @property
    def path(self) -> str | None:
        if self.node_id is None:
            return None
        return self.runs.overlay.path_of(self.graph, self.node_id)

    def _on_runs_updated(self, dirty: set[str]) -> None:
        path = self.path
        if path is None or path not in dirty or not self.isVisible():
            return
        # Values are re-read at most every REFRESH_MS: a chatty node cannot keep the
        # window busy rebuilding its trees.
        wait = REFRESH_MS / 1000 - (time.monotonic() - self._last_refresh)
        if wait <= 0:
            self.refresh()
        elif not self._later.isActive():
            self._later.start(int(wait * 1000) + 1)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self.refresh()

    # --- filling ---------------------------------------------------------------------------

    def refresh(self) -> None:
        self._last_refresh = time.monotonic()
        note = self.note_source(self.graph, self.node_id) if self.note_source else ""
        self.note.setText(f"<span style='color:{theme.EDITED}'>{note}</span>" if note else "")
        self.note.setVisible(bool(note))
        session = self.runs.session
        if session is None:
            self._show_nothing("No run yet. Press F5 (Run ▸ Run) to run the workflow and "
                               "watch it live; then select a node to read what it produced.")
            return
        if self.node_id is None:
            self._show_run(session)
            return
        state = self.runs.overlay.state_of(self.graph, self.node_id)
        if state is None:
            edited = (self.graph, self.node_id) in self.runs.overlay.edited
            self._show_nothing(
                f"<b>{html.escape(self.node_id)}</b> has not run"
                + (" (it was added or renamed after the run started)." if edited
                   else " in this run yet."))
            return
        self._show_state(session, state)

    def _show_nothing(self, text: str) -> None:
        self.header.setText(text)
        self.error.hide()
        self.traceback.hide()
        self.tabs.hide()
        self._shown = ()

    def _show_run(self, session: RunSession) -> None:
        result = session.result or {}
        parts = [f"<b>Run</b> {html.escape(session.run_id)}", _chip(session.status)]
        if session.duration_ms is not None:
            parts.append(duration_text(session.duration_ms))
        parts.append(f"{session.done}/{session.total} nodes done")
        dim = theme.TEXT_DIM.name()
        self.header.setText(" &nbsp;".join(parts) + f"<br><span style='color:{dim}'>Select "
                                                      "a node to read its values.</span>")
        self._show_error(result.get("error"), failed_node=result.get("failed_node"))
        self.tabs.show()
        key = ("run", id(session), session.status)
        if key != self._shown:
            self._shown = key
            self.outputs.set_value(result.get("outputs", {}),
                                   note="The run's outputs" if result else "")
            self.inputs.clear()
            self._fill_log([f"{time_text(line.ts)} {line.level:<7} "
                            f"{line.node or ''} {line.message}" for line in session.log][-2000:])
        self.tabs.setTabText(0, "Run outputs")

    def _show_state(self, session: RunSession, s: NodeState) -> None:
        tries = session.max_attempts(s.path)
        parts = [f"<b>{html.escape(s.path)}</b>", _chip(s.status)]
        if s.duration_ms is not None:
            parts.append(duration_text(s.duration_ms))
        if s.attempt > 1 or tries > 1:
            parts.append(f"attempt {s.attempt} of {tries}")
        if s.iteration is not None:
            parts.append(f"iteration {s.iteration}")
        detail = []
        if s.node_type:
            detail.append(html.escape(s.node_type))
        if s.skip_reason:
            detail.append("reason: " + SKIP_REASONS.get(s.skip_reason, s.skip_reason))
        if s.status == "retrying" and s.retry_delay_s is not None:
            detail.append(f"next attempt in {s.retry_delay_s:g} s")
        if s.progress_message:
            detail.append(html.escape(s.progress_message))
        if s.iterations_seen:
            detail.append(f"{s.iterations_seen} iterations, {s.body_failures} failed inside")
        dim = theme.TEXT_DIM.name()
        self.header.setText(" &nbsp;".join(parts) + (
            f"<br><span style='color:{dim}'>" + " · ".join(detail) + "</span>" if detail
            else ""))
        self._show_error(s.error, routed=s.routed)
        self.tabs.show()
        self.tabs.setTabText(0, "Outputs")
        key = ("node", id(s), s.outputs, s.inputs, len(s.logs))
        if key == self._shown:
            return
        self._shown = key
        _show_kept(self.outputs, s.outputs, {
            "failed": "No outputs: it failed (its error is above)",
            "completed": "No outputs", "cached": "No outputs"}.get(s.status, "No outputs yet"))
        _show_kept(self.inputs, s.inputs, "Its inputs show once it has run")
        self._fill_log([f"{time_text(line.ts)} {line.level:<7} {line.message}"
                        for line in s.logs])

    def _show_error(self, error: dict[str, Any] | None, *, routed: bool = False,
                    failed_node: str | None = None) -> None:
        if not error:
            self.error.hide()
            self.traceback.hide()
            return
        where = f" at {failed_node}" if failed_node else ""
        tail = " (sent to the error port)" if routed else ""
        self.error.setText(f"{error.get('type', 'error')}{where}: "
                           f"{str(error.get('message', ''))[:2000]}{tail}")
        self.error.show()
        trace = error.get("traceback")
        if trace:
            self.traceback.setPlainText(str(trace)[-20_000:])
            self.traceback.show()
        else:
            self.traceback.hide()

    def _fill_log(self, lines: list[str]) -> None:
        self.log.setPlainText("\n".join(line[:5000] for line in lines))


def _show_kept(tree: ValueTree, kept: Kept | None, empty: str) -> None:
    if kept is None or kept.value == {}:
        tree.set_placeholder(empty)
        tree.clear()
        return
    note = kept.note
    if kept.cut and not note:
        note = "A preview from the run's events (values cut); the full values were not kept"
    if kept.size is not None and kept.size > 100_000:
        note = note or f"{human_size(kept.size)}"
    tree.set_value(kept.value, note=note)
