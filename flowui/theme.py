"""The editor's look in one place: colours for categories, port types and run states,
the application palette and style sheet (dark by default)."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

BACKGROUND = QColor("#0d1117")
GRID_MINOR = QColor("#161b22")
GRID_MAJOR = QColor("#21262d")
NODE_BODY = QColor("#1c2128")
NODE_BORDER = QColor("#30363d")
SUMMARY_BACKGROUND = QColor("#14181e")  # the key config line on a node
NODE_SELECTED = QColor("#58a6ff")
TEXT = QColor("#e6edf3")
TEXT_DIM = QColor("#8b949e")
WIRE_SELECTED = QColor("#f0f6fc")
PROBLEM = QColor("#f85149")

CATEGORY_COLORS = {
    "Flow": "#6e7681", "Control": "#d29922", "Transform": "#a371f7", "Debug": "#8b949e",
    "Time": "#3fb950", "HTTP": "#58a6ff", "Triggers": "#f0883e", "Code": "#db61a2",
    "LLM": "#bc8cff", "Files": "#e3b341", "Functions": "#39c5cf",
}
DEFAULT_CATEGORY_COLOR = "#39c5cf"

PORT_COLORS = {
    "any": "#8b949e", "string": "#3fb950", "number": "#58a6ff", "integer": "#79c0ff",
    "boolean": "#f85149", "object": "#d2a8ff", "array": "#f0883e",
}

STATUS_COLORS = {
    "queued": "#6e7681", "running": "#58a6ff", "completed": "#3fb950", "cached": "#a371f7",
    "failed": "#f85149", "skipped": "#484f58", "cancelled": "#d29922", "retrying": "#d29922",
}
# Run states that colour a node's border (the others show only in its footer).
STRONG_STATUSES = frozenset({"running", "retrying", "completed", "cached", "failed",
                             "cancelled"})
EDITED = "#e3b341"  # a node changed since the run shown started
_STATUS_QCOLORS = {name: QColor(value) for name, value in STATUS_COLORS.items()}
_UNKNOWN_STATUS = QColor("#8b949e")


def status_color(status: str | None) -> QColor:
    return _STATUS_QCOLORS.get(status or "", _UNKNOWN_STATUS)


def category_color(category: str) -> QColor:
    return QColor(CATEGORY_COLORS.get(category, DEFAULT_CATEGORY_COLOR))


def port_color(port_type: str) -> QColor:
    return QColor(PORT_COLORS.get(port_type, PORT_COLORS["any"]))


STYLE_SHEET = """
QMainWindow, QDialog { background: #0d1117; }
QWidget { color: #e6edf3; font-size: 10pt; }
QDockWidget { titlebar-close-icon: none; }
QDockWidget::title { background: #161b22; padding: 6px 8px; border-bottom: 1px solid #30363d;
                     font-weight: 600; color: #c9d1d9; }
QToolBar { background: #161b22; border: none; border-bottom: 1px solid #30363d; spacing: 2px;
           padding: 3px; }
QToolButton { background: transparent; border: 1px solid transparent; border-radius: 5px;
              padding: 4px; }
QToolButton:hover { background: #21262d; border-color: #30363d; }
QToolButton:pressed, QToolButton:checked { background: #30363d; }
QMenuBar { background: #161b22; border-bottom: 1px solid #30363d; }
QMenuBar::item { padding: 4px 10px; background: transparent; }
QMenuBar::item:selected { background: #21262d; border-radius: 4px; }
QMenu { background: #161b22; border: 1px solid #30363d; padding: 4px; }
QMenu::item { padding: 5px 28px 5px 24px; border-radius: 4px; }
QMenu::item:selected { background: #1f6feb; }
QMenu::item:disabled { color: #5a626c; }
QMenu::item:disabled:selected { background: #21262d; }
QMenu::separator { height: 1px; background: #30363d; margin: 4px 8px; }
QStatusBar { background: #161b22; border-top: 1px solid #30363d; color: #8b949e; }
QLineEdit, QPlainTextEdit, QTextEdit, QSpinBox, QDoubleSpinBox, QComboBox {
    background: #0d1117; border: 1px solid #30363d; border-radius: 5px; padding: 4px 6px;
    selection-background-color: #1f6feb; }
QLineEdit:focus, QPlainTextEdit:focus, QSpinBox:focus, QDoubleSpinBox:focus, QComboBox:focus {
    border-color: #58a6ff; }
QLineEdit[invalid="true"], QPlainTextEdit[invalid="true"] { border-color: #f85149; }
QComboBox QAbstractItemView { background: #161b22; border: 1px solid #30363d;
                              selection-background-color: #1f6feb; }
QTreeView, QListView, QTableWidget, QTableView, QUndoView {
    background: #0d1117; border: none; alternate-background-color: #11161d;
    selection-background-color: #1f6feb; }
QTreeView::item, QListView::item { padding: 3px 2px; }
QHeaderView::section { background: #161b22; border: none; border-bottom: 1px solid #30363d;
                       padding: 4px 6px; color: #8b949e; }
QPushButton { background: #21262d; border: 1px solid #30363d; border-radius: 6px;
              padding: 5px 14px; }
QPushButton:hover { background: #30363d; }
QPushButton:default { background: #238636; border-color: #2ea043; }
QCheckBox::indicator { width: 15px; height: 15px; }
QScrollBar:vertical { background: transparent; width: 10px; margin: 0; }
QScrollBar::handle:vertical { background: #30363d; border-radius: 5px; min-height: 24px; }
QScrollBar:horizontal { background: transparent; height: 10px; margin: 0; }
QScrollBar::handle:horizontal { background: #30363d; border-radius: 5px; min-width: 24px; }
QScrollBar::add-line, QScrollBar::sub-line { width: 0; height: 0; }
QLabel#sectionTitle { color: #8b949e; font-weight: 600; padding-top: 8px; }
QLabel#help { color: #8b949e; font-size: 9pt; }
QLabel#error { color: #f85149; font-size: 9pt; }
QToolTip { background: #161b22; color: #e6edf3; border: 1px solid #30363d; padding: 4px; }
"""


def apply(app: QApplication) -> None:
    """Fusion with a dark palette (so native dialogs match) and the style sheet."""
    app.setStyle("Fusion")
    pal = QPalette()
    for role, color in (
        (QPalette.ColorRole.Window, "#0d1117"), (QPalette.ColorRole.WindowText, "#e6edf3"),
        (QPalette.ColorRole.Base, "#0d1117"), (QPalette.ColorRole.AlternateBase, "#161b22"),
        (QPalette.ColorRole.Text, "#e6edf3"), (QPalette.ColorRole.Button, "#21262d"),
        (QPalette.ColorRole.ButtonText, "#e6edf3"), (QPalette.ColorRole.Highlight, "#1f6feb"),
        (QPalette.ColorRole.HighlightedText, "#ffffff"),
        (QPalette.ColorRole.ToolTipBase, "#161b22"), (QPalette.ColorRole.ToolTipText, "#e6edf3"),
        (QPalette.ColorRole.PlaceholderText, "#6e7681"),
        (QPalette.ColorRole.Link, "#58a6ff"),
    ):
        pal.setColor(role, QColor(color))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#6e7681"))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#6e7681"))
    app.setPalette(pal)
    app.setStyleSheet(STYLE_SHEET)
