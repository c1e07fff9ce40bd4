"""The scene mirrors one graph of the document: it follows adds, removes, renames and
rewiring of the graph it shows, in the workflow as in a subgraph, and ignores the others
until it is asked to show them."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QUndoStack

from engine.workflow.model import Connection, NodeSpec
from flowui.canvas.scene import GraphScene
from flowui.commands import (
    AddNodesCommand,
    ConnectCommand,
    MoveNodesCommand,
    ReconnectCommand,
    RemoveItemsCommand,
    RenameNodeCommand,
    SetNodeCommand,
)
from flowui.document import GraphKey, WorkflowDocument
from tests.engine.toy import toy_registry, workflow

# The workflow and its subgraph use the same node ids, so a change to one graph's "b"
# that reached the other's would show.
NODES = [{"id": "a", "type": "toy.source", "position": [0, 0]},
         {"id": "b", "type": "toy.add", "position": [300, 0]},
         {"id": "c", "type": "toy.add", "position": [600, 0]}]
WIRES = [("a.value", "b.a"), ("b.sum", "c.a")]


def make() -> tuple[WorkflowDocument, GraphScene, QUndoStack]:
    body = {"nodes": [{**n, "position": [n["position"][0], 500]} for n in NODES],
            "connections": [{"from": a, "to": b} for a, b in WIRES]}
    doc = WorkflowDocument(toy_registry(), workflow(NODES, WIRES, subgraphs={"body": body}))
    return doc, GraphScene(doc), QUndoStack()


def assert_mirrors(scene: GraphScene, doc: WorkflowDocument, graph: GraphKey) -> None:
    assert scene.graph_key == graph
    assert set(scene.nodes) == {n.id for n in doc.nodes(graph)}
    for spec in doc.nodes(graph):
        item = scene.nodes[spec.id]
        assert item.node_id == spec.id and item.pos() == QPointF(*spec.position)
    assert set(scene.edges) == {(c.from_, c.to) for c in doc.connections(graph)}
    for (source, target), edge in scene.edges.items():
        assert edge.key == (source, target)
        start = scene.nodes[source.split(".")[0]].port_pos(source.split(".")[1], True)
        assert edge._start == start, "the wire does not start at its port"
    on_canvas = {id(i) for i in scene.items()}
    assert {id(i) for i in [*scene.nodes.values(), *scene.edges.values()]} <= on_canvas


@pytest.mark.parametrize("graph", [None, "body"])
def test_the_scene_follows_adds_removes_renames_and_rewiring(qapp, graph):
    doc, scene, stack = make()
    scene.show_graph(graph)
    assert_mirrors(scene, doc, graph)
    stack.push(AddNodesCommand(doc, graph, [NodeSpec(id="d", type="toy.add",
                                                     position=(900, 40))],
                               [Connection.model_validate({"from": "c.sum", "to": "d.a"})]))
    assert scene.nodes["d"].pos() == QPointF(900, 40) and ("c.sum", "d.a") in scene.edges
    assert_mirrors(scene, doc, graph)
    stack.push(ReconnectCommand(doc, graph, ("b.sum", "c.a"), ("a.value", "c.a")))
    assert ("a.value", "c.a") in scene.edges and ("b.sum", "c.a") not in scene.edges
    assert_mirrors(scene, doc, graph)
    stack.push(ConnectCommand(doc, graph, "b.sum", "d.b"))
    stack.push(MoveNodesCommand(doc, graph, {"b": (doc.node(graph, "b").position, (320, 80))}))
    assert_mirrors(scene, doc, graph)
    stack.push(RenameNodeCommand(doc, graph, "b", "plus"))
    assert "b" not in scene.nodes and ("plus.sum", "d.b") in scene.edges
    assert_mirrors(scene, doc, graph)
    stack.push(RemoveItemsCommand(doc, graph, ["plus"]))
    assert "plus" not in scene.nodes and not any("plus" in w[0] + w[1] for w in scene.edges)
    assert_mirrors(scene, doc, graph)
    while stack.canUndo():
        stack.undo()
        assert_mirrors(scene, doc, graph)
    while stack.canRedo():
        stack.redo()
        assert_mirrors(scene, doc, graph)


def test_a_rename_keeps_the_node_item_and_rekeys_its_wires(qapp):
    doc, scene, stack = make()
    item = scene.nodes["b"]
    wires = {key: scene.edges[key] for key in WIRES}
    item.setSelected(True)
    rebuilt: list[None] = []
    scene.rebuilt.connect(lambda: rebuilt.append(None))
    stack.push(RenameNodeCommand(doc, None, "b", "plus"))
    assert scene.nodes["plus"] is item and item.node_id == "plus"
    assert scene.edges[("a.value", "plus.a")] is wires[("a.value", "b.a")]
    assert scene.edges[("plus.sum", "c.a")] is wires[("b.sum", "c.a")]
    assert scene.selected_node_ids() == ["plus"] and rebuilt == []
    assert "plus · toy.add" in item.toolTip()
    # The re-keyed wires still follow the node they name.
    stack.push(MoveNodesCommand(doc, None, {"plus": ((300, 0), (300, 200))}))
    assert scene.edges[("a.value", "plus.a")]._end == item.port_pos("a", False)
    assert scene.edges[("plus.sum", "c.a")]._start == item.port_pos("sum", True)
    stack.undo()
    stack.undo()
    assert scene.nodes["b"] is item and scene.edges[("a.value", "b.a")] is wires[
        ("a.value", "b.a")]
    assert_mirrors(scene, doc, None)


def test_edits_of_a_graph_not_shown_leave_the_scene_alone_until_it_is_shown(qapp):
    doc, scene, stack = make()
    nodes, edges = dict(scene.nodes), dict(scene.edges)
    stack.push(AddNodesCommand(doc, "body", [NodeSpec(id="d", type="toy.add")]))
    stack.push(RenameNodeCommand(doc, "body", "b", "plus"))
    stack.push(RemoveItemsCommand(doc, "body", [], [("a.value", "plus.a")]))
    stack.push(SetNodeCommand(doc, "body", "c", field="title", value="Last"))
    stack.push(MoveNodesCommand(doc, "body", {"a": ((0, 500), (40, 540))}))
    stack.push(ConnectCommand(doc, "body", "plus.sum", "d.a"))
    assert scene.nodes == nodes and all(scene.nodes[k] is v for k, v in nodes.items())
    assert scene.edges == edges and all(scene.edges[k] is v for k, v in edges.items())
    assert scene.nodes["c"].title != "Last" and scene.nodes["a"].pos() == QPointF(0, 0)
    assert_mirrors(scene, doc, None)
    scene.show_graph("body")
    assert_mirrors(scene, doc, "body")
    assert scene.nodes["c"].title == "Last" and ("plus.sum", "d.a") in scene.edges
    assert scene.nodes["a"].pos() == QPointF(40, 540)


def test_badges_follow_a_renamed_node_and_go_when_the_problem_does(window, tmp_path):
    from engine.workflow import file as workflow_file

    data = {"format": "flowui-workflow", "version": 1,
            "nodes": [{"id": "log", "type": "debug.log"},
                      {"id": "c", "type": "flow.constant", "config": {"value": 1}}]}
    path = tmp_path / "b.flow.json"
    workflow_file.save(workflow_file.from_data(data), path)
    assert window.files.open_path(path, ask=False)
    window.validation.validate_now()
    item = window.scene.nodes["log"]
    assert item.problems and not window.scene.nodes["c"].problems
    window.editor.rename_node(None, "log", "printer")
    window.validation.validate_now()
    assert window.scene.nodes["printer"] is item and item.problems
    window.editor.connect_ports("c.value", "printer.message")
    window.validation.validate_now()
    assert item.problems == [] and "<hr>" not in item.toolTip()


def test_a_selected_node_is_drawn_over_its_neighbours_and_every_wire(make_window):
    # issue 11, fix 3 (first part): selecting, and so dragging, brings a node forward
    from PySide6.QtCore import QPointF

    from flowui.canvas.node_item import NODE_Z, SELECTED_Z

    window = make_window()
    window.editor.add_node("debug.log", QPointF(0, 0))
    window.editor.add_node("debug.log", QPointF(60, 20))  # overlapping the first
    first, second = window.scene.nodes["log"], window.scene.nodes["log2"]
    window.editor.select(["log"])
    assert first.zValue() == SELECTED_Z > second.zValue() == NODE_Z
    where = first.sceneBoundingRect().intersected(second.sceneBoundingRect()).center()
    top = next(i for i in window.scene.items(where) if i in (first, second))
    assert top is first
    window.editor.select(["log2"])
    assert first.zValue() == NODE_Z and second.zValue() == SELECTED_Z


def test_a_node_shows_its_key_config_and_follows_edits_and_undo(make_window, qtbot):
    # issue 11, fix 4 (second half): the If's condition, the request's URL on the node
    from PySide6.QtCore import QPointF

    from flowui.canvas.node_item import SUMMARY_H

    window = make_window()
    window.editor.add_node("http.request", QPointF(0, 0))
    window.editor.add_node("debug.log", QPointF(400, 0))
    window.editor.connect_ports("request.body", "log.message")
    request = window.scene.nodes["request"]
    assert request.summary == "GET"  # the method's default, no URL yet
    ports_before = request.port_pos("body", True)
    window.editor.set_node_field(None, "request", "config.url", "https://example.com/x")
    assert request.summary == "GET https://example.com/x"
    window.editor.set_node_field(None, "request", "config.method", "POST")
    assert request.summary == "POST https://example.com/x"
    window.stack.undo()
    assert request.summary == "GET https://example.com/x"
    log = window.scene.nodes["log"]
    assert log.summary == ""  # no format set: no line, the ports right under the title
    port_before = log.port_pos("message", False)
    window.editor.set_node_field(None, "log", "config.format", "{{ value.name }}")
    assert log.summary == "{{ value.name }}"
    # The line moves the ports down by its height, and the wires follow them.
    assert log.port_pos("message", False).y() == port_before.y() + SUMMARY_H
    edge = window.scene.edges[("request.body", "log.message")]
    assert edge.line().p1() == request.port_pos("body", True) == ports_before
    assert edge.line().p2() == log.port_pos("message", False)
    window.view.set_zoom(1.0)
    assert not window.view.grab().toImage().isNull()  # painted with its line
