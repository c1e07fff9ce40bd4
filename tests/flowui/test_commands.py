"""Undo commands: each one applied, undone (document equal to the snapshot before) and
redone (equal to the snapshot after); random edit sequences, in the workflow and its
subgraphs, undo and redo exactly."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QPointF
from PySide6.QtGui import QUndoStack

from engine import BodySpec, Node, NodeConfig, Port, Registry
from engine.workflow.model import Connection, InputSpec, NodeSpec, Settings, Subgraph
from flowui import decor
from flowui.canvas.scene import GraphScene
from flowui.commands import (
    AddNodesCommand,
    AddSubgraphCommand,
    ConnectCommand,
    MoveNodesCommand,
    ReconnectCommand,
    RemoveItemsCommand,
    RemoveSubgraphCommand,
    RenameNodeCommand,
    SetInputsCommand,
    SetMetaCommand,
    SetNodeCommand,
    SetSettingsCommand,
)
from flowui.decor_commands import EditDecorCommand
from flowui.document import GraphKey, WorkflowDocument
from flowui.editor import Editor
from tests.engine.toy import TOY_TYPES, toy_registry, workflow

BODY = {"inputs": {"item": {"type": "any"}},
        "nodes": [{"id": "i", "type": "toy.source", "position": [0, 0]},
                  {"id": "j", "type": "toy.add", "position": [200, 0]}],
        "connections": [{"from": "i.value", "to": "j.a"}]}


def make_doc() -> WorkflowDocument:
    wf = workflow(
        [{"id": "a", "type": "toy.source", "position": [0, 0], "config": {"value": 1}},
         {"id": "b", "type": "toy.add", "position": [200, 0]},
         {"id": "c", "type": "toy.add", "position": [400, 0]},
         {"id": "g", "type": "toy.gather", "position": [400, 200]}],
        [("a.value", "b.a"), ("b.sum", "c.a"), ("a.value", "g.items")],
        inputs={"n": {"type": "number", "default": 1}}, subgraphs={"body": BODY})
    return WorkflowDocument(toy_registry(), wf)


def check_round_trip(doc: WorkflowDocument, command) -> None:
    stack = QUndoStack()
    before = doc.snapshot()
    stack.push(command)
    after = doc.snapshot()
    assert after != before, "the command changed nothing"
    stack.undo()
    assert doc.snapshot() == before
    stack.redo()
    assert doc.snapshot() == after


COMMANDS = {
    "add": lambda d: AddNodesCommand(d, None, [NodeSpec(id="n", type="toy.source")]),
    "add_with_wires": lambda d: AddNodesCommand(
        d, None, [NodeSpec(id="n", type="toy.add")],
        [Connection.model_validate({"from": "a.value", "to": "n.a"})]),
    "remove_node": lambda d: RemoveItemsCommand(d, None, ["b"]),
    "remove_first_and_wires": lambda d: RemoveItemsCommand(d, None, ["a"]),
    "remove_wire": lambda d: RemoveItemsCommand(d, None, [], [("b.sum", "c.a")]),
    "move": lambda d: MoveNodesCommand(d, None, {"a": ((0, 0), (50, 60)),
                                                 "c": ((400, 0), (10, 10))}),
    "connect": lambda d: ConnectCommand(d, None, "a.value", "c.b"),
    "connect_replaces": lambda d: ConnectCommand(d, None, "a.value", "c.a"),
    "connect_multiple": lambda d: ConnectCommand(d, None, "b.sum", "g.items"),
    "reconnect": lambda d: ReconnectCommand(d, None, ("b.sum", "c.a"), ("a.value", "c.a")),
    "config": lambda d: SetNodeCommand(d, None, "a", field="config.value", value={"x": [1]}),
    "config_remove": lambda d: SetNodeCommand.remove_config_key(d, None, "a", "value"),
    "title": lambda d: SetNodeCommand(d, None, "b", field="title", value="Sum"),
    "retry": lambda d: SetNodeCommand(d, None, "b", field="retry",
                                      value={"max_attempts": 3, "delay_s": 0.5}),
    "timeout": lambda d: SetNodeCommand(d, None, "b", field="timeout_s", value=5),
    "on_error": lambda d: SetNodeCommand(d, None, "b", field="on_error", value="continue"),
    "disabled": lambda d: SetNodeCommand(d, None, "c", field="disabled", value=True),
    "rename": lambda d: RenameNodeCommand(d, None, "b", "plus"),
    "inputs": lambda d: SetInputsCommand(d, None, {"n": InputSpec(type="string"),
                                                   "m": InputSpec(type="array", default=[])}),
    "settings": lambda d: SetSettingsCommand(d, Settings(max_parallel=2, on_error="continue")),
    "meta": lambda d: SetMetaCommand(d, None, "Renamed", "New description"),
    # in a subgraph
    "body_add": lambda d: AddNodesCommand(d, "body", [NodeSpec(id="k", type="toy.gather")],
                                          [Connection.model_validate({"from": "j.sum",
                                                                      "to": "k.items"})]),
    "body_remove": lambda d: RemoveItemsCommand(d, "body", ["i"]),
    "body_rename": lambda d: RenameNodeCommand(d, "body", "j", "plus"),
    "body_connect": lambda d: ConnectCommand(d, "body", "i.value", "j.b"),
    "body_config": lambda d: SetNodeCommand(d, "body", "j", field="config.b", value=2),
    "body_inputs": lambda d: SetInputsCommand(d, "body", {"x": InputSpec(type="number")}),
    "body_meta": lambda d: SetMetaCommand(d, "body", "Body", "Runs per item"),
    "add_subgraph": lambda d: AddSubgraphCommand(d, "other", Subgraph.model_validate(BODY)),
    "remove_subgraph": lambda d: RemoveSubgraphCommand(d, "body"),
    "add_group": lambda d: EditDecorCommand(d, None, decor.added(d.ui(None), decor.Decor(
        "groups", "group1", "G", "#3fb950", (0, 0, 500, 300))), "Group selection"),
    "body_add_note": lambda d: EditDecorCommand(d, "body", decor.added(d.ui("body"), decor.Decor(
        "notes", "note1", "# hi", "#d29922", (0, 0, 200, 100))), "Add note"),
}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_undo_and_redo_restore_snapshots(name):
    doc = make_doc()
    check_round_trip(doc, COMMANDS[name](doc))


def test_connect_into_single_input_replaces_old_wire():
    doc = make_doc()
    ConnectCommand(doc, None, "a.value", "c.a").redo()
    assert [c.to for c in doc.connections(None)].count("c.a") == 1
    assert any(c.from_ == "a.value" and c.to == "c.a" for c in doc.connections(None))


def test_rename_rewrites_wires_in_place():
    doc = make_doc()
    RenameNodeCommand(doc, None, "b", "plus").redo()
    assert [(c.from_, c.to) for c in doc.connections(None)] == [
        ("a.value", "plus.a"), ("plus.sum", "c.a"), ("a.value", "g.items")]
    assert [n.id for n in doc.nodes(None)] == ["a", "plus", "c", "g"]


def test_a_rename_is_one_change_of_one_graph():
    doc = make_doc()
    seen: list[tuple[Any, ...]] = []
    for name in ("node_added", "node_removed", "connection_added", "connection_removed",
                 "node_renamed"):
        getattr(doc, name).connect(lambda *args, name=name: seen.append((name, *args)))
    RenameNodeCommand(doc, "body", "i", "first").redo()
    assert seen == [("node_renamed", "body", "i", "first")]
    assert [(c.from_, c.to) for c in doc.connections("body")] == [("first.value", "j.a")]
    assert doc.has_node("body", "first") and not doc.has_node("body", "i")
    assert doc.has_node(None, "a") and not doc.has_node(None, "first")


def test_typing_in_one_field_merges_into_one_undo_step():
    doc = make_doc()
    stack = QUndoStack()
    before = doc.snapshot()
    for text in ("h", "ht", "htt", "http"):
        stack.push(SetNodeCommand(doc, None, "a", field="config.value", value=text))
    assert stack.count() == 1
    assert doc.node(None, "a").config["value"] == "http"
    stack.push(SetNodeCommand(doc, None, "a", field="title", value="T"))  # another field: new step
    assert stack.count() == 2
    stack.undo()
    stack.undo()
    assert doc.snapshot() == before


def test_check_connection_reasons():
    doc = make_doc()
    assert doc.check_connection(None, "a.value", "c.b") is None
    assert "cycle" in doc.check_connection(None, "c.sum", "b.b")
    assert "itself" in doc.check_connection(None, "b.sum", "b.b")
    assert "already wired" in doc.check_connection(None, "a.value", "b.a")
    doc2 = WorkflowDocument(toy_registry(), workflow(
        [{"id": "t", "type": "toy.text"}, {"id": "n", "type": "toy.add"}]))
    assert "type mismatch" in doc2.check_connection(None, "t.text", "n.a")


def test_unique_ids():
    doc = make_doc()
    assert doc.unique_id(None, "z") == "z"
    assert doc.unique_id(None, "a") == "a2"
    assert doc.unique_id(None, "a", taken={"a2"}) == "a3"
    assert doc.unique_id(None, "b7") == "b7"
    assert doc.unique_id(None, "9 lives") == "n_9_lives"


# --- random edit sequences --------------------------------------------------------------

EDITS = st.lists(st.tuples(st.sampled_from(
    ["add", "remove", "move", "connect", "disconnect", "config", "title", "rename", "disable",
     "add_subgraph", "remove_subgraph", "decor", "decor"]),
    st.integers(0, 1000), st.integers(0, 1000), st.integers(0, 3)), min_size=1, max_size=25)


def random_command(doc: WorkflowDocument, kind: str, a: int, b: int, g: int):
    graphs: list[GraphKey] = [None, *doc.workflow.subgraphs]
    graph = graphs[g % len(graphs)]
    if kind == "add_subgraph":
        return AddSubgraphCommand(doc, doc.unique_subgraph_name(f"s{a}"),
                                  Subgraph.model_validate(BODY) if b % 2 else None)
    if kind == "remove_subgraph":
        return RemoveSubgraphCommand(doc, graph) if graph is not None else None
    if kind == "decor":  # add, move and resize, recolour or delete a group or a note
        ui = doc.ui(graph)
        items, _ = decor.read(ui)
        if not items or a % 4 == 0:
            what: decor.Kind = "groups" if b % 2 else "notes"
            made = decor.Decor(what, decor.unique_id(ui, what), f"t{a}", "#388bfd",
                               (a, b, 200 + a, 100 + b))
            return EditDecorCommand(doc, graph, decor.added(ui, made), "Add")
        d = items[b % len(items)]
        if a % 4 == 3:
            return EditDecorCommand(doc, graph, decor.removed(ui, d.kind, {d.id}), "Delete")
        changed = decor.Decor(d.kind, d.id, d.text, ["#f85149", d.color][a % 2],
                              (b, a, d.rect[2] + 10, d.rect[3]))
        return EditDecorCommand(doc, graph, decor.replaced(ui, [changed]), "Change")
    ids = [n.id for n in doc.nodes(graph)]
    if kind == "add" or not ids:
        new = doc.unique_id(graph, "n")
        return AddNodesCommand(doc, graph, [NodeSpec(id=new, type=["toy.source", "toy.add",
                                                                   "toy.gather"][a % 3],
                                                     position=(a, b))])
    pick = ids[a % len(ids)]
    other = ids[b % len(ids)]
    if kind == "remove":
        return RemoveItemsCommand(doc, graph, [pick])
    if kind == "move":
        return MoveNodesCommand(doc, graph, {pick: (doc.node(graph, pick).position,
                                                    (float(a), float(b)))})
    if kind == "connect":
        _, outs = doc.ports(graph, pick)
        ins, _ = doc.ports(graph, other)
        if outs and ins:
            src, dst = f"{pick}.{outs[0].name}", f"{other}.{ins[b % len(ins)].name}"
            if doc.check_connection(graph, src, dst) is None:
                return ConnectCommand(doc, graph, src, dst)
        return None
    if kind == "disconnect":
        conns = doc.connections(graph)
        if not conns:
            return None
        c = conns[a % len(conns)]
        return RemoveItemsCommand(doc, graph, [], [(c.from_, c.to)])
    if kind == "config":
        return SetNodeCommand(doc, graph, pick, field="config.value", value=a)
    if kind == "title":
        return SetNodeCommand(doc, graph, pick, field="title", value=f"T{a}")
    if kind == "rename":
        new = doc.unique_id(graph, f"r{a}")
        return RenameNodeCommand(doc, graph, pick, new)
    return SetNodeCommand(doc, graph, pick, field="disabled",
                          value=not doc.node(graph, pick).disabled)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EDITS)
def test_random_edits_undo_all_and_redo_all(edits):
    doc = make_doc()
    stack = QUndoStack()
    original = doc.snapshot()
    for kind, a, b, g in edits:
        cmd = random_command(doc, kind, a, b, g)
        if cmd is not None:
            stack.push(cmd)
    final = doc.snapshot()
    while stack.canUndo():
        stack.undo()
    assert doc.snapshot() == original
    while stack.canRedo():
        stack.redo()
    assert doc.snapshot() == final


# --- random editing through the editor, across graphs --------------------------------------


class Repeat(Node):
    """A loop-like toy: runs the subgraph its `steps` names."""

    type = "toy.repeat"
    inputs = (Port("n", "any", required=False),)
    outputs = (Port("out", "any"),)
    body = BodySpec("steps", inputs=("n",), outputs=("out",))

    class Config(NodeConfig):
        steps: str | None = None


class BodyInput(Node):
    type = "flow.input"
    outputs = (Port("value", "any"),)

    class Config(NodeConfig):
        name: str = ""


class BodyOutput(Node):
    type = "flow.output"
    inputs = (Port("value", "any"),)

    class Config(NodeConfig):
        name: str = ""


EDITOR_EDITS = st.lists(st.tuples(st.sampled_from(
    ["add", "add", "delete", "move", "connect", "config", "rename", "open_body", "open_body",
     "show", "add_subgraph", "remove_subgraph", "undo", "auto_layout"]),
    st.integers(0, 1000), st.integers(0, 1000)), min_size=1, max_size=30)


def editor_edit(editor: Editor, kind: str, a: int, b: int) -> None:
    doc, graph = editor.doc, editor.current_graph
    graphs: list[GraphKey] = [None, *doc.workflow.subgraphs]
    ids = [n.id for n in doc.nodes(graph)]
    if kind == "show":
        editor.show_graph(graphs[a % len(graphs)])
    elif kind == "add_subgraph":
        editor.add_subgraph(doc.unique_subgraph_name(f"s{a}"))
    elif kind == "remove_subgraph" and graph is not None:
        editor.remove_subgraph(graph)
    elif kind == "undo":
        editor.undo_stack.undo()
    elif kind == "add" or (not ids and kind != "remove_subgraph"):
        editor.add_node(["toy.source", "toy.add", "toy.repeat"][b % 3], QPointF(a, b))
    elif not ids:
        return
    elif kind == "delete":
        editor.select([ids[a % len(ids)]])
        editor.delete_selection()
    elif kind == "move":
        pick = ids[a % len(ids)]
        editor.move_nodes({pick: (doc.node(graph, pick).position, (float(a), float(b)))})
    elif kind == "connect":
        pick, other = ids[a % len(ids)], ids[b % len(ids)]
        outs, ins = doc.ports(graph, pick)[1], doc.ports(graph, other)[0]
        if outs and ins:
            editor.connect_ports(f"{pick}.{outs[0].name}", f"{other}.{ins[0].name}")
    elif kind == "config":
        editor.set_node_field(graph, ids[a % len(ids)], "config.value", b)
    elif kind == "rename":
        editor.rename_node(graph, ids[a % len(ids)], doc.unique_id(graph, f"r{b}"))
    elif kind == "open_body":
        loops = [n.id for n in doc.nodes(graph) if n.type == "toy.repeat"]
        if loops:
            editor.open_body(loops[a % len(loops)])
    elif kind == "auto_layout":  # the graph, or a selection of two or more
        editor.select(ids[:a % (len(ids) + 1)])
        editor.auto_layout()
        editor.glide.finish()  # (the glide runs on the event loop; where it ends)


def assert_scene_mirrors(editor: Editor) -> None:
    scene, doc, graph = editor.scene, editor.doc, editor.current_graph
    assert scene.graph_key == graph
    assert set(scene.nodes) == {n.id for n in doc.nodes(graph)}
    for spec in doc.nodes(graph):
        assert scene.nodes[spec.id].pos() == QPointF(*spec.position)
    assert set(scene.edges) == {(c.from_, c.to) for c in doc.connections(graph)}


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(EDITOR_EDITS)
def test_random_editing_across_graphs_undoes_and_redoes_exactly(qapp, edits):
    registry = Registry([*TOY_TYPES, Repeat, BodyInput, BodyOutput])
    doc = WorkflowDocument(registry, make_doc().workflow)
    editor = Editor(doc, GraphScene(doc))
    original = doc.snapshot()
    for kind, a, b in edits:
        editor_edit(editor, kind, a, b)
        assert_scene_mirrors(editor)
    final = doc.snapshot()
    stack = editor.undo_stack
    end = stack.index()  # an "undo" among the edits may have left steps to redo past it
    while stack.canUndo():
        stack.undo()
        assert_scene_mirrors(editor)
    assert doc.snapshot() == original
    while stack.index() < end:
        stack.redo()
        assert_scene_mirrors(editor)
    assert doc.snapshot() == final
