"""The toolbar's iteration selector: which iteration of a loop body the canvas shows
while a body graph is on it (default: each node's latest)."""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QComboBox, QWidget

from flowui.editor import Editor
from flowui.run.controller import RunController

LATEST = "Latest iteration"


class IterationSelector(QComboBox):
    def __init__(self, editor: Editor, runs: RunController,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor, self.runs = editor, runs
        self.setMinimumContentsLength(16)
        self.setToolTip("Which iteration of this loop body the canvas and the Run tab show")
        self._iterations: list[int] = []
        self.action: QAction | None = None  # its toolbar's, which shows and hides it
        self.currentIndexChanged.connect(self._on_current_index_changed)
        editor.graph_shown.connect(lambda _g: self.refill())
        runs.started.connect(lambda _s: self.refill())
        runs.updated.connect(lambda _d: self.refill())
        runs.finished.connect(lambda _s: self.refill())
        runs.cleared.connect(self.refill)
        self.refill()

    def refill(self) -> None:
        """The iterations the run kept for the body shown; hidden outside bodies."""
        session, graph = self.runs.session, self.editor.current_graph
        prefix = self.runs.overlay.prefix(graph) if graph is not None else None
        found = session.iterations_under(prefix) if session and prefix else []
        if self.action is not None:
            self.action.setVisible(bool(found))
        if found == self._iterations:
            return
        chosen = self.runs.overlay.iteration
        self._iterations = found
        self.blockSignals(True)
        self.clear()
        self.addItem(LATEST, None)
        for i in found:
            self.addItem(f"Iteration {i}", i)
        at = self.findData(chosen) if chosen in found else 0
        self.setCurrentIndex(max(at, 0))
        self.blockSignals(False)
        if chosen is not None and chosen not in found:
            self.runs.set_iteration(None)

    def choose(self, iteration: int | None) -> None:
        at = self.findData(iteration) if iteration is not None else 0
        if at >= 0:
            self.setCurrentIndex(at)

    def _on_current_index_changed(self, index: int) -> None:
        self.runs.set_iteration(self.itemData(index))
