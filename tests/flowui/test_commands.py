"""Undo commands: each one applied, undone (document equal to the snapshot before) and
redone (equal to the snapshot after); random edit sequences undo and redo exactly."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PySide6.QtGui import QUndoStack

from engine.workflow.model import Connection, InputSpec, NodeSpec, Settings
from flowui.commands import (
    AddNodesCommand,
    ConnectCommand,
    MoveNodesCommand,
    ReconnectCommand,
    RemoveItemsCommand,
    RenameNodeCommand,
    SetInputsCommand,
    SetMetaCommand,
    SetNodeCommand,
    SetSettingsCommand,
)
from flowui.document import WorkflowDocument
from tests.engine.toy import toy_registry, workflow


def make_doc() -> WorkflowDocument:
    wf = workflow(
        [{"id": "a", "type": "toy.source", "position": [0, 0], "config": {"value": 1}},
         {"id": "b", "type": "toy.add", "position": [200, 0]},
         {"id": "c", "type": "toy.add", "position": [400, 0]},
         {"id": "g", "type": "toy.gather", "position": [400, 200]}],
        [("a.value", "b.a"), ("b.sum", "c.a"), ("a.value", "g.items")],
        inputs={"n": {"type": "number", "default": 1}})
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
    "add": lambda d: AddNodesCommand(d, [NodeSpec(id="n", type="toy.source")]),
    "add_with_wires": lambda d: AddNodesCommand(
        d, [NodeSpec(id="n", type="toy.add")],
        [Connection.model_validate({"from": "a.value", "to": "n.a"})]),
    "remove_node": lambda d: RemoveItemsCommand(d, ["b"]),
    "remove_first_and_wires": lambda d: RemoveItemsCommand(d, ["a"]),
    "remove_wire": lambda d: RemoveItemsCommand(d, [], [("b.sum", "c.a")]),
    "move": lambda d: MoveNodesCommand(d, {"a": ((0, 0), (50, 60)), "c": ((400, 0), (10, 10))}),
    "connect": lambda d: ConnectCommand(d, "a.value", "c.b"),
    "connect_replaces": lambda d: ConnectCommand(d, "a.value", "c.a"),
    "connect_multiple": lambda d: ConnectCommand(d, "b.sum", "g.items"),
    "reconnect": lambda d: ReconnectCommand(d, ("b.sum", "c.a"), ("a.value", "c.a")),
    "config": lambda d: SetNodeCommand(d, "a", field="config.value", value={"x": [1]}),
    "config_remove": lambda d: SetNodeCommand.remove_config_key(d, "a", "value"),
    "title": lambda d: SetNodeCommand(d, "b", field="title", value="Sum"),
    "retry": lambda d: SetNodeCommand(d, "b", field="retry",
                                      value={"max_attempts": 3, "delay_s": 0.5}),
    "timeout": lambda d: SetNodeCommand(d, "b", field="timeout_s", value=5),
    "on_error": lambda d: SetNodeCommand(d, "b", field="on_error", value="continue"),
    "disabled": lambda d: SetNodeCommand(d, "c", field="disabled", value=True),
    "rename": lambda d: RenameNodeCommand(d, "b", "plus"),
    "inputs": lambda d: SetInputsCommand(d, {"n": InputSpec(type="string"),
                                             "m": InputSpec(type="array", default=[])}),
    "settings": lambda d: SetSettingsCommand(d, Settings(max_parallel=2, on_error="continue")),
    "meta": lambda d: SetMetaCommand(d, "Renamed", "New description"),
}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_undo_and_redo_restore_snapshots(name):
    doc = make_doc()
    check_round_trip(doc, COMMANDS[name](doc))


def test_connect_into_single_input_replaces_old_wire():
    doc = make_doc()
    ConnectCommand(doc, "a.value", "c.a").redo()
    assert [c.to for c in doc.connections()].count("c.a") == 1
    assert any(c.from_ == "a.value" and c.to == "c.a" for c in doc.connections())


def test_rename_rewrites_wires_in_place():
    doc = make_doc()
    RenameNodeCommand(doc, "b", "plus").redo()
    assert [(c.from_, c.to) for c in doc.connections()] == [
        ("a.value", "plus.a"), ("plus.sum", "c.a"), ("a.value", "g.items")]
    assert [n.id for n in doc.nodes()] == ["a", "plus", "c", "g"]


def test_typing_in_one_field_merges_into_one_undo_step():
    doc = make_doc()
    stack = QUndoStack()
    before = doc.snapshot()
    for text in ("h", "ht", "htt", "http"):
        stack.push(SetNodeCommand(doc, "a", field="config.value", value=text))
    assert stack.count() == 1
    assert doc.node("a").config["value"] == "http"
    stack.push(SetNodeCommand(doc, "a", field="title", value="T"))  # another field: new step
    assert stack.count() == 2
    stack.undo()
    stack.undo()
    assert doc.snapshot() == before


def test_check_connection_reasons():
    doc = make_doc()
    assert doc.check_connection("a.value", "c.b") is None
    assert "cycle" in doc.check_connection("c.sum", "b.b")
    assert "itself" in doc.check_connection("b.sum", "b.b")
    assert "already wired" in doc.check_connection("a.value", "b.a")
    doc2 = WorkflowDocument(toy_registry(), workflow(
        [{"id": "t", "type": "toy.text"}, {"id": "n", "type": "toy.add"}]))
    assert "type mismatch" in doc2.check_connection("t.text", "n.a")


def test_unique_ids():
    doc = make_doc()
    assert doc.unique_id("z") == "z"
    assert doc.unique_id("a") == "a2"
    assert doc.unique_id("a", taken={"a2"}) == "a3"
    assert doc.unique_id("b7") == "b7"
    assert doc.unique_id("9 lives") == "n_9_lives"


# --- random edit sequences --------------------------------------------------------------

EDITS = st.lists(st.tuples(st.sampled_from(
    ["add", "remove", "move", "connect", "disconnect", "config", "title", "rename", "disable"]),
    st.integers(0, 1000), st.integers(0, 1000)), min_size=1, max_size=25)


def random_command(doc: WorkflowDocument, kind: str, a: int, b: int):
    ids = [n.id for n in doc.nodes()]
    if kind == "add" or not ids:
        new = doc.unique_id("n")
        return AddNodesCommand(doc, [NodeSpec(id=new, type=["toy.source", "toy.add",
                                                             "toy.gather"][a % 3],
                                              position=(a, b))])
    pick = ids[a % len(ids)]
    other = ids[b % len(ids)]
    if kind == "remove":
        return RemoveItemsCommand(doc, [pick])
    if kind == "move":
        return MoveNodesCommand(doc, {pick: (doc.node(pick).position, (float(a), float(b)))})
    if kind == "connect":
        _, outs = doc.ports(pick)
        ins, _ = doc.ports(other)
        if outs and ins:
            src, dst = f"{pick}.{outs[0].name}", f"{other}.{ins[b % len(ins)].name}"
            if doc.check_connection(src, dst) is None:
                return ConnectCommand(doc, src, dst)
        return None
    if kind == "disconnect":
        conns = doc.connections()
        if not conns:
            return None
        c = conns[a % len(conns)]
        return RemoveItemsCommand(doc, [], [(c.from_, c.to)])
    if kind == "config":
        return SetNodeCommand(doc, pick, field="config.value", value=a)
    if kind == "title":
        return SetNodeCommand(doc, pick, field="title", value=f"T{a}")
    if kind == "rename":
        new = doc.unique_id(f"r{a}")
        return RenameNodeCommand(doc, pick, new)
    return SetNodeCommand(doc, pick, field="disabled", value=not doc.node(pick).disabled)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EDITS)
def test_random_edits_undo_all_and_redo_all(edits):
    doc = make_doc()
    stack = QUndoStack()
    original = doc.snapshot()
    for kind, a, b in edits:
        cmd = random_command(doc, kind, a, b)
        if cmd is not None:
            stack.push(cmd)
    final = doc.snapshot()
    while stack.canUndo():
        stack.undo()
    assert doc.snapshot() == original
    while stack.canRedo():
        stack.redo()
    assert doc.snapshot() == final
