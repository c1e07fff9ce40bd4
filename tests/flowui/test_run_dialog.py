"""The run dialog, built from a workflow's input declarations: editors by type, defaults,
required fields, values read as `flowcli run --input` reads them, and the values
remembered per workflow file."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QCheckBox, QDialog, QLabel, QLineEdit, QPlainTextEdit

from engine.workflow.model import InputSpec
from flowui.run.run_dialog import (
    RunDialog,
    remember_inputs,
    remember_test_run,
    remembered_inputs,
    remembered_test_run,
)

INPUTS = {
    "name": InputSpec(type="string", default="Ada", description="Who to greet"),
    "count": InputSpec(type="integer", default=3),
    "ratio": InputSpec(type="number", required=False),
    "loud": InputSpec(type="boolean", default=True),
    "options": InputSpec(type="object", default={"a": 1}),
    "items": InputSpec(type="array"),
    "anything": InputSpec(type="any", required=False),
}


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


def dialog(qtbot: Any, remembered: dict[str, Any] | None = None,
           inputs: dict[str, InputSpec] | None = None, **kwargs: Any) -> RunDialog:
    d = RunDialog(inputs or INPUTS, remembered or {}, workflow_name="Greeter", **kwargs)
    qtbot.addWidget(d)
    return d


def type_into(d: RunDialog, name: str, text: str) -> None:
    editor = d.fields[name].editor
    if isinstance(editor, QPlainTextEdit):
        editor.setPlainText(text)
    else:
        assert isinstance(editor, QLineEdit)
        editor.setText(text)


def shown_error(d: RunDialog, name: str) -> str:
    error = d.fields[name].error
    return error.text() if not error.isHidden() else ""


def test_each_type_gets_its_editor_and_its_default(qtbot):
    d = dialog(qtbot)
    kinds = {name: type(f.editor) for name, f in d.fields.items()}
    assert {n: issubclass(k, QPlainTextEdit) for n, k in kinds.items()
            if n in ("options", "items", "anything")} == dict.fromkeys(
        ("options", "items", "anything"), True)
    assert kinds["name"] is kinds["count"] is kinds["ratio"] is QLineEdit
    assert issubclass(kinds["loud"], QCheckBox) and d.fields["loud"].editor.isChecked()
    assert d.windowTitle() == "Run Greeter"
    assert [d.fields[n].text() for n in ("name", "count", "ratio", "options", "items")] == [
        "Ada", "3", "", '{"a": 1}', ""]
    labels = [w.text() for w in d.fields["name"].findChildren(QLabel)]
    assert "Who to greet" in labels and any("<b>name</b>" in t for t in labels)
    assert any("*" in t for t in (w.text() for w in d.fields["items"].findChildren(QLabel)))
    assert not any("*" in t for t in labels)  # name has a default: optional
    assert d.fields["count"].reset_button is not None and d.fields["items"].reset_button is None
    assert d.run_button.text() == "Run" and d.run_button.isDefault()
    assert not d.run_button.icon().isNull()


def test_a_string_with_several_lines_gets_a_multi_line_editor(qtbot):
    inputs = {"one": InputSpec(type="string"), "poem": InputSpec(type="string", default="a\nb"),
              "note": InputSpec(type="string", required=False)}
    d = dialog(qtbot, {"note": "first\nsecond"}, inputs)
    assert type(d.fields["one"].editor) is QLineEdit
    assert isinstance(d.fields["poem"].editor, QPlainTextEdit)
    assert isinstance(d.fields["note"].editor, QPlainTextEdit)
    assert d.values() == {"poem": "a\nb", "note": "first\nsecond"}  # "one" is missing


def test_a_required_field_left_empty_disables_run_and_says_so(qtbot):
    d = dialog(qtbot)
    assert not d.run_button.isEnabled()  # items is required and has no default
    assert shown_error(d, "items") == "Required: enter a value"
    assert d.fields["items"].editor.property("invalid") is True
    type_into(d, "items", "[1, 2]")
    assert d.run_button.isEnabled() and shown_error(d, "items") == ""
    assert d.fields["items"].editor.property("invalid") is False
    type_into(d, "name", "")  # optional: empty means "the default"
    assert d.run_button.isEnabled() and "name" not in d.values()


@pytest.mark.parametrize("name,text,message", [
    ("count", "3.5", "'3.5' is not a whole number"),
    ("count", "three", "'three' is not a whole number"),
    ("count", '"3"', "'\"3\"' is not a whole number"),
    ("count", "true", "'true' is not a whole number"),
    ("ratio", "fast", "'fast' is not a number"),
    ("ratio", "NaN", "Must be a finite number (JSON has no NaN or infinity)"),
    ("ratio", "1e999", "Must be a finite number (JSON has no NaN or infinity)"),
    ("options", "[1]", 'Must be a JSON object, e.g. {"key": "value"}'),
    ("items", "{}", "Must be a JSON array, e.g. [1, 2, 3]"),
    ("options", "{oops", "Not valid JSON: Expecting property name enclosed in double quotes "
                         "(line 1, column 2)"),
])
def test_bad_values_are_refused_with_a_message(qtbot, name, text, message):
    d = dialog(qtbot)
    type_into(d, "items", "[]")
    assert d.run_button.isEnabled()
    type_into(d, name, text)
    assert shown_error(d, name) == message
    assert d.fields[name].editor.property("invalid") is True
    assert not d.run_button.isEnabled()
    assert name not in d.values()


def test_values_are_typed_and_empty_optional_fields_are_left_out(qtbot):
    d = dialog(qtbot)
    type_into(d, "items", '["x", 2]')
    d.fields["loud"].editor.setChecked(False)
    assert d.values() == {"name": "Ada", "count": 3, "loud": False, "options": {"a": 1},
                          "items": ["x", 2]}  # ratio and anything are empty and optional
    for text, value in [("12345678901234567890123", 12345678901234567890123), (" -4 ", -4)]:
        type_into(d, "count", text)
        assert d.values()["count"] == value
    for text, value in [("3", 3), ("0.5", 0.5), ("-2e3", -2000.0)]:
        type_into(d, "ratio", text)
        assert d.values()["ratio"] == value and type(d.values()["ratio"]) is type(value)
    # `any` takes JSON when it parses and the text itself when it does not, as --input does.
    for text, value in [("plain words", "plain words"), ("42", 42), ('{"k": [1]}', {"k": [1]}),
                        ('"42"', "42"), ("Infinity and beyond", "Infinity and beyond")]:
        type_into(d, "anything", text)
        assert d.values()["anything"] == value
    type_into(d, "anything", "NaN")
    assert "anything" not in d.values() and not d.run_button.isEnabled()


def test_run_emits_values_and_test_run_then_closes(qtbot):
    d = dialog(qtbot, test_run=True)
    d.open()
    assert d.test_run()
    type_into(d, "items", "[7]")
    d.test_run_box.setChecked(False)
    with qtbot.waitSignal(d.run_requested) as blocker:
        d.run_button.click()
    assert blocker.args == [d.values(), False] and blocker.args[0]["items"] == [7]
    assert not d.isVisible() and d.result() == QDialog.DialogCode.Accepted


def test_cancel_closes_without_running(qtbot):
    d = dialog(qtbot, {"items": [1]})
    d.open()
    got: list[Any] = []
    d.run_requested.connect(lambda *args: got.append(args))
    d.reject()
    assert got == [] and not d.isVisible() and d.result() == QDialog.DialogCode.Rejected


def test_reset_to_default_puts_the_default_back(qtbot):
    d = dialog(qtbot, {"count": 9, "options": {"b": 2}, "loud": False})
    field = d.fields["count"]
    assert field.text() == "9" and field.reset_button is not None
    assert field.reset_button.isEnabled()
    field.reset_button.click()
    assert field.text() == "3" and not field.reset_button.isEnabled()
    d.fields["options"].reset()
    d.fields["loud"].reset()
    assert d.values()["options"] == {"a": 1} and d.values()["loud"] is True


def test_remembered_values_come_back_per_file_and_ill_fitting_ones_fall_back(
        qtbot, settings, tmp_path):
    a, b = tmp_path / "a.flow.json", tmp_path / "b.flow.json"
    remember_inputs(settings, a, {"name": "Grace", "count": "seven", "items": [9],
                                  "options": [1], "loud": False})
    remember_test_run(settings, a, True)
    assert remembered_inputs(settings, b) == {} and not remembered_test_run(settings, b)
    assert remembered_inputs(settings, tmp_path / "." / "a.flow.json")["name"] == "Grace"
    d = dialog(qtbot, remembered_inputs(settings, a), test_run=remembered_test_run(settings, a))
    assert d.values() == {"name": "Grace", "count": 3, "items": [9], "options": {"a": 1},
                          "loud": False}  # count and options no longer fit: their defaults
    assert d.test_run()
    remember_test_run(settings, a, False)
    assert not remembered_test_run(settings, a)


def test_keys_are_hashed_and_unsaved_workflows_share_untitled(settings, tmp_path):
    odd = tmp_path / "we[ir]d =; #name\\ü.flow.json"
    remember_inputs(settings, odd, {"x": "y"})
    remember_inputs(settings, None, {"ok": 1, "bad": object(), "nan": math.nan})
    assert remembered_inputs(settings, odd) == {"x": "y"}
    assert remembered_inputs(settings, None) == {"ok": 1}  # what JSON cannot hold is skipped
    settings.sync()
    reread = QSettings(settings.fileName(), QSettings.Format.IniFormat)
    assert remembered_inputs(reread, odd) == {"x": "y"}
    keys = reread.allKeys()
    assert len(keys) == 2 and all(k.startswith("run_inputs/") and len(k) == 51 for k in keys)


@pytest.mark.parametrize("stored", ["{not json", "[1, 2]", "", "null", ["a", "b"], 5])
def test_a_corrupt_stored_entry_gives_nothing(settings, tmp_path, stored):
    path = tmp_path / "a.flow.json"
    remember_inputs(settings, path, {"x": 1})
    remember_test_run(settings, path, True)
    for key in settings.allKeys():
        settings.setValue(key, stored)
    assert remembered_inputs(settings, path) == {}
    assert remembered_test_run(settings, path) is False


def test_enter_in_a_field_runs_unless_a_field_is_invalid(qtbot):
    d = dialog(qtbot, {"items": [1]})
    d.open()
    got: list[Any] = []
    d.run_requested.connect(lambda values, test: got.append(values))
    type_into(d, "count", "x")
    qtbot.keyClick(d.fields["count"].editor, Qt.Key.Key_Return)
    assert got == [] and d.isVisible()
    type_into(d, "count", "4")
    qtbot.keyClick(d.fields["anything"].editor, Qt.Key.Key_Return)  # a one-line JSON field
    assert got == [d.values()] and got[0]["count"] == 4 and not d.isVisible()
