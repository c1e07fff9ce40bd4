"""Validation while editing: it follows every change (undo and redo included), puts each
problem's badge on its node in whichever graph is shown, counts every problem in the
status bar, and checks again only what an edit touched."""

from __future__ import annotations

from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QMessageBox

from engine.errors import Problem
from engine.workflow import file as workflow_file
from flowui import resources

# A problem in the body (its json_parse input is unwired) and a node of the same id in
# the workflow that has none: a badge must land in the right graph.
FLOW = {
    "format": "flowui-workflow", "version": 1,
    "nodes": [
        {"id": "items", "type": "flow.constant", "position": [0, 0], "config": {"value": [1]}},
        {"id": "each", "type": "control.for_each", "position": [300, 0],
         "config": {"body": "each_body"}},
        {"id": "parse", "type": "debug.log", "position": [600, 0]},
    ],
    "connections": [{"from": "items.value", "to": "each.items"},
                    {"from": "each.results", "to": "parse.message"}],
    "subgraphs": {"each_body": {
        "nodes": [{"id": "item", "type": "flow.input", "config": {"name": "item"}},
                  {"id": "parse", "type": "transform.json_parse", "position": [300, 0]},
                  {"id": "result", "type": "flow.output", "position": [600, 0],
                   "config": {"name": "result"}}],
        "connections": [{"from": "parse.parsed", "to": "result.value"}]}},
}


def open_flow(window, tmp_path, data=FLOW):
    path = tmp_path / "v.flow.json"
    workflow_file.save(workflow_file.from_data(data), path)
    assert window.files.open_path(path, ask=False)


def test_badges_land_on_their_node_whichever_graph_is_shown(window, tmp_path, monkeypatch):
    open_flow(window, tmp_path)
    problems = window.validation.validate_now()
    assert [(p.graph, p.local_id) for p in problems if p.node_id] == [("each_body", "parse")]
    assert not window.scene.nodes["parse"].problems  # the workflow's parse is fine
    label = window.validation.label
    assert "1 problem" in label.text() and "each_body/parse" in label.toolTip()
    calls = []
    monkeypatch.setattr(window.validation.live, "problems", lambda: calls.append(1) or [])
    window.editor.show_graph("each_body")
    badge = window.scene.nodes["parse"].problems
    assert badge and "json" in badge[0], "no badge on the body's node"
    assert "json" in window.scene.nodes["parse"].toolTip()
    assert not window.scene.nodes["item"].problems
    window.editor.show_graph(None)
    assert not window.scene.nodes["parse"].problems
    assert calls == [], "switching graphs needs no new validation"


def test_deleting_a_subgraph_and_undoing_updates_badges_after_the_pause(window, qtbot, tmp_path):
    example = resources.examples_dir() / "for_each.flow.json"
    assert window.files.open_path(example, ask=False)
    assert window.validation.validate_now() == []
    window.editor.show_graph("square")
    window.answers = [QMessageBox.StandardButton.Yes]  # "it is the body of each: delete?"
    window.actions_by_name["delete_subgraph"].trigger()
    assert window.editor.current_graph is None
    label = window.validation.label
    qtbot.waitUntil(lambda: bool(window.scene.nodes["each"].problems), timeout=3000)
    assert "1 problem" in label.text() and "square" in label.toolTip()
    window.stack.undo()
    qtbot.waitUntil(lambda: not window.scene.nodes["each"].problems, timeout=3000)
    assert "valid" in label.text() and label.toolTip() == ""
    window.stack.redo()
    qtbot.waitUntil(lambda: bool(window.scene.nodes["each"].problems), timeout=3000)


def test_only_what_an_edit_touched_is_checked_again(window, qtbot, tmp_path):
    open_flow(window, tmp_path)
    live = window.validation.live
    assert [p.local_id for p in window.validation.validate_now() if p.node_id] == ["parse"]
    checked: list[tuple[str, str]] = []
    fill = live.checker.fill

    def counting(result, graph):
        checked.append((graph.name or "?", result.spec.id))
        fill(result, graph)

    live.checker.fill = counting
    window.editor.set_node_field(None, "parse", "title", "Log it")
    window.validation.validate_now()
    # the node, and the one beside it whose type has rules of its own (it may look at
    # its neighbours: two webhooks on one path...): not the workflow's other nodes
    assert sorted(checked) == [("?", "each"), ("?", "parse")]
    checked.clear()
    window.editor.show_graph("each_body")
    window.editor.add_node("flow.constant", QPointF(0, 300))
    window.editor.connect_ports("constant.value", "parse.json")
    qtbot.waitUntil(lambda: not window.scene.nodes["parse"].problems, timeout=3000)
    # the new node; the body's flow.input (its rules look at the graph); the for_each
    # calling the body (it looks into it); nothing else
    assert sorted(node for _, node in checked) == ["constant", "each", "item"], checked
    assert window.validation.problems == []
    checked.clear()
    window.stack.undo()  # the wire
    qtbot.waitUntil(lambda: bool(window.scene.nodes["parse"].problems), timeout=3000)
    assert checked == []  # a wire changed: no node needs checking again, only wires


def test_the_document_locates_problems_and_event_paths(window, tmp_path):
    open_flow(window, tmp_path)
    doc = window.doc
    assert doc.locate(Problem("x", "m", node_id="each_body/parse", graph="each_body")) == (
        "each_body", "parse")
    assert doc.locate(Problem("x", "m", node_id="parse")) == (None, "parse")
    assert doc.locate(Problem("x", "m")) is None
    assert doc.locate(Problem("x", "m", node_id="gone/parse", graph="gone")) is None
    assert doc.locate("each/parse") == ("each_body", "parse")  # an event's node path
    assert doc.locate("parse") == (None, "parse")
    assert doc.locate("each") == (None, "each")
    assert doc.locate("each/missing") is None
