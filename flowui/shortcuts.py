"""Help → Keyboard Shortcuts: every action with a shortcut, read from the actions
themselves so the list can never drift from what the keys do."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

# Gestures that are not actions.
CANVAS_GESTURES = [
    ("Zoom around the cursor", "Mouse wheel"),
    ("Pan", "Middle-drag, or Space + drag"),
    ("Add a node at the cursor", "Tab, or Space (tap)"),
    ("Wire two ports", "Drag from a port to another"),
    ("Detach a wire", "Drag its end off an input"),
    ("Add a node wired to a port", "Drop a dragged wire on empty canvas"),
    ("Select several", "Shift/Ctrl + click, or drag a box on empty canvas"),
    ("Cancel a wire being dragged", "Esc"),
    ("Move a group with the nodes inside it", "Drag its title bar"),
    ("Resize a group or a note", "Drag its bottom-right corner"),
    ("Rename a group, edit a note", "Double-click it; Ctrl+Enter or a click elsewhere "
                                    "keeps the text, Esc cancels"),
    ("End a comparison (File → Compare with File)", "Esc"),
]


class ShortcutsDialog(QDialog):
    def __init__(self, actions: dict[str, QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        rows = [(a.text().replace("&", "").rstrip("…"),
                 ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText)
                           for s in a.shortcuts()))
                for a in actions.values() if a.shortcuts()]
        rows += CANVAS_GESTURES
        table = QTableWidget(len(rows), 2, self)
        table.setHorizontalHeaderLabels(["Action", "Keys"])
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.setAlternatingRowColors(True)
        for r, (name, keys) in enumerate(rows):
            table.setItem(r, 0, QTableWidgetItem(name))
            table.setItem(r, 1, QTableWidgetItem(keys))
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        layout.addWidget(buttons)
        # As wide as the names and keys are (never cut), as tall as the screen allows.
        table.resizeColumnsToContents()
        margins = layout.contentsMargins()
        width = (header.length() + table.verticalScrollBar().sizeHint().width()
                 + 2 * table.frameWidth() + margins.left() + margins.right() + 24)
        self.resize(max(520, width), 560)
        self.table = table
