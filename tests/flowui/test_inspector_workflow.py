"""The inspector's workflow page (inputs, settings), plugin configs of every shape,
keyboard order, and how the pages look."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from pydantic import BaseModel, Field
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from engine import Node, NodeConfig, Port
from engine.core.registry import Registry
from engine.workflow import file as workflow_file
from flowui.canvas.scene import GraphScene
from flowui.document import WorkflowDocument
from flowui.editor import Editor
from flowui.inspector import InspectorWidget
from flowui.inspector.workflow_form import WorkflowForm
from tests.flowui.inspector_harness import error_of, one

# A Qt warning (a bad tab order, a broken style) fails the test like an exception does.
pytestmark = [pytest.mark.qt_log_level_fail("WARNING"),
              pytest.mark.qt_log_ignore("propagateSizeHints")]  # the offscreen platform's




# --- the workflow panel -------------------------------------------------------------------------


def test_workflow_inputs_add_edit_validate_and_remove(make, qtbot):
    h = make([], inputs={"url": {"type": "string", "default": "http://127.0.0.1"}})
    page = h.page
    assert isinstance(page, WorkflowForm) and len(page.cards) == 1
    assert page.cards[0].default.text() == "http://127.0.0.1"
    qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    assert list(h.doc.workflow.inputs) == ["url", "input"]
    card = page.cards[1]
    card.name.selectAll()
    qtbot.keyClicks(card.name, "count")
    qtbot.keyClick(card.name, Qt.Key.Key_Return)
    assert list(h.doc.workflow.inputs) == ["url", "count"]
    card.type.setCurrentIndex(card.type.findText("integer"))
    assert h.doc.workflow.inputs["count"].type == "integer"
    qtbot.keyClicks(card.default, "many")
    qtbot.keyClick(card.default, Qt.Key.Key_Return)
    assert "not a valid integer" in card.error.text() and not card.error.isHidden()
    assert "default" not in h.doc.workflow.inputs["count"].model_fields_set
    card.default.selectAll()
    qtbot.keyClicks(card.default, "5")
    qtbot.keyClick(card.default, Qt.Key.Key_Return)
    assert h.doc.workflow.inputs["count"].default == 5 and card.error.isHidden()
    card.required.setCurrentIndex(1)
    assert h.doc.workflow.inputs["count"].required is True
    qtbot.keyClicks(card.description, "How many")
    qtbot.keyClick(card.description, Qt.Key.Key_Return)
    assert h.doc.workflow.inputs["count"].description == "How many"
    card.name.selectAll()
    qtbot.keyClicks(card.name, "url")
    qtbot.keyClick(card.name, Qt.Key.Key_Return)
    assert "already called 'url'" in card.error.text()
    card.name.selectAll()
    qtbot.keyClicks(card.name, "a b")
    qtbot.keyClick(card.name, Qt.Key.Key_Return)
    assert "not a valid name" in card.error.text()
    assert list(h.doc.workflow.inputs) == ["url", "count"]
    card.name.selectAll()
    qtbot.keyClicks(card.name, "count")
    qtbot.keyClick(card.name, Qt.Key.Key_Return)
    qtbot.mouseClick(page.cards[0].remove, Qt.MouseButton.LeftButton)
    assert list(h.doc.workflow.inputs) == ["count"]
    h.stack.undo()
    assert [c.name.text() for c in page.cards] == ["url", "count"]
    h.stack.undo()  # description
    assert page.cards[1].description.text() == ""
    h.stack.redo()
    h.stack.redo()
    assert [c.name.text() for c in page.cards] == ["count"]
    assert page.cards[0].description.text() == "How many"


def test_workflow_settings_name_and_description(make, qtbot):
    h = make([], name="Old")
    page = h.page
    page.spins["max_parallel"].setValue(3)
    page.on_error.setCurrentIndex(page.on_error_values.index("continue"))
    qtbot.mouseClick(page.timeout_on, Qt.MouseButton.LeftButton)
    s = h.doc.workflow.settings
    assert (s.max_parallel, s.on_error, s.timeout_s) == (3, "continue", 600)
    h.stack.undo()  # settings edits merge into one step
    assert page.spins["max_parallel"].value() == 8 and not page.timeout_on.isChecked()
    assert page.on_error.currentIndex() == 0
    h.stack.redo()
    assert page.spins["max_parallel"].value() == 3 and page.timeout.isEnabled()
    page.name.selectAll()
    qtbot.keyClicks(page.name, "Nightly")
    qtbot.keyClick(page.name, Qt.Key.Key_Return)
    assert h.doc.workflow.name == "Nightly"
    h.widget.activateWindow()
    page.description.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is page.description, timeout=2000)
    qtbot.keyClicks(page.description, "Runs every night")
    assert h.doc.workflow.description == "", "pushed before the field was left"
    page.name.setFocus()  # leaving the description commits it, as one undo step
    qtbot.waitUntil(lambda: h.doc.workflow.description == "Runs every night", timeout=2000)
    h.stack.undo()
    assert page.description.toPlainText() == "" and page.name.text() == "Nightly"
    h.stack.undo()
    assert page.name.text() == "Old"
    # Text typed without Enter is kept when another page replaces this one.
    page.name.selectAll()
    qtbot.keyClicks(page.name, "Weekly")
    h.widget.show_node(None, force=True)
    assert h.doc.workflow.name == "Weekly"
    # ...but not into a document opened meanwhile: there it would be someone else's.
    h.page.name.selectAll()
    qtbot.keyClicks(h.page.name, "Stale")
    h.doc.load(workflow_file.from_data({"format": "flowui-workflow", "version": 1,
                                        "name": "Opened"}), None)
    assert h.doc.workflow.name == "Opened" and h.page.name.text() == "Opened"


def test_a_field_left_after_its_node_was_deleted_pushes_nothing(make, qtbot):
    h = make([one("http.request")])
    form = h.node("n")
    h.widget.activateWindow()
    form.id_edit.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is form.id_edit, timeout=2000)
    qtbot.keyClicks(form.id_edit, "_renamed")
    h.editor.select(["n"])
    h.editor.delete_selection()  # e.g. Delete pressed on the canvas
    form.title_edit.setFocus()  # the id field loses focus with a valid new id in it
    assert QApplication.focusWidget() is form.title_edit
    assert h.stack.count() == 1 and not h.doc.has_node(None, "n_renamed")
    qtbot.waitUntil(lambda: isinstance(h.page, WorkflowForm), timeout=2000)


def test_ports_that_follow_the_config_rebuild_the_inputs_section(make, qtbot):
    h = make([one("flow.subworkflow")], subgraphs={"body": {
        "inputs": {"limit": {"type": "integer"}},
        "nodes": [{"id": "i", "type": "flow.input", "config": {"name": "limit"}}]}})
    form = h.node("n")
    assert not any(r.port for r in form.rows.values()) and form.ports_title.isHidden()
    assert "Say what to run" in form.config_note.text()
    qtbot.keyClicks(form.rows["subgraph"].editor.edit, "body")
    limit = form.rows["limit"]
    assert limit.port and not form.ports_title.isHidden() and form.config_note.isHidden()
    limit.editor.typed.spin.setValue(7)
    assert h.config("n") == {"subgraph": "body", "limit": 7}
    h.stack.undo()
    h.stack.undo()
    assert "limit" not in form.rows and form.ports_title.isHidden()


class Mode(StrEnum):
    FAST = "fast"
    FULL = "full"


class Auth(BaseModel):
    user: str = ""


class Everything(Node):
    """A plugin type using every shape of field a Config can have."""

    type = "test.everything"
    title = "Everything"
    category = "Tests"
    inputs = (Port("flag", "boolean", required=False), Port("items", "array"))

    class Config(NodeConfig):
        mode: Mode = Field(Mode.FAST, description="An Enum class: a $ref in the schema")
        level: Literal[1, 2, 3] = 2
        ratio: float = Field(0.5, gt=0, lt=1)
        limit: int | None = Field(None, ge=1)
        tags: list[str] = Field(default_factory=list)
        counts: dict[str, int] = Field(default_factory=dict)
        auth: Auth | None = None
        strict: bool | None = None
        anything: Any = None


def test_a_plugin_config_with_every_shape_of_field(qtbot):
    from flowui.inspector import schema
    fields = {f.name: f for f in schema.config_fields(Everything.Config.model_json_schema())}
    assert {k: f.kind for k, f in fields.items()} == {
        "mode": "enum", "level": "enum", "ratio": "number", "limit": "integer",
        "tags": "array", "counts": "object", "auth": "object", "strict": "enum",
        "anything": "any"}
    assert fields["mode"].choices == ("fast", "full") and fields["level"].choices == (1, 2, 3)
    assert fields["ratio"].exclusive_minimum and fields["ratio"].exclusive_maximum
    assert fields["limit"].nullable and fields["limit"].minimum == 1
    assert fields["tags"].item.kind == "string" and fields["counts"].item.kind == "integer"
    assert fields["strict"].choices == (True, False) and fields["strict"].nullable
    wf = workflow_file.from_data({"format": "flowui-workflow", "version": 1, "nodes": [
        {"id": "e", "type": "test.everything", "config": {}}]})
    doc = WorkflowDocument(Registry([Everything]), wf)
    widget = InspectorWidget(Editor(doc, GraphScene(doc)))
    qtbot.addWidget(widget)
    widget.show_node("e")
    form = widget.page
    assert set(form.rows) == {*fields, "flag", "items"}
    form.rows["level"].editor.typed.combo.setCurrentIndex(2)
    assert doc.node(None, "e").config["level"] == 3
    ratio = form.rows["ratio"].editor.typed.spin
    assert ratio.minimum() > 0 and ratio.maximum() < 1
    tags = form.rows["tags"].editor.typed
    tags.add_row()
    tags.table.item(0, 0).setText("42")
    assert doc.node(None, "e").config["tags"] == ["42"], "string items stay strings"
    counts = form.rows["counts"].editor.typed
    counts.add_row()
    counts.table.item(0, 0).setText("a")
    counts.table.item(0, 1).setText("x")
    assert error_of(form, "counts").startswith("a: "), "the Config's complaint, on the field"
    counts.table.item(0, 1).setText("3")
    assert doc.node(None, "e").config["counts"] == {"a": 3} and error_of(form, "counts") == ""
    strict = form.rows["strict"].editor.typed
    assert strict.combo.currentText() == "(default)"
    strict.combo.setCurrentIndex(2)
    assert doc.node(None, "e").config["strict"] is False
    flag = form.rows["flag"].editor.typed  # a boolean input port: not set / true / false
    flag.combo.setCurrentIndex(1)
    assert doc.node(None, "e").config["flag"] is True
    assert error_of(form, "items").startswith("Required")
    form.rows["items"].editor.typed.add_row()
    form.rows["items"].editor.typed.table.item(0, 0).setText("1")
    assert doc.node(None, "e").config["items"] == [1] and error_of(form, "items") == ""


# --- keyboard ---------------------------------------------------------------------------------


def tab_walk(qtbot: Any, widget: Any, start: Any, steps: int) -> list[Any]:
    widget.activateWindow()
    start.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is start, timeout=2000)
    seen = [start]
    for _ in range(steps):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        seen.append(QApplication.focusWidget())
    return seen


def owner(widget: Any, candidates: list[Any]) -> Any:
    """Which candidate the focused widget is, or is inside (a spin box's line edit)."""
    return next((c for c in candidates if widget is c or c.isAncestorOf(widget)), None)


def test_tab_walks_the_node_page_top_to_bottom(make, qtbot):
    h = make([one("debug.log")])
    form = h.node("n")
    p = form.policies
    expected = [form.id_edit, form.title_edit, form.rows["level"].editor.typed.combo,
                form.rows["format"].editor.edit, form.rows["message"].editor.edit,
                p.attempts, p.timeout_on, p.on_error, p.disabled]
    walked = [owner(w, expected) for w in tab_walk(qtbot, h.widget, form.id_edit, 12)]
    assert [w for i, w in enumerate(walked) if w is not None and w not in walked[:i]] \
        == expected


def test_tab_walks_a_new_input_card_before_the_settings(make, qtbot):
    h = make([], inputs={"a": {"type": "string"}})
    page = h.page
    page.add_input()
    card = page.cards[1]
    expected = [card.name, card.type, card.default, card.required, card.description,
                page.add_button, page.on_error]
    walked = [owner(w, expected) for w in tab_walk(qtbot, h.widget, card.name, 6)]
    assert walked == expected


# --- how it looks -------------------------------------------------------------------------------


def test_render_node_and_workflow_pages(make, tmp_path):
    """Renders both pages at panel size (FLOWUI_SCREENSHOTS=/tmp keeps them to look at)."""
    out = Path(os.environ.get("FLOWUI_SCREENSHOTS") or tmp_path)
    h = make([one("flow.constant", {"value": {"id": 7}}, node_id="c"),
              one("debug.log", {"level": "warning", "format": "got {{ ports.message.id }}"},
                  node_id="log", title="Print id")],
             wires=(("c.value", "log.message"),), name="Demo",
             description="Fetch a record and log its id",
             inputs={"url": {"type": "string", "default": "http://127.0.0.1:8080",
                             "description": "Where to fetch"},
                     "limit": {"type": "integer", "required": False}})
    for node_id, name in (("log", "inspector_node.png"), (None, "inspector_workflow.png")):
        h.widget.show_node(node_id)
        QApplication.processEvents()
        assert h.page.minimumSizeHint().width() <= h.widget.scroll_area.viewport().width(), \
            "the page is wider than the panel: it would be cut off"
        image = h.widget.grab().toImage()
        assert (image.width(), image.height()) == (360, 800)
        assert len({image.pixel(x, y) for x in range(0, 360, 7) for y in range(0, 800, 7)}) > 20
        assert image.save(str(out / name))
