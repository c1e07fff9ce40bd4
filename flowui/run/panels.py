"""The run's panels, fed from the run controller: the Log, the Problems (validation's
and the run's), the Timing panel and the inspector's Run tab. Each asks to reveal a
node through one signal; the main window only docks them."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from flowui.document import GraphKey
from flowui.run.controller import RunController
from flowui.run.log_view import LogView
from flowui.run.node_view import NodeRunView
from flowui.run.problems_view import ProblemsView
from flowui.run.session import RunSession
from flowui.run.timing import TimingPanel
from flowui.validation import ValidationController


class RunPanels(QObject):
    reveal_requested = Signal(object, str)  # graph key, node id: show and select it

    def __init__(self, runs: RunController, validation: ValidationController,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runs = runs
        self.log = LogView()
        self.problems = ProblemsView(runs.doc, runs.overlay)
        self.timing = TimingPanel(runs.overlay)
        self.node_view = NodeRunView(runs)
        self._errors_shown = 0
        self.log.node_activated.connect(self._on_log_node_activated)
        self.problems.node_activated.connect(self.reveal_requested)
        self.timing.node_activated.connect(self.reveal_requested)
        validation.validated.connect(self.problems.set_problems)
        self.problems.set_problems(validation.problems)
        runs.started.connect(self._on_runs_started)
        runs.updated.connect(self._on_runs_updated)
        runs.finished.connect(self._on_runs_finished)
        runs.cleared.connect(self._on_runs_cleared)

    def show_node(self, graph: GraphKey, node_id: str | None) -> None:
        self.node_view.show_node(graph, node_id)

    # --- following the run ------------------------------------------------------------------

    def _on_runs_started(self, session: RunSession) -> None:
        self.log.clear()
        self.problems.show_run(session)
        self._errors_shown = 0
        self.timing.show_run(None)

    def _on_runs_updated(self, dirty: set[str]) -> None:
        session = self.runs.session
        if session is None:
            return
        lines = session.take_log()
        if lines:
            self.log.append(lines)
        if len(session.errors) > self._errors_shown:
            self.problems.add_run_errors(session, self._errors_shown)
            self._errors_shown = len(session.errors)

    def _on_runs_finished(self, session: RunSession) -> None:
        self._on_runs_updated(set())
        self.problems.show_run(session)  # with the run-level error, if any
        self._errors_shown = len(session.errors)
        self.timing.show_run(session)

    def _on_runs_cleared(self) -> None:
        self.log.clear()
        self.problems.show_run(None)
        self.timing.show_run(None)

    def _on_log_node_activated(self, path: str) -> None:
        place = self.runs.overlay.place(path) if self.runs.session is not None else None
        if place is not None:
            self.reveal_requested.emit(place[0], place[1])
