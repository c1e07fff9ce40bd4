"""Validation while editing: each change to the document (undo and redo too) is noted as
the graph and node it touched; once changes pause, problems become badges on their nodes
in whichever graph is shown, and a count in the status bar listing them all."""

from __future__ import annotations

from collections.abc import Callable, Set

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QLabel

from engine.core.plan import validate
from engine.errors import Problem
from flowui.document import GraphKey, WorkflowDocument
from flowui.editor import Editor

VALIDATE_DELAY_MS = 300

# What changed: a node of a graph, or (node None) the graph's own properties or the
# graph as a whole (added, removed; the settings count as the workflow's).
Change = tuple[GraphKey, str | None]
# Finds the workflow's problems given what changed since it last ran (None: everything,
# a workflow was loaded), so a validator that rechecks only that can take this one's place.
Validator = Callable[[WorkflowDocument, Set[Change] | None], list[Problem]]


def validate_workflow(doc: WorkflowDocument, changed: Set[Change] | None) -> list[Problem]:
    """The engine's validation of the whole workflow, whatever changed."""
    return validate(doc.workflow, doc.registry, base_dir=doc.base_dir)


class ValidationController(QObject):
    def __init__(self, editor: Editor, validator: Validator = validate_workflow,
                 delay_ms: int = VALIDATE_DELAY_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc, self.scene = editor.doc, editor.scene
        self.validator = validator
        self.label = QLabel()  # the status bar's count
        self.problems: list[Problem] = []
        self._badges: dict[GraphKey, dict[str, list[str]]] = {}
        self._changed: set[Change] | None = None
        self._timer = QTimer(self, singleShot=True, interval=delay_ms)
        self._timer.timeout.connect(self.validate_now)
        doc = self.doc
        for signal in (doc.node_added, doc.node_removed, doc.node_changed):
            signal.connect(self.note_change)
        doc.node_renamed.connect(self._on_doc_node_renamed)
        doc.connection_added.connect(self._on_doc_connection_changed)
        doc.connection_removed.connect(self._on_doc_connection_changed)
        doc.graph_changed.connect(self.note_change)
        doc.subgraph_added.connect(self.note_change)
        doc.subgraph_removed.connect(self.note_change)
        doc.settings_changed.connect(lambda: self.note_change(None))
        doc.reset.connect(self._on_doc_reset)
        editor.graph_shown.connect(self._on_editor_graph_shown)

    # --- changes ----------------------------------------------------------------------------

    def note_change(self, graph: GraphKey, node_id: str | None = None) -> None:
        """Something changed there: validate once changes pause."""
        if self._changed is not None:
            self._changed.add((graph, node_id))
        self._timer.start()

    def _on_doc_node_renamed(self, graph: GraphKey, old: str, new: str) -> None:
        self.note_change(graph, old)
        self.note_change(graph, new)

    def _on_doc_connection_changed(self, graph: GraphKey, source: str, target: str) -> None:
        self.note_change(graph, source.split(".", 1)[0])
        self.note_change(graph, target.split(".", 1)[0])

    def _on_doc_reset(self) -> None:
        self._changed = None  # everything
        self._badges = {}  # about the workflow that was replaced
        self._timer.start()

    # --- results ------------------------------------------------------------------------------

    def validate_now(self) -> list[Problem]:
        self._timer.stop()
        changed, self._changed = self._changed, set()
        problems = self.problems = self.validator(self.doc, changed)
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
        self.label.setStyleSheet("color: #f85149;" if n else "color: #3fb950;")
        self.label.setToolTip("\n".join(str(p) for p in problems))
        return problems

    def _on_editor_graph_shown(self, graph: GraphKey) -> None:
        self._show_badges()  # the last results: nothing changed but the canvas

    def _show_badges(self) -> None:
        self.scene.set_problems(self._badges.get(self.scene.graph_key, {}))
