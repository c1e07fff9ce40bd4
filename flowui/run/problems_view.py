"""The Problems dock: the workflow's validation problems and the errors of the run
shown, one row each (where, field, message); activating a row takes the canvas to the
node."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.errors import Problem
from flowui import theme
from flowui.document import GraphKey, WorkflowDocument
from flowui.run.overlay import RunOverlay
from flowui.run.session import RunSession

PLACE_ROLE = Qt.ItemDataRole.UserRole + 1
MAX_RUN_ERRORS = 1000  # rows; a loop failing in every iteration must not flood the list


class ProblemsView(QWidget):
    node_activated = Signal(object, str)  # graph key, node id

    def __init__(self, doc: WorkflowDocument, overlay: RunOverlay,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc, self.overlay = doc, overlay
        self.tree = QTreeWidget()
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["Where", "Field", "Message"])
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.validation = QTreeWidgetItem(self.tree, ["Validation"])
        self.run = QTreeWidgetItem(self.tree, ["Run"])
        for section in (self.validation, self.run):
            section.setFirstColumnSpanned(True)
            font = section.font(0)
            font.setBold(True)
            section.setFont(0, font)
            section.setExpanded(True)
        self.summary = QLabel()
        self.summary.setObjectName("help")
        theme.tone(self.summary, "help")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree)
        layout.addWidget(self.summary)
        self.tree.itemActivated.connect(self._on_tree_item_activated)
        self.tree.itemClicked.connect(self._on_tree_item_activated)
        self._run_rows = 0
        self._update_titles()

    # --- filling ----------------------------------------------------------------------------

    def set_problems(self, problems: list[Problem]) -> None:
        self.validation.takeChildren()
        for p in problems:
            place = self.doc.locate(p)
            where = _where(place) if place else (p.node_id or "workflow")
            self._row(self.validation, where, p.field or "", p.message, place, error=True)
        self._update_titles()

    def show_run(self, session: RunSession | None) -> None:
        """Rows for the run's errors (all again: a new run, or the run cleared)."""
        self.run.takeChildren()
        self._run_rows = 0
        if session is not None:
            self.add_run_errors(session, 0)
        self._update_titles()

    def add_run_errors(self, session: RunSession, start: int) -> None:
        for state in session.errors[start:]:
            if self._run_rows >= MAX_RUN_ERRORS:
                break
            self._run_rows += 1
            place = self.overlay.place(state.path)
            error = state.error or {}
            where = state.path + (f" #{state.iteration}" if state.iteration is not None else "")
            self._row(self.run, where, error.get("type", "error"),
                      str(error.get("message", ""))[:1000]
                      + (" (sent to the error port)" if state.routed else ""),
                      place, error=not state.routed)
        result = session.result or {}
        failure = result.get("error")
        if start == 0 and failure and failure.get("type") in ("validation", "timeout"):
            self._row(self.run, "workflow", failure["type"], str(failure.get("message", "")),
                      None, error=True)
        self._update_titles()

    def _row(self, parent: QTreeWidgetItem, where: str, field: str, message: str,
             place: tuple[GraphKey, str] | None, *, error: bool) -> None:
        item = QTreeWidgetItem(parent, [where, field, message.splitlines()[0] if message
                                        else ""])
        item.setToolTip(2, message[:4000])
        item.setData(0, PLACE_ROLE, place)
        if error:
            item.setForeground(2, QBrush(theme.PROBLEM))

    def _update_titles(self) -> None:
        v, r = self.validation.childCount(), self.run.childCount()
        self.validation.setText(0, f"Validation ({v})")
        self.run.setText(0, f"Run ({r})")
        self.summary.setText(f"  {v} validation problem{'s' if v != 1 else ''}, "
                             f"{r} run error{'s' if r != 1 else ''}")

    def _on_tree_item_activated(self, item: QTreeWidgetItem, column: int) -> None:
        place = item.data(0, PLACE_ROLE)
        if place:
            self.node_activated.emit(place[0], place[1])


def _where(place: tuple[GraphKey, str]) -> str:
    graph, node_id = place
    return node_id if graph is None else f"{graph} ▸ {node_id}"
