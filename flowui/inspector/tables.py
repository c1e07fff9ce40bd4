"""Table editors for object (key/value rows) and list (one value per row) config fields.

A cell holds text; it is stored as JSON when it parses (`1`, `true`, `{"a": 1}`),
else as the text itself, and always as text when the schema says the values are
strings (an HTTP header `"1"` stays a string).
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
)

from engine.support import bounded_json
from flowui import theme
from flowui.inspector.base import UNSET, FieldEditor, same_value
from flowui.inspector.schema import EXPRESSION, STRING, TEMPLATE, FieldSchema

ROW_H = 26


def _table_style() -> str:
    look = theme.current()
    return f"""
QTableWidget {{ border: 1px solid {look.border.name()}; border-radius: 5px;
               gridline-color: {look.raised.name()}; background: {look.background.name()}; }}
QTableWidget::item {{ padding: 0 4px; }}
QTableWidget QLineEdit {{ border: 1px solid {look.node_selected.name()}; border-radius: 0;
                         padding: 0 3px; }}
"""


def _button_style() -> str:
    look = theme.current()
    return (f"QToolButton {{ color: {look.text_dim.name()}; padding: 2px 6px; font-size: 9pt;"
            " border: none; }"
            f"QToolButton:hover {{ color: {look.text.name()}; }}"
            f"QToolButton:disabled {{ color: {look.border.name()}; }}")


def _text_only(schema: FieldSchema | None) -> bool:
    return schema is not None and schema.kind in (STRING, TEMPLATE, EXPRESSION)


def parse_cell(text: str, item: FieldSchema | None) -> Any:
    if _text_only(item) or not text.strip():
        return text
    try:
        return bounded_json.loads(text)
    except ValueError:  # not JSON (or past a limit): the text itself
        return text


def format_cell(value: Any, item: FieldSchema | None) -> str:
    if isinstance(value, str):
        if _text_only(item):
            return value
        try:
            bounded_json.loads(value)
        except ValueError:
            return value  # shown bare; it reads back as the same string
        return json.dumps(value, ensure_ascii=False)  # "1" quoted, or it would read back as 1
    return json.dumps(value, ensure_ascii=False)


def _cell_text(item: QTableWidgetItem | None) -> str:
    return item.text() if item is not None else ""


class _TableEditor(FieldEditor):
    columns: tuple[str, ...] = ()

    def __init__(self, schema: FieldSchema, *, reorder: bool = False) -> None:
        super().__init__(schema)
        self.item = schema.item
        t = self.table = QTableWidget(0, len(self.columns))
        t.setHorizontalHeaderLabels(list(self.columns))
        t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        t.horizontalHeader().setHighlightSections(False)
        t.verticalHeader().hide()
        t.verticalHeader().setDefaultSectionSize(ROW_H)
        t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        t.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                          | QAbstractItemView.EditTrigger.EditKeyPressed
                          | QAbstractItemView.EditTrigger.AnyKeyPressed
                          | QAbstractItemView.EditTrigger.SelectedClicked)
        t.setTabKeyNavigation(False)  # Tab leaves the table for the next field
        t.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        t.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        t.setStyleSheet(_table_style())
        t.itemChanged.connect(self._cells_changed)
        t.itemSelectionChanged.connect(self._selection_changed)
        self.add_button = self._button("+ Add", "Add a row", self.add_row)
        self.remove_button = self._button("Remove", "Remove the selected rows", self.remove_rows)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.setSpacing(2)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        self.up_button = self.down_button = None
        if reorder:
            self.up_button = self._button("↑", "Move the selected row up",
                                          lambda: self.move_row(-1))
            self.down_button = self._button("↓", "Move the selected row down",
                                            lambda: self.move_row(1))
            buttons.addWidget(self.up_button)
            buttons.addWidget(self.down_button)
        buttons.addStretch(1)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        box.addWidget(t)
        box.addLayout(buttons)
        self.setFocusProxy(t)
        self._fit()
        self._selection_changed()

    def _button(self, text: str, tip: str, slot: Any) -> QToolButton:
        b = QToolButton()
        b.setText(text)
        b.setToolTip(tip)
        b.setStyleSheet(_button_style())
        b.clicked.connect(slot)
        return b

    def _fit(self) -> None:
        rows = max(self.table.rowCount(), 1)
        self.table.setFixedHeight(self.table.horizontalHeader().sizeHint().height()
                                  + rows * ROW_H + 2 * self.table.frameWidth())

    def _selection_changed(self) -> None:
        has = bool(self.table.selectionModel().selectedRows())
        for b in (self.remove_button, self.up_button, self.down_button):
            if b is not None:
                b.setEnabled(has)

    # --- rows -----------------------------------------------------------------------------

    def rows(self) -> list[list[str]]:
        t = self.table
        return [[_cell_text(t.item(r, c)) for c in range(t.columnCount())]
                for r in range(t.rowCount())]

    def set_rows(self, rows: list[list[str]]) -> None:
        t = self.table
        t.blockSignals(True)
        try:
            t.setRowCount(len(rows))
            for r, cells in enumerate(rows):
                for c, text in enumerate(cells):
                    t.setItem(r, c, QTableWidgetItem(text))
        finally:
            t.blockSignals(False)
        self._fit()
        self._selection_changed()

    def add_row(self) -> None:
        self.set_rows([*self.rows(), [""] * self.table.columnCount()])
        row = self.table.rowCount() - 1
        self.table.setCurrentCell(row, 0)
        item = self.table.item(row, 0)
        assert item is not None  # set_rows just made it
        self.table.editItem(item)

    def remove_rows(self) -> None:
        gone = {i.row() for i in self.table.selectionModel().selectedRows()}
        if gone:
            self.set_rows([r for i, r in enumerate(self.rows()) if i not in gone])
            self._cells_changed()

    def move_row(self, step: int) -> None:
        selected = self.table.selectionModel().selectedRows()
        if not selected:
            return
        i = selected[0].row()
        j = i + step
        rows = self.rows()
        if not 0 <= j < len(rows):
            return
        rows[i], rows[j] = rows[j], rows[i]
        self.set_rows(rows)
        self.table.selectRow(j)
        self._cells_changed()

    # --- values ---------------------------------------------------------------------------

    def build(self) -> tuple[Any, str]:
        """(value, problem) from the rows."""
        raise NotImplementedError

    def _empty_value(self) -> Any:
        s = self.schema
        keep = s.required or (s.has_default and s.default not in (None, {}, []))
        return self._empty() if keep else UNSET

    def _empty(self) -> Any:
        raise NotImplementedError

    def _cells_changed(self, *_: Any) -> None:
        if self._quiet:
            return
        value, problem = self.build()
        self.problem.emit(problem)
        if not problem:
            self.edited.emit(value)

    def _rows_for(self, value: Any) -> list[list[str]]:
        raise NotImplementedError

    def _show(self, value: Any) -> None:
        current, problem = self.build()
        if not problem and same_value(current, value if value is not None else UNSET):
            return
        self.set_rows(self._rows_for(value))
        self.problem.emit("")


class ObjectEditor(_TableEditor):
    columns = ("Key", "Value")

    def accepts(self, value: Any) -> bool:
        return value is UNSET or value is None or isinstance(value, dict)

    def _empty(self) -> Any:
        return {}

    def build(self) -> tuple[Any, str]:
        out: dict[str, Any] = {}
        for key, text in self.rows():
            key = key.strip()
            if not key:
                continue  # a row being filled in
            if key in out:
                return UNSET, f"the key {key!r} appears twice"
            out[key] = parse_cell(text, self.item)
        return (out or self._empty_value()), ""

    def _rows_for(self, value: Any) -> list[list[str]]:
        if not isinstance(value, dict):
            return []
        return [[str(k), format_cell(v, self.item)] for k, v in value.items()]


class ListEditor(_TableEditor):
    columns = ("Value",)

    def __init__(self, schema: FieldSchema) -> None:
        super().__init__(schema, reorder=True)

    def accepts(self, value: Any) -> bool:
        return value is UNSET or value is None or isinstance(value, list)

    def _empty(self) -> Any:
        return []

    def build(self) -> tuple[Any, str]:
        out = [parse_cell(text, self.item) for (text,) in self.rows() if text.strip()]
        return (out or self._empty_value()), ""

    def _rows_for(self, value: Any) -> list[list[str]]:
        if not isinstance(value, list):
            return []
        return [[format_cell(v, self.item)] for v in value]
