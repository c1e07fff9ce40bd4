"""The inspector's node page: a form for every installed node type, edits as undo
commands only, and widgets that follow undo/redo without being rebuilt."""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QTextCursor
from PySide6.QtWidgets import QAbstractItemView, QApplication, QLineEdit

from engine.workflow import file as workflow_file
from flowui.inspector.highlighter import DELIMITER
from flowui.inspector.workflow_form import WorkflowForm
from tests.flowui.inspector_harness import error_of, one, registry, spin_line
from tests.flowui.test_run_live import select

# A Qt warning (a bad tab order, a broken style) fails the test like an exception does.
pytestmark = [pytest.mark.qt_log_level_fail("WARNING"),
              pytest.mark.qt_log_ignore("propagateSizeHints")]  # the offscreen platform's




# --- forms for every type ---------------------------------------------------------------------


def test_every_installed_node_type_gets_a_form_without_changing_the_document(make):
    types = registry().type_ids()
    assert len(types) >= 20
    h = make([one(t, node_id=f"n{i}") for i, t in enumerate(types)])
    before = h.doc.snapshot()
    for i, type_id in enumerate(types):
        form = h.node(f"n{i}")
        cls = registry().get(type_id)
        assert form.node_id == f"n{i}" and form.cls is cls
        fields = set(cls.Config.model_json_schema().get("properties", {}))
        config_rows = {k for k, r in form.rows.items() if not r.port}
        assert config_rows == fields, type_id
        inputs, _ = h.doc.ports(None, f"n{i}")
        assert {k for k, r in form.rows.items() if r.port} == \
            {p.name for p in inputs if p.name not in fields}, type_id
        for r in form.rows.values():
            assert r.editor.isVisibleTo(form) and r.row.label.text()
    assert h.stack.count() == 0 and h.doc.snapshot() == before, "showing a form edited"


# --- strings, typing and undo -------------------------------------------------------------------


def test_typing_a_string_is_one_undo_step_and_undo_puts_the_text_back(make, qtbot):
    h = make([one("http.request")])
    form = h.node("n")
    editor = form.rows["url"].editor
    h.widget.activateWindow()
    editor.edit.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is editor.edit, timeout=2000)
    qtbot.keyClicks(editor.edit, "http://127.0.0.1/x")
    assert QApplication.focusWidget() is editor.edit, "typing lost the focus"
    assert editor.edit.textCursor().position() == len("http://127.0.0.1/x")
    assert h.config("n")["url"] == "http://127.0.0.1/x"
    assert h.stack.count() == 1, "every keystroke merges into one command"
    assert h.page is form and form.rows["url"].editor is editor, "the form was rebuilt"
    assert not form.rows["url"].reset.isHidden()
    h.stack.undo()
    assert "url" not in h.config("n")
    assert editor.edit.toPlainText() == "" and form.rows["url"].reset.isHidden()
    h.stack.redo()
    assert editor.edit.toPlainText() == "http://127.0.0.1/x"


def test_a_change_from_elsewhere_updates_the_widgets_in_place(make):
    h = make([one("http.request", {"url": "http://127.0.0.1/a"})])
    form = h.node("n")
    editor = form.rows["url"].editor
    h.editor.set_node_field(None, "n", "config.url", "http://127.0.0.1/b")
    h.editor.set_node_field(None, "n", "title", "Fetch")
    assert h.page is form and form.rows["url"].editor is editor
    assert editor.edit.toPlainText() == "http://127.0.0.1/b"
    assert form.title_edit.text() == "Fetch"


def test_title_edits_merge_and_empty_title_means_none(make, qtbot):
    h = make([one("debug.log")])
    form = h.node("n")
    qtbot.keyClicks(form.title_edit, "Print")
    assert h.doc.node(None, "n").title == "Print" and h.stack.count() == 1
    form.title_edit.selectAll()
    qtbot.keyClick(form.title_edit, Qt.Key.Key_Backspace)
    assert h.doc.node(None, "n").title is None
    h.stack.undo()
    assert form.title_edit.text() == ""
    assert h.doc.node(None, "n").title is None


def test_enter_adds_a_line_only_where_the_value_has_lines(make, qtbot):
    h = make([one("http.request", {"body": "x"}), one("llm.chat", {"system": "a\nb"},
                                                        node_id="c")])
    url = h.node("n").rows["url"].editor.edit
    qtbot.keyClicks(url, "http://127.0.0.1")
    qtbot.keyClick(url, Qt.Key.Key_Return)
    assert h.config("n")["url"] == "http://127.0.0.1"
    qtbot.keyClick(url, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert h.config("n")["url"] == "http://127.0.0.1\n"
    system = h.node("c").rows["system"].editor.edit
    system.moveCursor(QTextCursor.MoveOperation.End)
    qtbot.keyClick(system, Qt.Key.Key_Return)
    qtbot.keyClicks(system, "c")
    assert h.config("c")["system"] == "a\nb\nc"


def test_template_fields_are_highlighted_and_syntax_errors_shown_until_fixed(make, qtbot):
    h = make([one("http.request"), one("debug.log", node_id="log")])
    form = h.node("n")
    edit = form.rows["url"].editor.edit
    qtbot.keyClicks(edit, "{{ broken(")
    assert "Syntax error" in error_of(form, "url")
    assert h.config("n")["url"] == "{{ broken("  # pushed: the file may hold it
    formats = edit.document().firstBlock().layout().formats()
    assert any(f.start == 0 and f.length == 2 and f.format.foreground().color() ==
               DELIMITER.foreground().color() for f in formats), "{{ not highlighted"
    edit.selectAll()
    qtbot.keyClicks(edit, "{{ inputs.url }}/items")
    assert error_of(form, "url") == ""
    assert h.config("n")["url"] == "{{ inputs.url }}/items"
    # A full template (format: template) is checked as one, statements included.
    log = h.node("log")
    fmt = log.rows["format"].editor.edit
    qtbot.keyClicks(fmt, "{% if ports.message %}yes")
    assert "Syntax error" in error_of(log, "format")
    qtbot.keyClicks(fmt, "{% endif %}")
    assert error_of(log, "format") == ""
    assert h.config("log")["format"] == "{% if ports.message %}yes{% endif %}"
    colors = {f.format.foreground().color().name()
              for f in fmt.document().firstBlock().layout().formats()}
    assert QColor("#ffa657").name() in colors, "{% %} statements not highlighted"


def test_expression_fields_check_expression_syntax(make, qtbot):
    h = make([one("control.if")])
    form = h.node("n")
    assert error_of(form, "condition") == "Required"
    edit = form.rows["condition"].editor.edit
    qtbot.keyClicks(edit, "value >")
    assert "Syntax error" in error_of(form, "condition")
    qtbot.keyClicks(edit, " 3")
    assert error_of(form, "condition") == ""
    assert h.config("n")["condition"] == "value > 3"


# --- typed fields -------------------------------------------------------------------------------


def test_enum_combo_pushes_the_choice_and_follows_undo(make):
    h = make([one("debug.log")])
    form = h.node("n")
    enum = form.rows["level"].editor.typed
    assert enum.combo.currentText() == "info"  # the default, not set in the file
    enum.combo.setCurrentIndex(enum.values.index("error"))
    assert h.config("n")["level"] == "error"
    h.stack.undo()
    assert "level" not in h.config("n") and enum.combo.currentText() == "info"
    h.stack.redo()
    assert enum.combo.currentText() == "error"


def test_checkbox_pushes_a_boolean(make, qtbot):
    h = make([one("http.request")])
    form = h.node("n")
    check = form.rows["follow_redirects"].editor.typed.check
    assert not check.isChecked()
    qtbot.mouseClick(check, Qt.MouseButton.LeftButton)
    assert h.config("n")["follow_redirects"] is True
    h.stack.undo()
    assert not check.isChecked()


def test_number_fields_keep_to_the_schema_limits(make, qtbot):
    h = make([one("http.respond"), one("time.interval", node_id="t")])
    form = h.node("n")
    spin = form.rows["status"].editor.typed.spin
    assert (spin.minimum(), spin.maximum()) == (100, 599)
    line = spin_line(spin)
    line.selectAll()
    qtbot.keyClicks(line, "50")
    qtbot.keyClick(line, Qt.Key.Key_Return)
    assert h.config("n").get("status", 200) >= 100, "a value under the minimum got through"
    line.selectAll()
    qtbot.keyClicks(line, "404")
    qtbot.keyClick(line, Qt.Key.Key_Return)
    assert h.config("n")["status"] == 404 and h.stack.count() == 1
    spin.setValue(100)
    qtbot.keyClick(spin, Qt.Key.Key_Down)
    assert spin.value() == 100 and h.config("n")["status"] == 100
    # exclusiveMinimum: every_s must be > 0
    every = h.node("t").rows["every_s"].editor.typed.spin
    assert 0 < every.minimum() < 0.01
    every.setValue(2.5)
    assert h.config("t")["every_s"] == 2.5
    every.setValue(3)
    assert h.config("t")["every_s"] == 3 and isinstance(h.config("t")["every_s"], int)


def test_optional_number_has_a_not_set_position(make):
    h = make([one("transform.json_stringify", {"indent": 2})])
    editor = h.node("n").rows["indent"].editor.typed
    assert editor.spin.value() == 2
    editor.spin.setValue(editor.spin.minimum())
    assert editor.spin.text() == "not set"
    assert "indent" not in h.config("n")


def test_numeric_field_switched_to_an_expression_accepts_a_template(make, qtbot):
    h = make([one("time.delay")])
    form = h.node("n")
    switch = form.rows["seconds"].editor
    assert not switch.expression_mode
    qtbot.mouseClick(switch.toggle, Qt.MouseButton.LeftButton)
    assert switch.expression_mode and switch.text.isVisibleTo(form)
    assert h.stack.count() == 0, "switching alone changes nothing"
    qtbot.keyClicks(switch.text.edit, "{{ inputs.n }}")
    assert h.config("n")["seconds"] == "{{ inputs.n }}"
    assert error_of(form, "seconds") == "", "a template is checked after rendering"
    h.stack.undo()
    assert not switch.expression_mode and switch.typed.spin.value() == 1
    h.stack.redo()
    assert switch.expression_mode and switch.text.edit.toPlainText() == "{{ inputs.n }}"
    qtbot.mouseClick(switch.toggle, Qt.MouseButton.LeftButton)  # off: back to the default
    assert "seconds" not in h.config("n") and not switch.expression_mode


def test_a_template_in_a_typed_field_opens_in_expression_mode(make):
    h = make([one("http.request", {"timeout_s": "{{ inputs.t }}", "follow_redirects": "x"})])
    form = h.node("n")
    assert form.rows["timeout_s"].editor.expression_mode
    assert form.rows["timeout_s"].editor.text.edit.toPlainText() == "{{ inputs.t }}"
    assert error_of(form, "timeout_s") == ""
    # A plain value of the wrong type is shown as text with the Config's complaint.
    assert form.rows["follow_redirects"].editor.expression_mode
    assert "boolean" in error_of(form, "follow_redirects")


def test_schema_errors_are_shown_on_their_field(make):
    h = make([one("http.respond", {"status": 700, "nope": 1}), one("control.for_each",
                                                                     node_id="f")])
    form = h.node("n")
    assert "599" in error_of(form, "status")
    assert "nope" in form.config_note.text() and not form.config_note.isHidden()
    assert error_of(h.node("f"), "body") == "Required"


def test_reset_to_default_removes_the_key(make, qtbot):
    h = make([one("debug.log", {"level": "error"})])
    form = h.node("n")
    reset = form.rows["level"].reset
    assert not reset.isHidden()
    qtbot.mouseClick(reset, Qt.MouseButton.LeftButton)
    assert "level" not in h.config("n")
    assert reset.isHidden() and form.rows["level"].editor.typed.combo.currentText() == "info"
    h.stack.undo()
    assert h.config("n")["level"] == "error" and not reset.isHidden()


# --- tables and JSON ----------------------------------------------------------------------------


def edit_cell(qtbot: Any, table: Any, row: int, column: int, text: str) -> None:
    """Type into a cell the way a user does: open its editor, type, press Enter."""
    if table.state() != QAbstractItemView.State.EditingState or (
            table.currentRow(), table.currentColumn()) != (row, column):
        table.setCurrentCell(row, column)
        table.editItem(table.item(row, column))
    editors = [e for e in table.viewport().findChildren(QLineEdit) if e.isVisible()]
    assert len(editors) == 1, "no cell editor open"
    editor = editors[0]
    editor.selectAll()
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    QApplication.processEvents()  # the delegate commits and closes its editor queued


def test_object_table_rows_become_keys_and_values(make, qtbot):
    h = make([one("http.request"), one("http.respond", node_id="r")])
    form = h.node("n")
    table_editor = form.rows["headers"].editor.typed
    table = table_editor.table
    qtbot.mouseClick(table_editor.add_button, Qt.MouseButton.LeftButton)
    assert table.rowCount() == 1 and h.stack.count() == 0, "an empty row is not a header"
    edit_cell(qtbot, table, 0, 0, "X-Count")
    edit_cell(qtbot, table, 0, 1, "1")
    table_editor.add_row()
    edit_cell(qtbot, table, 1, 0, "X-Text")
    edit_cell(qtbot, table, 1, 1, "plain text")
    assert h.config("n")["headers"] == {"X-Count": 1, "X-Text": "plain text"}
    assert h.stack.count() == 1, "edits of one field merge"
    # A duplicate key is refused with a message; nothing is pushed.
    edit_cell(qtbot, table, 1, 0, "X-Count")
    assert "twice" in error_of(form, "headers")
    assert h.config("n")["headers"] == {"X-Count": 1, "X-Text": "plain text"}
    edit_cell(qtbot, table, 1, 0, "X-Other")
    assert error_of(form, "headers") == ""
    table.selectRow(0)
    qtbot.mouseClick(table_editor.remove_button, Qt.MouseButton.LeftButton)
    assert h.config("n")["headers"] == {"X-Other": "plain text"}
    qtbot.keyClicks(form.rows["url"].editor.edit, "http://127.0.0.1/")  # ends the merging
    table.selectRow(0)
    table_editor.remove_rows()
    assert "headers" not in h.config("n") and table.rowCount() == 0
    h.stack.undo()
    assert table_editor.rows() == [["X-Other", "plain text"]]
    h.stack.undo()
    h.stack.undo()
    assert table_editor.rows() == [] and h.config("n") == {}
    h.stack.redo()
    assert table_editor.rows() == [["X-Other", "plain text"]]
    # http.respond's headers are strings: "1" stays text.
    respond = h.node("r").rows["headers"].editor.typed
    respond.add_row()
    edit_cell(qtbot, respond.table, 0, 0, "Retry-After")
    edit_cell(qtbot, respond.table, 0, 1, "1")
    assert h.config("r")["headers"] == {"Retry-After": "1"}


def test_list_editor_adds_reorders_and_removes(make, qtbot):
    h = make([one("llm.chat")])
    form = h.node("n")
    lst = form.rows["messages"].editor.typed
    lst.add_row()
    edit_cell(qtbot, lst.table, 0, 0, '{"role": "user", "content": "hi"}')
    lst.add_row()
    edit_cell(qtbot, lst.table, 1, 0, '{"role": "assistant", "content": "yes"}')
    assert [m["role"] for m in h.config("n")["messages"]] == ["user", "assistant"]
    lst.table.selectRow(1)
    qtbot.mouseClick(lst.up_button, Qt.MouseButton.LeftButton)
    assert [m["role"] for m in h.config("n")["messages"]] == ["assistant", "user"]
    h.editor.set_node_field(None, "n", "title", "Chat")  # ends the merging
    lst.table.selectRow(0)
    lst.remove_rows()
    assert h.config("n")["messages"] == [{"role": "user", "content": "hi"}]
    h.stack.undo()
    assert len(lst.rows()) == 2 and '"assistant"' in lst.rows()[0][0]
    h.stack.undo()
    h.stack.undo()
    assert lst.rows() == [] and "messages" not in h.config("n")


def test_json_field_stores_json_templates_and_refuses_broken_json(make, qtbot):
    h = make([one("flow.constant")])
    form = h.node("n")
    editor = form.rows["value"].editor
    qtbot.keyClicks(editor.edit, '{"a": [1, 2]}')
    assert h.config("n")["value"] == {"a": [1, 2]}
    assert error_of(form, "value") == "" and h.stack.count() == 1
    editor.edit.selectAll()
    qtbot.keyClicks(editor.edit, "[1,")
    assert "Not valid JSON" in error_of(form, "value")
    assert h.config("n")["value"] == {"a": [1, 2]}, "broken JSON was pushed"
    editor.edit.selectAll()
    qtbot.keyClicks(editor.edit, "{{ inputs.items }}")
    assert h.config("n")["value"] == "{{ inputs.items }}"
    assert error_of(form, "value") == ""
    h.stack.undo()
    assert "value" not in h.config("n") and editor.edit.toPlainText() == ""


# --- inputs typed into the config ---------------------------------------------------------------


def test_input_ports_can_be_typed_into_the_config_and_grey_out_when_wired(make, qtbot):
    h = make([one("code.complexity"), one("flow.constant", {"value": "x = 1"}, node_id="c")])
    form = h.node("n")
    row = form.rows["code"]
    assert row.port and row.editor.isEnabled()
    assert error_of(form, "code").startswith("Required")
    qtbot.keyClicks(row.editor.edit, "def f(): pass")
    assert h.config("n")["code"] == "def f(): pass" and error_of(form, "code") == ""
    h.editor.connect_ports("c.value", "n.code")
    assert not row.editor.isEnabled() and "Wired from c.value" in row.row.help.text()
    h.stack.undo()
    assert row.editor.isEnabled()


# --- id and title -------------------------------------------------------------------------------


def test_rename_refuses_bad_or_taken_ids_and_wires_follow_a_good_one(make, qtbot):
    h = make([one("flow.constant", node_id="c"), one("debug.log", node_id="log")],
             wires=(("c.value", "log.message"),))
    form = h.node("log")
    for bad, why in (("1st", "starts with a letter"), ("c", "already called 'c'")):
        form.id_edit.selectAll()
        qtbot.keyClicks(form.id_edit, bad)
        qtbot.keyClick(form.id_edit, Qt.Key.Key_Return)
        assert why in form.id_row.error.text() and not form.id_row.error.isHidden()
        assert h.doc.has_node(None, "log") and h.stack.count() == 0
    qtbot.keyClick(form.id_edit, Qt.Key.Key_Escape)  # gives up: the real id is back
    assert form.id_edit.text() == "log" and form.id_row.error.isHidden()
    form.id_edit.selectAll()
    qtbot.keyClicks(form.id_edit, "printer")
    qtbot.keyClick(form.id_edit, Qt.Key.Key_Return)
    assert not h.doc.has_node(None, "log") and h.doc.has_node(None, "printer")
    assert [c.to for c in h.doc.connections(None)] == ["printer.message"]
    assert h.page is form and h.widget.current_node == "printer"
    assert form.id_row.error.isHidden()
    h.stack.undo()
    assert h.widget.current_node == "log" and form.id_edit.text() == "log"
    h.stack.redo()
    assert h.widget.current_node == "printer"


def test_a_node_of_an_unknown_type_keeps_its_config_editable_as_json(make, qtbot):
    h = make([one("acme.missing", {"size": 3})])
    form = h.node("n")
    assert form.cls is None and set(form.rows) == {"size"}
    edit = form.rows["size"].editor.edit
    assert edit.toPlainText() == "3"
    edit.selectAll()
    qtbot.keyClicks(edit, "[4]")
    assert h.config("n") == {"size": [4]}


def test_in_the_editor_window_a_rename_keeps_the_node_shown(window, qtbot, tmp_path):
    """The canvas drops its selection when the renamed node's item is replaced; the
    inspector still follows the node (and does not delete the page under Enter)."""
    path = tmp_path / "w.flow.json"
    workflow_file.save(workflow_file.from_data({
        "format": "flowui-workflow", "version": 1, "nodes": [
            one("flow.constant", {"value": 1}, node_id="c", position=[0, 0]),
            one("debug.log", node_id="log", position=[300, 0])],
        "connections": [{"from": "c.value", "to": "log.message"}]}), path)
    assert window.files.open_path(path)
    select(qtbot, window, ["log"])
    inspector = window.inspector
    form = inspector.page
    assert inspector.current_node == "log"
    form.id_edit.selectAll()
    qtbot.keyClicks(form.id_edit, "printer")
    qtbot.keyClick(form.id_edit, Qt.Key.Key_Return)
    QApplication.processEvents()
    assert window.doc.has_node(None, "printer") and inspector.current_node == "printer"
    assert inspector.page is form
    window.stack.undo()
    QApplication.processEvents()
    assert inspector.current_node == "log" and form.id_edit.text() == "log"
    select(qtbot, window, ["log"])
    window.editor.delete_selection()
    qtbot.waitUntil(lambda: isinstance(inspector.page, WorkflowForm), timeout=2000)


def test_a_page_replaced_from_inside_its_own_widgets_signal_survives(make, qtbot):
    """Whoever follows the stack may change the shown node while a field of the old
    page is still handling the key that pushed; its page must outlive that."""
    h = make([one("http.request"), one("debug.log", node_id="log")])
    form = h.node("n")
    h.stack.indexChanged.connect(lambda _: h.widget.show_node("log"))
    qtbot.keyClicks(form.rows["url"].editor.edit, "h")
    assert h.config("n") == {"url": "h"} and h.widget.current_node == "log"
    QApplication.processEvents()


def test_deleting_the_shown_node_shows_the_workflow(make, qtbot):
    h = make([one("debug.log")])
    h.node("n")
    h.editor.select(["n"])
    h.editor.delete_selection()
    qtbot.waitUntil(lambda: isinstance(h.page, WorkflowForm), timeout=2000)


# --- policies -----------------------------------------------------------------------------------


def test_policies_push_retry_timeout_on_error_and_disabled(make, qtbot):
    h = make([one("http.request")])
    form = h.node("n")
    p = form.policies
    assert p.attempts.value() == 1 and not p.backoff.isEnabled()
    p.attempts.setValue(3)
    retry = h.doc.node(None, "n").retry
    assert retry is not None and retry.max_attempts == 3 and retry.backoff == "exponential"
    assert p.backoff.isEnabled()
    p.backoff.setCurrentIndex(1)
    p.delay.setValue(0.5)
    p.jitter.setChecked(False)
    retry = h.doc.node(None, "n").retry
    assert (retry.backoff, retry.delay_s, retry.jitter) == ("fixed", 0.5, False)
    p.attempts.setValue(1)
    assert h.doc.node(None, "n").retry is None and not p.delay.isEnabled()
    h.stack.undo()
    assert p.attempts.value() == 3 and p.delay.isEnabled()
    steps = h.stack.index()
    line = spin_line(p.attempts)
    line.selectAll()
    qtbot.keyClicks(line, "12")
    qtbot.keyClick(line, Qt.Key.Key_Return)
    assert h.doc.node(None, "n").retry.max_attempts == 12
    assert h.stack.index() == steps + 1, "one step per value typed, not one per digit"
    h.stack.undo()
    qtbot.mouseClick(p.timeout_on, Qt.MouseButton.LeftButton)
    assert h.doc.node(None, "n").timeout_s == 30
    p.timeout.setValue(12.5)
    assert h.doc.node(None, "n").timeout_s == 12.5
    p.timeout_on.setChecked(False)
    assert h.doc.node(None, "n").timeout_s is None and not p.timeout.isEnabled()
    h.stack.undo()
    assert p.timeout_on.isChecked() and p.timeout.value() == 12.5
    p.on_error.setCurrentIndex(p.on_error_values.index("continue"))
    assert h.doc.node(None, "n").on_error == "continue"
    p.on_error.setCurrentIndex(0)
    assert h.doc.node(None, "n").on_error is None
    h.stack.undo()
    assert p.on_error.currentIndex() == p.on_error_values.index("continue")
    qtbot.mouseClick(p.disabled, Qt.MouseButton.LeftButton)
    assert h.doc.node(None, "n").disabled is True
    h.stack.undo()
    assert not p.disabled.isChecked() and h.doc.node(None, "n").disabled is False


def test_a_type_with_a_default_retry_policy_shows_it_and_can_turn_it_off(make, qtbot):
    default = registry().get("llm.chat").default_retry
    assert default is not None and default.max_attempts > 1
    h = make([one("llm.chat")])
    p = h.node("n").policies
    assert p.attempts.value() == default.max_attempts and p.retry_reset.isHidden()
    p.attempts.setValue(1)  # off: stored explicitly, or the type's default would apply
    assert h.doc.node(None, "n").retry is not None and h.doc.node(None, "n").retry.max_attempts == 1
    assert not p.retry_reset.isHidden()
    qtbot.mouseClick(p.retry_reset, Qt.MouseButton.LeftButton)
    assert h.doc.node(None, "n").retry is None and p.attempts.value() == default.max_attempts
    p.attempts.setValue(default.max_attempts + 1)
    assert h.doc.node(None, "n").retry.max_attempts == default.max_attempts + 1
    p.attempts.setValue(default.max_attempts)  # the default again: nothing of its own
    assert h.doc.node(None, "n").retry is None and p.retry_reset.isHidden()
