"""Two runs compared, node by node: the nodes that differ (status, duration, outputs,
error) with what changed, and for the node chosen the two values as text with their
differences marked line by line. Activating a node shows it on the canvas.

No editor in research/editors.md compares runs; n8n's users copy two executions'
JSON into a diff tool to do it."""

from __future__ import annotations

import difflib
import json
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from flowui import theme
from flowui.history.compare import NodeDifference, compare
from flowui.run.session import NodeState, RunSession

PATH_ROLE = Qt.ItemDataRole.UserRole + 1
MAX_DIFF_CHARS = 200_000  # each side's text is cut beyond this (the Run tab has it all)
WHAT = {"only_in_a": "only in the first", "only_in_b": "only in the second",
        "status": "status", "duration": "duration", "outputs": "outputs", "error": "error"}


def value_text(state: NodeState | None) -> str:
    """What a node produced (or its error), as indented JSON with sorted keys, so two
    runs' values compare line by line."""
    if state is None:
        return "(the node is not in this run)"
    value: Any = state.outputs.value if state.outputs is not None else None
    if value is None and state.error:
        value = {"error": state.error}
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=repr)
    if len(text) > MAX_DIFF_CHARS:
        text = text[:MAX_DIFF_CHARS] + "\n… (cut: see the Run tab for all of it)"
    if state.outputs is not None and state.outputs.cut:
        text = f"(a preview: {state.outputs.note})\n" + text
    return text


class CompareView(QWidget):
    node_activated = Signal(str)  # the node's run path

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.differences: list[NodeDifference] = []
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Node", "Differs in", "What changed"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.header().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.tree.currentItemChanged.connect(self._on_current_changed)
        self.tree.itemActivated.connect(self._on_item_activated)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.left, self.right = QPlainTextEdit(), QPlainTextEdit()
        for side in (self.left, self.right):
            side.setReadOnly(True)
            side.setFont(mono)
            side.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        sides = QSplitter(Qt.Orientation.Horizontal)
        sides.addWidget(self.left)
        sides.addWidget(self.right)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.tree)
        split.addWidget(sides)
        split.setSizes([200, 300])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.title)
        layout.addWidget(split, 1)

    def show_runs(self, a: RunSession, b: RunSession, label_a: str, label_b: str) -> None:
        self.differences = compare(a, b)
        n = len(self.differences)
        self.title.setText(f"<b>{label_a}</b> → <b>{label_b}</b>: "
                           + (f"{n} node{'s' if n != 1 else ''} differ" if n else
                              "no node differs in status, duration, outputs or error"))
        self.tree.clear()
        for d in self.differences:
            item = QTreeWidgetItem([d.path, ", ".join(WHAT[w] for w in d.what), d.describe()])
            item.setData(0, PATH_ROLE, d.path)
            if "status" in d.what and d.b is not None:
                item.setForeground(1, theme.status_color(d.b.status))
            self.tree.addTopLevelItem(item)
        for column in (0, 1):
            self.tree.resizeColumnToContents(column)
        first = self.tree.topLevelItem(0)
        if first is not None:
            self.tree.setCurrentItem(first)
        else:
            self.left.clear()
            self.right.clear()

    def _on_current_changed(self, item: QTreeWidgetItem | None, _previous: Any) -> None:
        if item is None:
            return
        d = self.differences[self.tree.indexOfTopLevelItem(item)]
        left, right = value_text(d.a), value_text(d.b)
        self.left.setPlainText(left)
        self.right.setPlainText(right)
        _mark_changed_lines(self.left, self.right, left.splitlines(), right.splitlines())

    def _on_item_activated(self, item: QTreeWidgetItem, _column: int) -> None:
        self.node_activated.emit(item.data(0, PATH_ROLE))


def _mark_changed_lines(left: QPlainTextEdit, right: QPlainTextEdit, a: list[str],
                        b: list[str]) -> None:
    """Tint the lines that differ: removed on the left, added on the right."""
    gone, new = QTextCharFormat(), QTextCharFormat()
    look = theme.current()
    gone.setBackground(theme.mix(look.status_color("failed"), look.background, 0.25))
    new.setBackground(theme.mix(look.status_color("completed"), look.background, 0.25))
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            _tint(left, i1, i2, gone)
            _tint(right, j1, j2, new)


def _tint(edit: QPlainTextEdit, first: int, last: int, fmt: QTextCharFormat) -> None:
    doc = edit.document()
    for line in range(first, last):
        block = doc.findBlockByNumber(line)
        if not block.isValid():
            return
        cursor = QTextCursor(block)
        cursor.select(QTextCursor.SelectionType.LineUnderCursor)
        cursor.mergeCharFormat(fmt)
