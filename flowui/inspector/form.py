"""The inspector's page layout: section titles over a two-column grid (label, editor),
help and errors under each editor, wide editors (tables, templates) across both."""

from __future__ import annotations

import itertools

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from flowui import resources, theme

LABEL_W = 108  # fixed, so editors line up across sections and never shift
LINE_H = 27  # a one-line editor's height: labels centre on it
SLOT_W = 24  # the reset button's place, kept when the button is hidden


def set_invalid(widget: QWidget, invalid: bool) -> None:
    """A border in the theme's problem colour on the widget's editors (a sheet of their
    own while invalid: most fields never are, and none is polished through it)."""
    targets = [widget, *widget.findChildren(QWidget)]
    for w in targets:
        if w.property("invalid") != invalid and w.metaObject().className() in (
                "QLineEdit", "TextEdit", "QPlainTextEdit"):
            w.setProperty("invalid", invalid)
            w.setStyleSheet(theme.invalid_sheet() if invalid else "")


def sentence(message: str) -> str:
    """An error message as the panel shows it: capitalised ("syntax error..." from Jinja)."""
    return message[:1].upper() + message[1:]


def chain_tab_order(widgets: list[QWidget]) -> None:
    """Make Tab visit these widgets (and the focusable widgets inside them) in this order."""
    chain: list[QWidget] = []
    for w in widgets:
        # A composite may know its own order; else its widgets in the order they joined it.
        parts = w.tab_widgets() if hasattr(w, "tab_widgets") else [w, *w.findChildren(QWidget)]
        window = w.window()
        for x in parts:  # not into popups: they are windows
            if x.focusPolicy() & Qt.FocusPolicy.TabFocus and x.focusProxy() is None \
                    and x.window() is window and x not in chain:
                chain.append(x)
    for a, b in itertools.pairwise(chain):
        QWidget.setTabOrder(a, b)


def help_label(text: str = "", name: str = "help") -> QLabel:
    label = QLabel(text)
    label.setObjectName(name)
    theme.tone(label, name)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    label.setVisible(bool(text))
    return label


def page_header(title: str, subtitle: str, icon: str, color: QColor,
                description: str = "", *, warning: str = "") -> QWidget:
    """The top of a page: an icon in the category's colour, a title, a subtitle line and
    a description."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(6)
    top = QHBoxLayout()
    top.setSpacing(10)
    badge = QLabel()
    badge.setFixedSize(34, 34)
    badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
    badge.setPixmap(resources.icon_pixmap(icon, 20))
    badge.setStyleSheet(f"background: rgba({color.red()}, {color.green()}, {color.blue()}, 48);"
                        f" border: 1px solid {color.name()}; border-radius: 8px;")
    top.addWidget(badge, 0, Qt.AlignmentFlag.AlignTop)
    names = QVBoxLayout()
    names.setSpacing(2)
    heading = QLabel(title)
    font = heading.font()
    font.setPointSizeF(12.5)
    font.setWeight(QFont.Weight.DemiBold)
    heading.setFont(font)
    names.addWidget(heading)
    sub = QLabel(subtitle)
    sub.setStyleSheet(f"color: {color.name()}; font-size: 9pt;")  # the category's hue
    names.addWidget(sub)
    top.addLayout(names, 1)
    layout.addLayout(top)
    if warning:
        layout.addWidget(help_label(warning, "error"))
    if description:
        layout.addWidget(help_label(description))
    return box


class Row:
    """One labelled editor with its help text, error line and optional trailing button."""

    def __init__(self, label: QLabel, editor: QWidget, help: QLabel, error: QLabel,
                 container: QWidget) -> None:
        self.label, self.editor, self.help, self.error = label, editor, help, error
        self.container = container

    def set_error(self, message: str) -> None:
        if self.error.text() != message:
            self.error.setText(message)
        self.error.setVisible(bool(message))
        set_invalid(self.editor, bool(message))


class FormGrid(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(10)
        self.grid.setVerticalSpacing(8)
        self.grid.setColumnMinimumWidth(0, LABEL_W)
        self.grid.setColumnStretch(1, 1)
        self._row = 0

    def add_section(self, title: str) -> QWidget:
        """A section title with a rule under it; returns it (to hide an empty section)."""
        section = QWidget()
        label = QLabel(title.upper())
        label.setObjectName("sectionTitle")
        theme.tone(label, "sectionTitle")
        line = QFrame()
        line.setFixedHeight(1)
        line.setAutoFillBackground(True)
        line.setBackgroundRole(QPalette.ColorRole.Mid)  # the theme's border colour
        box = QVBoxLayout(section)
        box.setContentsMargins(0, 10 if self._row else 0, 0, 2)
        box.setSpacing(4)
        box.addWidget(label)
        box.addWidget(line)
        self.grid.addWidget(section, self._row, 0, 1, 2)
        self._row += 1
        return section

    def add_widget(self, widget: QWidget) -> None:
        """A widget across both columns (a note, a list of cards)."""
        self.grid.addWidget(widget, self._row, 0, 1, 2)
        self._row += 1

    def add_row(self, text: str, editor: QWidget, *, help: str = "", wide: bool = False,
                trailing: QWidget | None = None, slot: bool = True) -> Row:
        label = QLabel(text)
        label.setWordWrap(True)
        label.setBuddy(editor)
        help_text, error = help_label(help), help_label(name="error")
        container = QWidget()
        column = QVBoxLayout(container)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(3)
        line = QHBoxLayout()
        line.setContentsMargins(0, 0, 0, 0)
        line.setSpacing(4)
        place: QWidget | None = trailing
        if place is None and slot:
            place = QWidget()
            place.setFixedSize(SLOT_W, SLOT_W)
        if place is not None:
            policy = place.sizePolicy()
            policy.setRetainSizeWhenHidden(True)
            place.setSizePolicy(policy)
        if wide:  # label on its own line, the editor under it across the panel
            head = QHBoxLayout()
            head.setContentsMargins(0, 0, 0, 0)
            head.addWidget(label, 1)
            if place is not None:
                head.addWidget(place)
            column.addLayout(head)
            column.addWidget(editor)
            self.grid.addWidget(container, self._row, 0, 1, 2)
        else:
            line.addWidget(editor, 1)
            if place is not None:
                line.addWidget(place, 0, Qt.AlignmentFlag.AlignTop)
            column.addLayout(line)
            label.setMinimumHeight(LINE_H)
            label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            label.setFixedWidth(LABEL_W)
            self.grid.addWidget(label, self._row, 0, Qt.AlignmentFlag.AlignTop)
            self.grid.addWidget(container, self._row, 1)
        column.addWidget(help_text)
        column.addWidget(error)
        self._row += 1
        return Row(label, editor, help_text, error, container)
