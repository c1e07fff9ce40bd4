"""The Log dock: every node log line and run message of the current run in a table fed in
batches while it runs, bounded in size, with level, node and text filters; clicking a
line's node asks the editor to select it."""

from __future__ import annotations

import bisect
import html
import time
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QCompleter,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QStyle,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from flowui import theme
from flowui.run.records import LEVELS, LogLine

TIME, LEVEL, NODE, MESSAGE = range(4)
HEADERS = ("Time", "Level", "Node", "Message")
MAX_STORED = 20_000  # characters of a message kept: a megabyte line must cost no more
MAX_CELL = 500  # characters of its first line shown in the cell
LEVEL_RANK = {level: rank for rank, level in enumerate(LEVELS)}


def level_color(level: str) -> QColor:
    return QColor(theme.current().log_levels.get(level, theme.current().log_levels["info"]))


def column_color(column: int) -> QColor | None:
    """The time dim; the node in the link colour: clicking it selects the node."""
    look = theme.current()
    return look.text_dim if column == 0 else (
        QColor(look.log_levels["node"]) if column == 2 else None)
ALL_NODES = "All nodes"
LEVEL_CHOICES = (("All levels", 0), ("Info and above", 1), ("Warnings and errors", 2),
                 ("Errors only", 3))
# A line (message cut), its level's rank, its message's length and its node text in lower case.
Row = tuple[LogLine, int, int, str]
Index = QModelIndex | QPersistentModelIndex
DISPLAY, FOREGROUND, TOOLTIP = (int(role) for role in (
    Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.ToolTipRole))


def node_text(line: LogLine) -> str:
    if line.node is None:
        return ""
    return line.node if line.iteration is None else f"{line.node} #{line.iteration}"


def time_text(ts: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts)) + f".{int(ts * 1000) % 1000:03d}"


def first_line(message: str) -> str:
    end = message.find("\n", 0, MAX_CELL)
    return (message[:end] if end >= 0 else message[:MAX_CELL]).rstrip("\r")


def tooltip(message: str, length: int) -> str:
    # Rich text, escaped: a message that looks like HTML shows as written, and long lines wrap.
    note = (f"<p><i>… cut at {len(message):,} of {length:,} characters</i></p>"
            if length > len(message) else "")
    return f"<p style='white-space:pre-wrap'>{html.escape(message)}</p>{note}"


class LogModel(QAbstractTableModel):
    """The lines of the run, oldest first, at most `max_lines` (the oldest give way)."""

    def __init__(self, max_lines: int = 50_000, parent: Any = None) -> None:
        super().__init__(parent)
        self.max_lines = max_lines
        self.rows: list[Row] = []
        self.dropped = 0  # lines dropped off the top since the last clear
        self.nodes: set[str] = set()  # every node path seen since the last clear

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 4

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = DISPLAY) -> Any:
        return HEADERS[section] if orientation == Qt.Orientation.Horizontal and \
            role == DISPLAY else None

    def index(self, row: int, column: int,
              parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        # One call from Qt instead of the base's two (rowCount and columnCount): the proxy
        # asks for a source index for every value the view paints.
        if 0 <= row < len(self.rows) and 0 <= column < 4 and not parent.isValid():
            return self.createIndex(row, column)
        return QModelIndex()

    def data(self, index: Index, role: int = DISPLAY) -> Any:
        # Plain ints, the common roles first: the view asks for seven roles of every cell.
        if role == DISPLAY:
            column, line = index.column(), self.rows[index.row()][0]
            if column == MESSAGE:
                return first_line(line.message)
            return time_text(line.ts) if column == TIME else (
                line.level if column == LEVEL else node_text(line))
        if role == FOREGROUND:
            column = index.column()
            if column == LEVEL:
                return level_color(self.rows[index.row()][0].level)
            return column_color(column)
        if role == TOOLTIP and index.column() == MESSAGE:
            line, _rank, length, _where = self.rows[index.row()]
            return tooltip(line.message, length)
        return None

    def copy_text(self, row: int) -> str:
        """A line as copied: time, level, node and the message whole (as stored), by tabs."""
        line = self.rows[row][0]
        return "\t".join((time_text(line.ts), line.level, node_text(line), line.message))

    def append(self, lines: Sequence[LogLine]) -> list[str]:
        """Add a batch at the end, dropping the oldest lines past the bound; returns the node
        paths seen for the first time."""
        if not lines:
            return []
        if len(lines) > self.max_lines:
            self.dropped += len(lines) - self.max_lines
            lines = list(lines)[-self.max_lines:]
        new: list[Row] = []
        fresh: list[str] = []
        for line in lines:
            length = len(line.message)
            if length > MAX_STORED:
                line = line._replace(message=line.message[:MAX_STORED])
            if line.node is not None and line.node not in self.nodes:
                self.nodes.add(line.node)
                fresh.append(line.node)
            new.append((line, LEVEL_RANK.get(line.level, 1), length, node_text(line).lower()))
        overflow = len(self.rows) + len(new) - self.max_lines
        if overflow > 0:
            self.beginRemoveRows(QModelIndex(), 0, overflow - 1)
            del self.rows[:overflow]
            self.dropped += overflow
            self.endRemoveRows()
        start = len(self.rows)
        self.beginInsertRows(QModelIndex(), start, start + len(new) - 1)
        self.rows.extend(new)
        self.endInsertRows()
        return fresh

    def clear(self) -> None:
        self.beginResetModel()
        self.rows, self.dropped, self.nodes = [], 0, set()
        self.endResetModel()


class LogFilter(QSortFilterProxyModel):
    """The lines at or above a level, of a node (or in its body), containing a text."""

    def __init__(self, source: LogModel, parent: Any = None) -> None:
        super().__init__(parent)
        self.source = source
        self.min_rank = 0
        self.node = ""  # a known path: it and its body's nodes; else part of a path, any case
        self.text = ""  # lower case
        self.setSourceModel(source)

    def set_filter(self, min_rank: int, node: str, text: str) -> None:
        node, text = node.strip(), text.lower()
        if (min_rank, node, text) != (self.min_rank, self.node, self.text):
            self.min_rank, self.node, self.text = min_rank, node, text
            self.refilter()

    def refilter(self) -> None:
        # A reset, not begin/endFilterChange: that reports each run of rows shown or hidden
        # apart, and the view lays out again for each (seconds with 50,000 mixed rows).
        self.beginResetModel()
        self.endResetModel()

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        line, rank, _length, where = self.source.rows[source_row]
        if rank < self.min_rank:
            return False
        node = self.node
        if node:
            path = line.node
            if path is None:
                return False
            if node in self.source.nodes:
                if path != node and not path.startswith(node + "/"):
                    return False
            elif node.lower() not in path.lower():
                return False
        text = self.text
        return not text or text in where or text in line.message.lower()


class LogView(QWidget):
    node_activated = Signal(str)  # the node path of a line clicked or activated

    def __init__(self, max_lines: int = 50_000, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = LogModel(max_lines, self)
        self.proxy = LogFilter(self.model, self)
        self.level_box = QComboBox()
        for label, rank in LEVEL_CHOICES:
            self.level_box.addItem(label, rank)
        self.node_box = box = QComboBox()
        box.setEditable(True)
        box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        box.addItem(ALL_NODES)
        box.setMinimumWidth(180)
        completer = QCompleter(box.model(), box)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        box.setCompleter(completer)
        self.text_edit = QLineEdit()
        self.text_edit.setPlaceholderText("Filter messages")
        self.text_edit.setClearButtonEnabled(True)
        self.dropped_label, self.count_label = QLabel(), QLabel()
        for note in (self.dropped_label, self.count_label):
            note.setObjectName("help")
            theme.tone(note, "help")
        theme.follow(self.dropped_label, lambda: f"color: {level_color('warning').name()};")
        self.dropped_label.setToolTip(f"The log keeps the last {max_lines:,} lines of a run")
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 6, 10, 6)
        bar.setSpacing(6)
        for widget, stretch in ((self.level_box, 0), (box, 0), (self.text_edit, 1),
                                (self.dropped_label, 0), (self.count_label, 0)):
            bar.addWidget(widget, stretch)
        self.table = table = QTableView()
        table.setModel(self.proxy)
        table.setWordWrap(False)
        table.setShowGrid(False)
        table.setAlternatingRowColors(True)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        table.setStyleSheet("QTableView::item { padding: 0 3px; }")  # under the headers' text
        table.ensurePolished()  # the style sheet's font, for the sizes below
        rows = table.verticalHeader()
        rows.hide()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # never measures 50,000 rows
        rows.setDefaultSectionSize(table.fontMetrics().height() + 6)
        header = table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setHighlightSections(False)
        header.setStretchLastSection(True)
        for column, sample in ((TIME, "00:00:00.000"), (LEVEL, "warning"), (NODE, "x" * 16)):
            table.setColumnWidth(column, table.fontMetrics().horizontalAdvance(sample) + 24)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(table, 1)
        self.context_menu: QMenu | None = None  # the one open (a popup, never exec())
        self.copy_action = QAction("Copy", self)
        self.copy_action.setShortcut(QKeySequence.StandardKey.Copy)
        self.copy_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.copy_action.triggered.connect(self.copy_selection)
        table.addAction(self.copy_action)
        self.clear_action = QAction("Clear", self)
        self.clear_action.triggered.connect(self.clear)
        self.level_box.currentIndexChanged.connect(self._on_filter_changed)
        box.currentTextChanged.connect(self._on_filter_changed)
        self.text_edit.textChanged.connect(self._on_filter_changed)
        table.clicked.connect(lambda index: self._on_table_activated(index, click=True))
        table.activated.connect(self._on_table_activated)
        table.customContextMenuRequested.connect(self._on_table_context_menu)
        self._click_activates = False
        self._update_labels()

    # --- feeding ----------------------------------------------------------------------------

    def append(self, lines: Sequence[LogLine]) -> None:
        """Add a batch of lines; the view follows them while it is scrolled to the bottom."""
        if not lines:
            return
        reading, dropped = self._reading(), self.model.dropped
        fresh = self.model.append(lines)
        if fresh:
            self._add_nodes(fresh)
        if reading is None or self.model.dropped > dropped:
            self._restore(reading)
        self._update_labels()

    def clear(self) -> None:
        """Empty the log (a new run, or the run cleared); the filters stay as they are."""
        self.model.clear()
        self._list_nodes()
        self._update_labels()

    def _list_nodes(self) -> None:
        box, text = self.node_box, self.node_box.currentText()
        box.blockSignals(True)  # the filter stays as typed
        box.clear()
        box.addItems([ALL_NODES, *sorted(self.model.nodes)])
        box.setEditText(text)
        box.blockSignals(False)

    def _add_nodes(self, paths: list[str]) -> None:
        self._list_nodes()
        widest = max(self.table.fontMetrics().horizontalAdvance(p) for p in paths) + 48
        if widest > self.table.columnWidth(NODE):
            self.table.setColumnWidth(NODE, min(widest, 320))
        if self.proxy.node in paths:  # the path typed is now known: it filters exactly
            self._refilter(self.proxy.refilter)

    # --- keeping the reader's place ---------------------------------------------------------

    def _reading(self) -> tuple[int, int] | None:
        """The line at the top (numbered from the run's first: dropping lines keeps it) and
        how far it is scrolled out of sight; None at the bottom, following new lines."""
        bar, top = self.table.verticalScrollBar(), self.table.indexAt(QPoint(0, 0))
        if bar.value() >= bar.maximum() or not top.isValid():
            return None
        line = self.model.dropped + self.proxy.mapToSource(top).row()
        return line, self.table.visualRect(top).top()

    def _restore(self, reading: tuple[int, int] | None) -> None:
        if reading is None:
            self.table.scrollToBottom()
            return
        row, proxy = reading[0] - self.model.dropped, self.proxy
        at = bisect.bisect_left(range(proxy.rowCount()), row,  # the line or the next shown
                                key=lambda r: proxy.mapToSource(proxy.index(r, 0)).row())
        self.table.doItemsLayout()  # the scroll range, now: a reset leaves it for later
        if at < proxy.rowCount():
            index = proxy.index(at, 0)
            self.table.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtTop)
            if proxy.mapToSource(index).row() == row:  # the same line: the same pixel too
                bar = self.table.verticalScrollBar()
                bar.setValue(bar.value() - reading[1])

    # --- filters ----------------------------------------------------------------------------

    def _on_filter_changed(self) -> None:
        node = self.node_box.currentText().strip()
        rank = self.level_box.currentData() or 0
        self._refilter(lambda: self.proxy.set_filter(
            rank, "" if node == ALL_NODES else node, self.text_edit.text()))

    def _refilter(self, change: Callable[[], None]) -> None:
        reading = self._reading()
        change()
        self._restore(reading)
        self._update_labels()

    def _update_labels(self) -> None:
        total, shown, dropped = self.model.rowCount(), self.proxy.rowCount(), self.model.dropped
        lines = "line" if total == 1 else "lines"
        filtered = self.proxy.min_rank or self.proxy.node or self.proxy.text
        self.count_label.setText(f"{shown:,} of {total:,} {lines}" if filtered
                                 else f"{total:,} {lines}")
        self.dropped_label.setVisible(dropped > 0)
        self.dropped_label.setText(f"{dropped:,} older line{'s' if dropped != 1 else ''} "
                                   "dropped")

    # --- rows -------------------------------------------------------------------------------

    def copy_selection(self) -> None:
        """The selected lines, tab-separated: time, level, node, message (whole)."""
        rows = sorted(self.proxy.mapToSource(i).row()
                      for i in self.table.selectionModel().selectedRows())
        if rows:
            QGuiApplication.clipboard().setText("\n".join(map(self.model.copy_text, rows)))

    def _on_table_activated(self, index: QModelIndex, *, click: bool = False) -> None:
        if self._click_activates and not click:
            self._click_activates = False  # the click that emitted `activated` has done it
            return
        # Some styles activate on a single click too: that click is to emit one signal.
        self._click_activates = click and bool(self.table.style().styleHint(
            QStyle.StyleHint.SH_ItemView_ActivateItemOnSingleClick, None, self.table))
        path = self.model.rows[self.proxy.mapToSource(index).row()][0].node
        if path is not None:
            self.node_activated.emit(path)

    def _on_table_context_menu(self, pos: QPoint) -> None:
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.copy_action.setEnabled(self.table.selectionModel().hasSelection())
        menu.addAction(self.copy_action)
        menu.addSeparator()
        menu.addAction(self.clear_action)
        menu.popup(self.table.viewport().mapToGlobal(pos))  # no nested event loop
        self.context_menu = menu
        self.copy_action.setEnabled(True)
