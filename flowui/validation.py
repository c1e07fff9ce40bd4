"""Validation while editing: each document change (undo, redo too) goes to the engine's
LiveValidation, which re-checks only what it touched; once changes pause, problems
become badges on their nodes in the graph shown and a count in the status bar."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel

from engine.core.live_validation import LiveValidation
from engine.errors import Problem
from flowui import theme
from flowui.document import GraphKey, WorkflowDocument
from flowui.editor import Editor

VALIDATE_DELAY_MS = 300


class ValidationController(QObject):
    validated = Signal(list)  # the problems found (after every validation)

    def __init__(self, editor: Editor, delay_ms: int = VALIDATE_DELAY_MS,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc: WorkflowDocument = editor.doc
        self.scene = editor.scene
        doc = self.doc
        self.live = LiveValidation(doc.workflow, doc.registry, base_dir=doc.base_dir)
        self.label = QLabel()  # the status bar's count
        self._tone = "completed"  # the count's colour: a run state's (failed, completed)
        self._restyle_label = theme.follow(
            self.label, lambda: f"color: {theme.status_color(self._tone).name()};")
        self.problems: list[Problem] = []
        self._badges: dict[GraphKey, dict[str, list[str]]] = {}
        self._timer = QTimer(self, singleShot=True, interval=delay_ms)
        self._timer.timeout.connect(self.validate_now)
        live = self.live
        for signal, tell in (
                (doc.node_added, live.node_changed), (doc.node_changed, live.node_changed),
                (doc.node_removed, live.node_removed), (doc.node_renamed, live.node_renamed),
                (doc.connection_added, self._wires_changed),
                (doc.connection_removed, self._wires_changed),
                (doc.graph_changed, live.graph_changed),
                (doc.subgraph_added, self._subgraphs_changed),
                (doc.subgraph_removed, self._subgraphs_changed)):
            signal.connect(tell)
            signal.connect(self._schedule)
        doc.reset.connect(self._on_doc_reset)
        editor.graph_shown.connect(self._on_editor_graph_shown)

    # --- changes ----------------------------------------------------------------------------

    def _schedule(self, *_: object) -> None:
        """Something changed: validate once changes pause."""
        self._timer.start()

    def _wires_changed(self, graph: GraphKey, source: str, target: str) -> None:
        self.live.wires_changed(graph)

    def _subgraphs_changed(self, name: str) -> None:
        self.live.subgraphs_changed()

    def _on_doc_reset(self) -> None:
        self.live.reset(self.doc.workflow, base_dir=self.doc.base_dir)
        self._badges = {}  # about the workflow that was replaced
        self._timer.start()

    def revalidate(self) -> list[Problem]:
        """Check everything again now (files a sub-workflow names may have changed)."""
        self.live.everything_changed()
        return self.validate_now()

    # --- results ------------------------------------------------------------------------------

    def validate_now(self) -> list[Problem]:
        self._timer.stop()
        if self.live.base_dir != self.doc.base_dir:  # saved elsewhere: paths resolve anew
            self.live.reset(self.doc.workflow, base_dir=self.doc.base_dir)
        problems = self.problems = self.live.problems()
        self._badges = {}
        for p in problems:
            place = self.doc.locate(p)
            if place is not None:
                graph, node_id = place
                self._badges.setdefault(graph, {}).setdefault(node_id, []).append(
                    f"{p.field}: {p.message}" if p.field else p.message)
        self._show_badges()
        n = len(problems)
        self.label.setText(f"  {n} problem{'s' if n != 1 else ''}  " if n else "  ✓ valid  ")
        self._tone = "failed" if n else "completed"
        self._restyle_label()
        self.label.setToolTip("\n".join(str(p) for p in problems))
        self.validated.emit(problems)
        return problems

    def _on_editor_graph_shown(self, graph: GraphKey) -> None:
        self._show_badges()  # the last results: nothing changed but the canvas

    def _show_badges(self) -> None:
        self.scene.set_problems(self._badges.get(self.scene.graph_key, {}))
