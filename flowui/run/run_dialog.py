"""The run dialog: one field per input the workflow declares, the test-run switch, and the
values last used, remembered per workflow file. Values are read as `flowcli run --input`
reads them: text for string inputs, JSON for the others (`any` keeps plain text as text)."""

from __future__ import annotations

import hashlib
import html
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.support import bounded_json
from engine.workflow.model import InputSpec
from engine.workflow.porttypes import matches
from flowui import resources, theme
from flowui.inspector.base import CheckBox, TextEdit

TEST_RUN_TIP = ("A test run checks the wiring cheaply: nodes cap what costs money or time "
                "(llm.chat's max_tokens at 16) and the result is marked test_run.")
EMPTY: Any = object()  # nothing entered: the input is left out and the engine uses its default
_HINTS = {"integer": "a whole number", "number": "a number", "any": "JSON, or plain text",
          "object": 'a JSON object, e.g. {"key": "value"}', "array": "a JSON array, e.g. [1, 2]"}
_WRONG_KIND = {"integer": "{text} is not a whole number", "number": "{text} is not a number",
               "object": 'Must be a JSON object, e.g. {{"key": "value"}}',
               "array": "Must be a JSON array, e.g. [1, 2, 3]"}


def _is_json(value: Any) -> bool:
    """Whether the value can be written as JSON (no NaN or infinity, no Python objects)."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return False
    return True


def parse(spec: InputSpec, text: str) -> Any:
    """A field's text as the value its declaration asks for, or EMPTY; ValueError says why not."""
    kind = spec.type
    if not text.strip() and (kind != "string" or not text):  # spaces are a string value
        if spec.is_required:
            raise ValueError("Required: enter a value")
        return EMPTY
    if kind == "string":
        return text
    try:
        value = bounded_json.loads(text)
    except bounded_json.JsonLimitError as e:
        if e.kind == "integer":
            raise ValueError("Too many digits") from None
        if e.kind == "number":
            raise ValueError("Must be a finite number (JSON has no NaN or infinity)") from None
        if not e.syntax:  # nesting past the limit, a lone surrogate
            raise ValueError(e.reason[:1].upper() + e.reason[1:]) from None
        if kind == "any":
            return text  # plain text, as `--input` takes it
        if kind in ("object", "array"):
            raise ValueError(f"Not valid JSON: {e.reason}") from None
        value = EMPTY
    if value is not EMPTY and not _is_json(value):  # NaN, Infinity, 1e999
        raise ValueError("Must be a finite number (JSON has no NaN or infinity)")
    if value is EMPTY or not matches(kind, value):
        shown = text.strip()
        shown = shown if len(shown) <= 40 else shown[:39] + "…"
        raise ValueError(_WRONG_KIND[kind].format(text=repr(shown)))
    return value


def fits(spec: InputSpec, value: Any) -> bool:
    """Whether a remembered value can still be shown for this declaration."""
    return _is_json(value) and (spec.type == "any" or (
        value is not None and matches(spec.type, value)))


def as_text(kind: str, value: Any) -> str:
    """The text that parses back to `value` (the inverse of `parse`)."""
    if value is EMPTY or (value is None and kind != "any"):
        return ""
    if kind == "string" and isinstance(value, str):
        return value
    if kind == "any" and isinstance(value, str) and value.strip():
        try:
            bounded_json.loads(value)
        except ValueError:
            return value  # plain text stays plain; "42" as a string is shown as "\"42\""
    compact = json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict | list) and len(compact) > 48:
        return json.dumps(value, ensure_ascii=False, indent=2)
    return compact


def _has_default(spec: InputSpec) -> bool:
    return "default" in spec.model_fields_set


class InputField(QWidget):
    """One declared input: name, description, editor, error line and a reset button."""

    changed = Signal()

    def __init__(self, name: str, spec: InputSpec, initial: Any) -> None:
        super().__init__()
        self.name, self.spec = name, spec
        self.problem = ""
        kind = spec.type
        default_text = as_text(kind, spec.default) if _has_default(spec) else ""
        # What the editor's text() reads when it shows the default (the reset button's cue).
        self.default_text = ("true" if spec.default is True else "false") \
            if kind == "boolean" else default_text
        self.editor: QLineEdit | TextEdit | CheckBox
        if kind == "boolean":
            self.editor = CheckBox()
            self.editor.toggled.connect(self._changed)
        elif kind in ("integer", "number") or (
                kind == "string" and "\n" not in as_text(kind, initial) + default_text):
            self.editor = QLineEdit()
            self.editor.textChanged.connect(self._changed)
        else:
            self.editor = TextEdit(multiline=kind != "any", mono=kind != "string",
                                   min_lines=3 if kind != "any" else 1)
            self.editor.setUndoRedoEnabled(True)  # the inspector turns it off for its own stack
            self.editor.textChanged.connect(self._changed)
        if not isinstance(self.editor, CheckBox):
            hint = _HINTS.get(kind, "")
            if _has_default(spec) and not spec.is_required:
                hint = f"default: {' '.join(default_text.split()) or '(empty)'}"
            self.editor.setPlaceholderText(hint or ("required" if spec.is_required else ""))

        look = theme.current()
        red, dim = look.problem.name(), look.text_dim.name()
        star = f" <span style='color:{red}'>*</span>" if spec.is_required else ""
        label = QLabel(f"<b>{html.escape(name)}</b>{star}&nbsp;&nbsp;"
                       f"<span style='color:{dim}; font-size:9pt'>{kind}</span>")
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setBuddy(self.editor)
        header = QHBoxLayout()
        header.addWidget(label, 1)
        self.reset_button: QToolButton | None = None
        if _has_default(spec):
            self.reset_button = QToolButton()
            self.reset_button.setText("Reset to default")
            self.reset_button.setToolTip(f"Back to the default: {default_text or '(empty)'}")
            # Tab moves between values only, as in the inspector.
            self.reset_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            self.reset_button.setStyleSheet(
                f"QToolButton {{ color: {dim}; font-size: 9pt; padding: 1px 6px; }}"
                f" QToolButton:disabled {{ color: {look.border.name()}; }}")
            self.reset_button.clicked.connect(self.reset)
            header.addWidget(self.reset_button)
        self.error = QLabel()
        self.error.setObjectName("error")
        theme.tone(self.error, "error")
        self.error.setWordWrap(True)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(4)
        box.addLayout(header)
        if spec.description:
            help_text = QLabel(spec.description)
            help_text.setObjectName("help")
            theme.tone(help_text, "help")
            help_text.setWordWrap(True)
            box.addWidget(help_text)
        box.addWidget(self.editor)
        box.addWidget(self.error)
        self._show(initial)

    def text(self) -> str:
        if isinstance(self.editor, CheckBox):
            return "true" if self.editor.isChecked() else "false"
        return self.editor.text() if isinstance(self.editor, QLineEdit) \
            else self.editor.toPlainText()

    def value(self) -> Any:
        """The typed value, or EMPTY for an empty optional field; ValueError says why not."""
        if isinstance(self.editor, CheckBox):
            return self.editor.isChecked()
        return parse(self.spec, self.text())

    def reset(self) -> None:
        self._show(self.spec.default)

    def _show(self, value: Any) -> None:
        if isinstance(self.editor, CheckBox):
            self.editor.setChecked(value is True)
        elif isinstance(self.editor, QLineEdit):
            self.editor.setText(as_text(self.spec.type, value))
        else:
            self.editor.setPlainText(as_text(self.spec.type, value))
        self._changed()  # a check box set to what it shows emits nothing

    def _changed(self) -> None:
        if isinstance(self.editor, CheckBox):
            self.editor.setText(self.text())  # says what is sent, as JSON would
        try:
            self.value()
            problem = ""
        except ValueError as e:
            problem = str(e)
        self.error.setText(problem)
        self.error.setVisible(bool(problem))
        if problem != self.problem or self.editor.property("invalid") is None:
            self.editor.setProperty("invalid", bool(problem))
            self.editor.style().unpolish(self.editor)
            self.editor.style().polish(self.editor)
        self.problem = problem
        if self.reset_button is not None:
            self.reset_button.setEnabled(self.text() != self.default_text)
        self.changed.emit()


class RunDialog(QDialog):
    """Asks for the workflow's inputs; `run_requested(values, test_run)` on Run, then closes.
    Open it with `open()`: `exec()` would nest an event loop inside the asyncio one."""

    run_requested = Signal(dict, bool)  # values, test run

    def __init__(self, inputs: Mapping[str, InputSpec], remembered: Mapping[str, Any], *,
                 test_run: bool = False, workflow_name: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Run {workflow_name}" if workflow_name else "Run workflow")
        heading = QLabel(f"Inputs for <b>{html.escape(workflow_name or 'this workflow')}</b>")
        heading.setStyleSheet("font-size: 12pt;")
        red = theme.PROBLEM.name()
        sub = QLabel(f"Fields marked <span style='color:{red}'>*</span> are required; an empty "
                     "optional field uses its default. Values are remembered for this file."
                     if inputs else "This workflow declares no inputs.")
        sub.setObjectName("help")
        theme.tone(sub, "help")
        sub.setWordWrap(True)

        self.fields: dict[str, InputField] = {}
        holder = QWidget()
        rows = QVBoxLayout(holder)
        rows.setContentsMargins(0, 4, 8, 4)  # the right margin keeps clear of the scroll bar
        rows.setSpacing(14)
        for name, spec in inputs.items():
            initial = remembered.get(name, EMPTY)
            if initial is EMPTY or not fits(spec, initial):
                initial = spec.default if _has_default(spec) else EMPTY
            field = self.fields[name] = InputField(name, spec, initial)
            field.changed.connect(self._update_run_button)
            if isinstance(field.editor, TextEdit) and not field.editor.multiline:
                field.editor.return_pressed.connect(self._run)  # Enter runs, as in a line edit
            rows.addWidget(field)
        rows.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(holder)
        scroll.setVisible(bool(inputs))

        self.test_run_box = CheckBox("Test run")
        self.test_run_box.setChecked(test_run)
        self.test_run_box.setToolTip(TEST_RUN_TIP)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        cancel = buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAutoDefault(False)  # Run stays the button Enter presses
        self.run_button: QPushButton = buttons.addButton(
            "Run", QDialogButtonBox.ButtonRole.AcceptRole)
        if resources.path("icons", "run.svg").is_file():  # icon() would fall back to another
            self.run_button.setIcon(resources.icon("run"))
        self.run_button.setDefault(True)
        look = theme.current()
        self.run_button.setStyleSheet(
            f"QPushButton:disabled {{ background: {look.raised.name()}; "
            f"border-color: {look.border.name()}; color: {look.text_dim.name()}; }}")
        buttons.accepted.connect(self._run)
        buttons.rejected.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.test_run_box)
        bottom.addStretch(1)
        bottom.addWidget(buttons)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 12)
        layout.setSpacing(8)
        layout.addWidget(heading)
        layout.addWidget(sub)
        layout.addWidget(scroll, 1)
        if not inputs:
            layout.addStretch(1)
        layout.addLayout(bottom)
        self.setMinimumWidth(400)
        self.resize(480, min(640, holder.sizeHint().height() + 150))
        self._update_run_button()
        for field in list(self.fields.values())[:1]:
            field.editor.setFocus()

    def values(self) -> dict[str, Any]:
        """Typed values of the valid fields; empty optional ones are left out (the engine
        applies their defaults)."""
        out: dict[str, Any] = {}
        for name, field in self.fields.items():
            try:
                value = field.value()
            except ValueError:
                continue
            if value is not EMPTY:
                out[name] = value
        return out

    def test_run(self) -> bool:
        return self.test_run_box.isChecked()

    def _update_run_button(self) -> None:
        self.run_button.setEnabled(not any(f.problem for f in self.fields.values()))

    def _run(self) -> None:
        if not self.run_button.isEnabled():
            return
        self.run_requested.emit(self.values(), self.test_run())
        self.accept()


# --- remembered per workflow file -------------------------------------------------------------

def _key(group: str, path: Path | None) -> str:
    if path is None:
        name = "untitled"
    else:
        try:
            name = str(path.resolve())
        except (OSError, RuntimeError):  # a symlink loop, an unreadable folder
            name = str(path.absolute())
    # fsencode: a path with bytes that are not UTF-8 still hashes (surrogateescape).
    return f"{group}/{hashlib.sha1(os.fsencode(name)).hexdigest()}"


def remembered_inputs(settings: QSettings, path: Path | None) -> dict[str, Any]:
    """The inputs last run for this workflow file; {} when none or unreadable."""
    text = settings.value(_key("run_inputs", path), "")
    if not isinstance(text, str) or not text:
        return {}
    try:
        value = bounded_json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def remember_inputs(settings: QSettings, path: Path | None, values: Mapping[str, Any]) -> None:
    kept: dict[str, Any] = {}
    for name, value in values.items():
        if _is_json(value):  # anything else could not come back anyway
            kept[str(name)] = value
    settings.setValue(_key("run_inputs", path), json.dumps(kept, allow_nan=False))


def remembered_test_run(settings: QSettings, path: Path | None) -> bool:
    value = settings.value(_key("run_test_run", path), False)
    return value is True or (isinstance(value, str) and value.lower() == "true")


def remember_test_run(settings: QSettings, path: Path | None, on: bool) -> None:
    settings.setValue(_key("run_test_run", path), "true" if on else "false")
