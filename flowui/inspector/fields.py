"""One editor widget per kind of config value (schema.py decides the kind; the
table editors for objects and lists are in tables.py).

Every editor emits `edited(value)` with the value to store (UNSET: remove the key,
back to the default) and `problem(text)` for what it cannot store yet ("not valid
JSON"; "" when fixed). `set_value` shows a value without emitting and leaves the
widget alone when it already shows that value, so the cursor stays put.
"""

from __future__ import annotations

import json
import math
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDoubleSpinBox, QSpinBox

from engine.support import bounded_json
from flowui.inspector.base import (
    INT_LIMIT,
    NOT_SET,
    UNSET,
    CheckBox,
    ComboBox,
    DoubleSpinBox,
    FieldEditor,
    SpinBox,
    TextEdit,
    dim_when_unset,
    same_value,
    small_button,
)
from flowui.inspector.highlighter import EXPRESSION as EXPR_MODE
from flowui.inspector.highlighter import TEXT, VALUE, TemplateHighlighter
from flowui.inspector.schema import (
    ARRAY,
    BOOLEAN,
    ENUM,
    EXPRESSION,
    INTEGER,
    NUMBER,
    OBJECT,
    STRING,
    TEMPLATE,
    FieldSchema,
)
from flowui.inspector.tables import ListEditor, ObjectEditor


class StringEditor(FieldEditor):
    """Text, a full template (`format: template`) or a bare expression; `{{ }}` is
    highlighted in all of them."""

    def __init__(self, schema: FieldSchema, *, multiline: bool = False,
                 placeholder: str | None = None) -> None:
        super().__init__(schema)
        kind = schema.kind
        self.edit = TextEdit(multiline=multiline or kind == TEMPLATE,
                             mono=kind in (TEMPLATE, EXPRESSION))
        mode = {TEMPLATE: TEXT, EXPRESSION: EXPR_MODE}.get(kind, VALUE)
        self.highlighter = TemplateHighlighter(self.edit.document(), mode)
        self._placeholder = placeholder
        self._box(self.edit)
        self.edit.textChanged.connect(lambda: self._emit(self.value()))
        self._show(UNSET)

    def value(self) -> Any:
        text = self.edit.toPlainText()
        if text:
            return text
        d = self.schema.default
        # An empty string means something when the default is not empty (an API key
        # left empty on purpose); otherwise an empty field is "use the default".
        return "" if isinstance(d, str) and d and self.schema.has_default else UNSET

    def _show(self, value: Any) -> None:
        if value is UNSET or value is None:
            text = ""
        else:
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        if self._placeholder is not None:
            hint = self._placeholder
        elif value is None:
            hint = "null"
        elif value == "" and self.schema.default_text():
            hint = "(empty)"
        else:
            hint = self.schema.default_text() or ("required" if self.schema.required else "")
        self.edit.setPlaceholderText(hint)
        self.edit.set_text(text)  # nothing happens when it shows that text already


class NumberEditor(FieldEditor):
    def __init__(self, schema: FieldSchema) -> None:
        super().__init__(schema)
        self.integer = schema.kind == INTEGER
        double = None if self.integer else DoubleSpinBox()
        step = 1.0 if double is None else 10.0 ** -double.decimals()
        lo = -INT_LIMIT if schema.minimum is None else schema.minimum + (
            step if schema.exclusive_minimum else 0)
        hi = INT_LIMIT if schema.maximum is None else schema.maximum - (
            step if schema.exclusive_maximum else 0)
        # Null when left out: the lowest position of the spin box means "not set".
        self.special = schema.unset_means_none and not schema.required
        if self.special:
            lo -= 1
        self.spin: QSpinBox | QDoubleSpinBox
        if double is None:
            self.spin = SpinBox()
            self.spin.setRange(math.ceil(lo), math.floor(hi))
        else:
            self.spin = double
            double.setRange(lo, hi)
            if schema.maximum is not None and schema.maximum <= 2:
                double.setSingleStep(0.1)
        if self.special:
            self.spin.setSpecialValueText(NOT_SET)
            dim_when_unset(self.spin)
        self.spin.setMinimumWidth(90)
        self._box(self.spin)
        self.spin.valueChanged.connect(lambda _: self._emit(self.value()))
        self.set_value(UNSET)

    def value(self) -> Any:
        v = self.spin.value()
        if self.special and v == self.spin.minimum():
            return UNSET
        if self.integer:
            return int(v)
        return int(v) if float(v).is_integer() else float(v)  # 30, not 30.0, in the file

    def accepts(self, value: Any) -> bool:
        return value is UNSET or value is None or (
            isinstance(value, int | float) and not isinstance(value, bool))

    def _show(self, value: Any) -> None:
        if value is UNSET or value is None:
            d = self.schema.default
            if self.special:
                value = self.spin.minimum()
            elif isinstance(d, int | float) and not isinstance(d, bool):
                value = d
            else:
                value = max(self.spin.minimum(), min(0, self.spin.maximum()))
        if not same_value(self.value(), value):
            self.spin.setValue(value)


class BoolEditor(FieldEditor):
    def __init__(self, schema: FieldSchema) -> None:
        super().__init__(schema)
        self.check = CheckBox()
        self._box(self.check).addStretch(1)
        self.check.toggled.connect(lambda on: self._emit(bool(on)))
        self.set_value(UNSET)

    def accepts(self, value: Any) -> bool:
        return value is UNSET or value is None or isinstance(value, bool)

    def _show(self, value: Any) -> None:
        if not isinstance(value, bool):
            value = self.schema.default if isinstance(self.schema.default, bool) else False
        self.check.setChecked(value)


class EnumEditor(FieldEditor):
    def __init__(self, schema: FieldSchema) -> None:
        super().__init__(schema)
        self.combo = ComboBox()
        self.values: list[Any] = list(schema.choices)
        # A choice meaning "not set" when leaving the key out gives no choice's value.
        self.unset_item = schema.unset_means_none
        if self.unset_item:
            self.values.insert(0, UNSET)
        for v in self.values:
            text = ("(not set)" if self.schema.required or not self.schema.has_default
                    else "(default)") if v is UNSET else v if isinstance(v, str) \
                else json.dumps(v)
            self.combo.addItem(text)
        self._box(self.combo)
        self.combo.currentIndexChanged.connect(
            lambda i: self._emit(self.values[i]) if 0 <= i < len(self.values) else None)
        self.set_value(UNSET)

    def accepts(self, value: Any) -> bool:
        return value is UNSET or value is None or self._index(value) >= 0

    def _index(self, value: Any) -> int:
        return next((i for i, v in enumerate(self.values) if same_value(v, value)), -1)

    def _show(self, value: Any) -> None:
        if value is None and self.unset_item:
            value = UNSET
        if value is UNSET and not self.unset_item:
            value = self.schema.default
        self.combo.setCurrentIndex(max(self._index(value), 0))


class ExpressionSwitch(FieldEditor):
    """A typed editor (number, checkbox, choice, table) that can be swapped for a text
    field holding a template: FORMAT accepts one in any config field."""

    def __init__(self, typed: FieldEditor) -> None:
        super().__init__(typed.schema)
        self.typed = typed
        self.text = StringEditor(FieldSchema(typed.schema.name, typed.schema.label, STRING),
                                 placeholder="{{ inputs.name }}")
        self.toggle = small_button("{ }", "Use an expression ({{ ... }}) instead of a "
                                          "fixed value", checkable=True)
        # Both editors sit in the line and one is hidden: the line takes the shown one's
        # height (a stacked widget would take the tallest).
        box = self._box(typed, self.text, self.toggle)
        box.setStretch(0, 1)
        box.setStretch(1, 1)
        box.setAlignment(self.toggle, Qt.AlignmentFlag.AlignTop)
        typed.edited.connect(self.edited)
        typed.problem.connect(self.problem)
        self.text.edited.connect(self.edited)
        self.toggle.toggled.connect(self._toggled)
        self._stored: Any = UNSET
        self._mode(False)

    @property
    def expression_mode(self) -> bool:
        return self.toggle.isChecked()

    def _mode(self, expression: bool) -> None:
        self.typed.setVisible(not expression)
        self.text.setVisible(expression)
        self.setFocusProxy(self.text if expression else self.typed)
        self.toggle.blockSignals(True)
        self.toggle.setChecked(expression)
        self.toggle.blockSignals(False)

    def _toggled(self, on: bool) -> None:
        self._mode(on)
        if on:
            self.text.edit.setFocus()
        else:
            self.problem.emit("")
            if isinstance(self._stored, str):  # the template goes: back to the default
                self.edited.emit(UNSET)

    def _show(self, value: Any) -> None:
        self._stored = value
        if not self.typed.accepts(value) or (isinstance(value, str) and "{{" in value):
            self.text.set_value(value)
            self.typed.set_value(UNSET)
            self._mode(True)
        elif self.expression_mode and not self.text.edit.toPlainText():
            self.typed.set_value(value)  # switched on, nothing typed yet: stay
        else:
            self.typed.set_value(value)
            self.text.set_value(UNSET)
            self._mode(False)


class JsonEditor(FieldEditor):
    """Any JSON value; text that is not JSON but holds `{{` is stored as a template string."""

    def __init__(self, schema: FieldSchema) -> None:
        super().__init__(schema)
        self.edit = TextEdit(multiline=True, mono=True, min_lines=2)
        self.highlighter = TemplateHighlighter(self.edit.document(), VALUE)
        self.edit.setPlaceholderText(schema.default_text() or 'JSON, e.g. {"key": 1}')
        self._box(self.edit)
        self.edit.textChanged.connect(self._changed)

    def parse(self) -> tuple[Any, str]:
        """(value, problem): the value to store, or why there is none."""
        text = self.edit.toPlainText()
        if not text.strip():
            return UNSET, ""
        try:
            return bounded_json.loads(text), ""
        except bounded_json.JsonLimitError as e:
            if e.syntax and "{{" in text:
                return text, ""
            return UNSET, (f"Not valid JSON: {e.reason}" if e.syntax
                           else f"Not accepted: {e.reason}")

    def _changed(self) -> None:
        if self._quiet:
            return
        value, problem = self.parse()
        self.problem.emit(problem)
        if not problem:
            self.edited.emit(value)

    def _show(self, value: Any) -> None:
        current, problem = self.parse()
        if not problem and same_value(current, value):
            return  # keep the user's own layout of the same value
        self.edit.set_text(format_json(value))
        self.problem.emit("")


def format_json(value: Any) -> str:
    if value is UNSET:
        return ""
    if isinstance(value, str) and "{{" in value:
        return value
    compact = json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict | list) and len(compact) > 48:
        return json.dumps(value, ensure_ascii=False, indent=2)
    return compact


def make_editor(schema: FieldSchema) -> FieldEditor:
    """The editor for a field; typed ones can switch to an expression."""
    kind = schema.kind
    if kind in (STRING, EXPRESSION, TEMPLATE):
        return StringEditor(schema)
    typed: FieldEditor
    if kind in (INTEGER, NUMBER):
        typed = NumberEditor(schema)
    elif kind == BOOLEAN:
        typed = BoolEditor(schema)
    elif kind == ENUM:
        typed = EnumEditor(schema)
    elif kind == OBJECT:
        typed = ObjectEditor(schema)
    elif kind == ARRAY:
        typed = ListEditor(schema)
    else:
        return JsonEditor(schema)
    return ExpressionSwitch(typed)

