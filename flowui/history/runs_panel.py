"""The Runs panel: the runs of the open workflow kept in the run store, newest first,
live as runs finish (started here, by `flowcli` or by serve mode on the same store);
open one on the canvas, rerun it with the same inputs, compare two, export, delete.

The panel polls the store's change token once a second (two tiny queries) and reads
the list again only when another process (or this one) committed something."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.store.records import RunSummary
from flowui import resources, theme
from flowui.run.overlay import duration_text

COLUMNS = ("Status", "Started", "Duration", "From", "Run")
LISTED = 200  # runs shown (the newest); `flowcli runs list` reaches the rest
Index = QModelIndex | QPersistentModelIndex


def when(started: float, now: float | None = None) -> str:
    """`14:03:12` today, `Tue 14:03` this week, else the date."""
    at = datetime.fromtimestamp(started)
    today = datetime.fromtimestamp(now or time.time())
    if at.date() == today.date():
        return at.strftime("%H:%M:%S")
    if (today.date() - at.date()).days < 7:
        return at.strftime("%a %H:%M")
    return at.strftime("%Y-%m-%d %H:%M")


class RunsModel(QAbstractTableModel):
    def __init__(self) -> None:
        super().__init__()
        self.runs: list[RunSummary] = []

    def set_runs(self, runs: list[RunSummary]) -> None:
        if [r.id for r in runs] == [r.id for r in self.runs] and \
                [r.status for r in runs] == [r.status for r in self.runs]:
            return  # nothing changed that the table shows (no reset: keeps the selection)
        self.beginResetModel()
        self.runs = list(runs)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.runs)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        run = self.runs[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            status = run.status + (" · dead letter" if run.dead_letter else "")
            return (status, when(run.started_at), duration_text(run.duration_ms),
                    run.source, run.id)[column]
        if role == Qt.ItemDataRole.ForegroundRole and column == 0:
            return theme.status_color(run.status) if run.status != "interrupted" \
                else QColor(theme.STATUS_COLORS["cancelled"])
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [f"<b>{run.id}</b> · {run.workflow or 'untitled'}"]
            lines += [f"{step}: {datetime.fromtimestamp(t):%Y-%m-%d %H:%M:%S}"
                      for step, t in run.times.items()]
            if run.error:
                message = str(run.error.get("message", ""))[:300].replace("<", "&lt;")
                red = theme.PROBLEM.name()
                lines.append(f"<span style='color:{red}'>{run.failed_node or 'run'}: "
                             f"{message}</span>")
            return "<br>".join(lines)
        return None


class RunsPanel(QWidget):
    open_requested = Signal(str)  # a run id
    rerun_requested = Signal(str)
    compare_requested = Signal(str, str)  # older, newer
    export_requested = Signal(str)
    delete_requested = Signal(list)  # run ids

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = RunsModel()
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.doubleClicked.connect(lambda index: self._emit_for_row(index.row()))
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._on_context_menu)
        self.table.selectionModel().selectionChanged.connect(self._enable)
        self.every = QCheckBox("All workflows")
        self.every.setToolTip("Show the runs of every workflow in the store")
        self.note = QLabel()
        theme.tone(self.note, "help")
        self.buttons: dict[str, QToolButton] = {}
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 4, 6, 0)
        for name, icon, tip in (("open", "open", "Show the run on the canvas (double-click)"),
                                ("rerun", "run", "Run again with the same inputs"),
                                ("compare", "compare", "Compare the two runs selected"),
                                ("export", "export", "Export the run's files to a folder"),
                                ("delete", "delete", "Delete the runs selected")):
            button = QToolButton()
            button.setIcon(resources.icon(icon))
            button.setToolTip(tip)
            button.clicked.connect(lambda _checked=False, n=name: self.act(n))
            self.buttons[name] = button
            bar.addWidget(button)
        bar.addStretch(1)
        bar.addWidget(self.note)
        bar.addWidget(self.every)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        self._enable()

    # --- what is listed --------------------------------------------------------------------

    def show_runs(self, runs: list[RunSummary], note: str = "") -> None:
        chosen = self.selected_ids()
        self.model.set_runs(runs)
        self.note.setText(note)
        if chosen:
            self._select(chosen)
        self._enable()

    def selected_ids(self) -> list[str]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.model.runs[r].id for r in rows if r < len(self.model.runs)]

    def _select(self, ids: list[str]) -> None:
        selection = self.table.selectionModel()
        selection.clearSelection()
        for row, run in enumerate(self.model.runs):
            if run.id in ids:
                selection.select(self.model.index(row, 0),
                                 selection.SelectionFlag.Select | selection.SelectionFlag.Rows)

    # --- acting on runs --------------------------------------------------------------------

    def act(self, name: str) -> None:
        ids = self.selected_ids()
        if name == "compare" and len(ids) == 2:
            newer, older = ids  # listed newest first
            self.compare_requested.emit(older, newer)
        elif name == "delete" and ids:
            self.delete_requested.emit(ids)
        elif len(ids) == 1:
            {"open": self.open_requested, "rerun": self.rerun_requested,
             "export": self.export_requested}[name].emit(ids[0])

    def _emit_for_row(self, row: int) -> None:
        if 0 <= row < len(self.model.runs):
            self.open_requested.emit(self.model.runs[row].id)

    def _enable(self, *_: object) -> None:
        n = len(self.selected_ids())
        for name, button in self.buttons.items():
            button.setEnabled(n == 2 if name == "compare" else n >= 1 if name == "delete"
                              else n == 1)

    def _on_context_menu(self, at: Any) -> None:
        menu = QMenu(self)
        for name, text in (("open", "Show on Canvas"), ("rerun", "Rerun with Same Inputs"),
                           ("compare", "Compare the Two Selected"), ("export", "Export…"),
                           ("delete", "Delete")):
            action = menu.addAction(resources.icon(_ICONS[name]), text)
            action.setEnabled(self.buttons[name].isEnabled())
            action.triggered.connect(lambda _checked=False, n=name: self.act(n))
        menu.exec(self.table.viewport().mapToGlobal(at))


_ICONS = {"open": "open", "rerun": "run", "compare": "compare", "export": "export",
          "delete": "delete"}
