"""Create Subgraph from Selection and Ungroup: each one undo step that undoes and redoes
exactly, and the workflow computes the same before and after, checked by running it
headless (engine.Runner, the path `flowcli run` takes) on the examples and on a
constructed graph with several wires crossing the selection both ways."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QPointF

from engine.core.registry import Registry
from engine.core.runner import Runner
from engine.workflow import file as workflow_file
from flowui.canvas.scene import GraphScene
from flowui.document import WorkflowDocument
from flowui.editor import Editor
from tests.flowui.test_commands import assert_scene_mirrors

EXAMPLES = Path(__file__).parents[2] / "resources" / "examples"
REGISTRY = Registry.discover(plugins=False)


def const(node_id: str, value: Any, x: float, y: float) -> dict[str, Any]:
    return {"id": node_id, "type": "flow.constant", "position": [x, y],
            "config": {"value": value}}


def node(node_id: str, type_id: str, x: float, y: float, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "type": type_id, "position": [x, y], "config": config}


# Wires cross the selection {t1, t2, m, f, t3, out_t1} both ways: one outer source feeds
# two inner nodes, inner nodes feed an outer merge between outer wires (order matters),
# a template reads inputs.name, a selected flow.input and a selected flow.output.
CROSSING = {
    "format": "flowui-workflow", "version": 1, "name": "crossing",
    "inputs": {"name": {"type": "string", "default": "Ada"}},
    "nodes": [
        const("a", 3, 0, 0), const("b", "x", 0, 200),
        node("t1", "transform.template", 300, 0, template="{{ ports.value }}-{{ inputs.name }}"),
        node("t2", "transform.template", 300, 200, template="{{ ports.value }}!"),
        node("m", "control.merge", 600, 100, mode="all"),
        node("s", "transform.json_stringify", 900, 100),
        node("joined", "flow.output", 1200, 100, name="joined"),
        node("out_t1", "flow.output", 600, -100, name="t1"),
        node("f", "flow.input", 0, 400, name="name"),
        node("t3", "transform.template", 300, 400, template="hello {{ ports.value }}"),
        node("greet", "flow.output", 600, 400, name="greet"),
        node("m2", "control.merge", 900, 300, mode="all"),
        node("mixed", "flow.output", 1200, 300, name="mixed"),
    ],
    "connections": [
        {"from": f, "to": t} for f, t in [
            ("a.value", "t1.value"), ("b.value", "t2.value"),
            ("a.value", "m.values"), ("t1.text", "m.values"), ("t2.text", "m.values"),
            ("b.value", "m.values"), ("m.value", "s.value"), ("s.json", "joined.value"),
            ("t1.text", "out_t1.value"), ("f.value", "t3.value"), ("t3.text", "greet.value"),
            ("t2.text", "m2.values"), ("b.value", "m2.values"), ("t1.text", "m2.values"),
            ("m2.value", "mixed.value")]],
}
SELECTED = ["t1", "t2", "m", "f", "t3", "out_t1"]


def make_editor(data: dict[str, Any] | Path) -> Editor:
    doc = WorkflowDocument(REGISTRY)
    if isinstance(data, Path):
        doc.load(workflow_file.load(data), data)
    else:
        doc.load(workflow_file.from_data(data), None)
    return Editor(doc, GraphScene(doc))


def run(editor: Editor, inputs: dict[str, Any]) -> tuple[str, Any, Any]:
    """The workflow as it would be saved, run headless to the end."""
    workflow = workflow_file.loads(editor.doc.snapshot())
    result = asyncio.run(Runner(REGISTRY).run(workflow, inputs, base_dir=EXAMPLES))
    return result.status, result.outputs, result.error


def check_fold_and_unfold(editor: Editor, selected: list[str], inputs: dict[str, Any]) -> None:
    """Fold `selected`, unfold the new node: each one undo step, exact undo and redo,
    and the same run result at every stage."""
    doc, stack = editor.doc, editor.undo_stack
    expected = run(editor, inputs)
    assert expected[0] == "completed", expected
    original = doc.snapshot()
    steps = stack.index()
    node_id = editor.create_subgraph(selected, "group")
    assert node_id is not None
    assert stack.index() == steps + 1
    folded = doc.snapshot()
    graph = editor.current_graph
    assert not set(selected) & {n.id for n in doc.nodes(graph) if n.type != "flow.output"
                                and n.type != "flow.input"}
    assert doc.node(graph, node_id).type == "flow.subworkflow"
    assert "group" in doc.workflow.subgraphs
    assert run(editor, inputs) == expected
    stack.undo()
    assert doc.snapshot() == original
    stack.redo()
    assert doc.snapshot() == folded

    added = editor.ungroup(node_id)
    assert added and stack.index() == steps + 2
    assert "group" not in doc.workflow.subgraphs  # no other node runs it
    assert run(editor, inputs) == expected
    unfolded = doc.snapshot()
    stack.undo()
    assert doc.snapshot() == folded
    stack.redo()
    assert doc.snapshot() == unfolded
    stack.undo()
    stack.undo()
    assert doc.snapshot() == original


def test_a_selection_with_wires_crossing_both_ways_folds_and_unfolds_computing_the_same(qapp):
    editor = make_editor(CROSSING)
    before = run(editor, {})
    assert before[1]["mixed"] == ["x!", "x", "3-Ada"]  # the outer merge's order
    check_fold_and_unfold(editor, SELECTED, {})
    check_fold_and_unfold(editor, SELECTED, {"name": "Grace"})


def test_the_folded_subgraph_routes_each_crossing_source_once(qapp):
    editor = make_editor(CROSSING)
    node_id = editor.create_subgraph(SELECTED, "group")
    doc = editor.doc
    body = doc.workflow.subgraphs["group"]
    # a and b (each feeding two inner nodes) come in once; `name` is passed for f and t1.
    assert set(body.inputs) == {"name", "a_value", "b_value"}
    outs = sorted(n.config["name"] for n in body.nodes if n.type == "flow.output")
    assert outs == ["m_value", "t1", "t1_text", "t2_text", "t3_text"]
    into_sub = sorted(c.from_ for c in doc.connections(None) if c.target[0] == node_id)
    assert into_sub == ["a.value", "b.value", "f.value"]
    # The outer merge m2 still takes t2, b, t1 in that order.
    assert [c.from_ for c in doc.connections(None) if c.to == "m2.values"] == \
        [f"{node_id}.t2_text", "b.value", f"{node_id}.t1_text"]
    assert doc.node(None, "f").config == {"name": "name"}  # outside, feeding the body
    assert doc.node(None, "out_t1").type == "flow.output"  # the result keeps its node


@pytest.mark.parametrize(("example", "selected", "inputs"), [
    ("if_else", ["greeting", "is_long", "log_long", "log_short", "joined"], {"name": "Ada"}),
    ("if_else", ["name", "pause", "echo"], {"name": "Ada Lovelace"}),
    ("code_review", ["read", "functions", "complexity", "issues", "out_issues"],
     {"path": "code_review_sample.py"}),
    ("for_each", ["each"], {"numbers": [1, 2, 3]}),
    ("loop_until", ["start", "grow", "final"], {"start": 1, "limit": 50}),
])
def test_examples_compute_the_same_after_folding_and_ungrouping(qapp, example, selected,
                                                                inputs):
    check_fold_and_unfold(make_editor(EXAMPLES / f"{example}.flow.json"), selected, inputs)


def test_a_fold_inside_a_loop_body_computes_the_same_and_never_takes_loop_away(qapp):
    editor = make_editor(EXAMPLES / "for_each.flow.json")
    editor.show_graph("square")  # the for-each's body: `inputs.item * inputs.item`
    check_fold_and_unfold(editor, ["square", "result"], {"numbers": [1, 2, 3]})
    said: list[str] = []
    editor.message.connect(said.append)
    assert editor.create_subgraph(["wait", "log"], "group") is None
    assert "reads `loop`" in said[-1]


def test_a_skipped_value_crossing_in_skips_the_whole_node_as_documented(qapp):
    """docs/format.md: the format has no way to pass "skipped" into a body, so a fold
    of both sides of an If without the If skips the new node when a side is untaken."""
    editor = make_editor(EXAMPLES / "if_else.flow.json")
    before = run(editor, {"name": "Ada"})
    assert editor.create_subgraph(["log_long", "log_short", "joined"], "branches")
    status, outputs, _ = run(editor, {"name": "Ada"})
    assert status == "completed" and "greeting" in before[1] and "greeting" not in outputs


def test_folding_refuses_what_would_close_a_cycle_or_a_bad_name(qapp):
    editor = make_editor(CROSSING)
    before = editor.doc.snapshot()
    said: list[str] = []
    editor.message.connect(said.append)
    assert editor.create_subgraph(["m", "joined"], "group") is None  # s lies between
    assert "s lies between" in said[-1]
    assert editor.create_subgraph(["t1"], "bad name") is None
    assert "cannot name a subgraph" in said[-1]
    assert editor.create_subgraph([], "group") is None
    assert editor.doc.snapshot() == before and editor.undo_stack.count() == 0


def test_ungroup_keeps_a_subgraph_another_node_runs_and_refuses_a_wired_error(qapp):
    editor = make_editor(CROSSING)
    node_id = editor.create_subgraph(["t2"], "group")
    doc = editor.doc
    editor.select([node_id])
    editor.duplicate()
    (twin,) = editor.scene.selected_node_ids()
    assert editor.ungroup(node_id) == ["t2"]
    assert "group" in doc.workflow.subgraphs  # twin still runs it
    said: list[str] = []
    editor.message.connect(said.append)
    assert editor.ungroup(twin) is None  # the copy's input is not wired
    assert f"{twin}.b_value is not wired" in said[-1]
    assert editor.connect_ports("b.value", f"{twin}.b_value")
    assert editor.ungroup(twin) == ["t4"]  # ids made unique, counted on (t3 is taken)
    editor.undo_stack.undo()
    assert editor.connect_ports(f"{twin}.error", "m2.values")
    assert editor.ungroup(twin) is None
    assert "error port is wired" in said[-1]


def test_a_disabled_node_is_skipped_and_so_is_what_needs_it(qapp):
    editor = make_editor(CROSSING)
    editor.set_disabled(["t3"], True)
    status, outputs, _ = run(editor, {})
    assert status == "completed" and "greet" not in outputs and "joined" in outputs
    editor.undo_stack.undo()
    assert "greet" in run(editor, {})[1]


# --- random editing with the new commands: undo all, redo all --------------------------

EDITS = st.lists(st.tuples(st.sampled_from(
    ["fold", "fold", "ungroup", "ungroup", "disable", "splice", "delete", "undo", "show"]),
    st.integers(0, 1 << 12), st.integers(0, 1000)), min_size=1, max_size=12)


def comparable(editor: Editor) -> tuple[str, Any, Any] | None:
    """The run result, when a fold must keep it: at the top, and with no node disabled
    (a disabled node's skipped value crossing into a body skips the whole body node:
    the documented limit)."""
    doc = editor.doc
    if editor.current_graph is not None or any(
            n.disabled for g in (None, *doc.workflow.subgraphs) for n in doc.nodes(g)):
        return None
    return run(editor, {})


def random_edit(editor: Editor, kind: str, a: int, b: int) -> None:
    doc, graph = editor.doc, editor.current_graph
    ids = [n.id for n in doc.nodes(graph)]
    if kind == "show":
        graphs = [None, *doc.workflow.subgraphs]
        editor.show_graph(graphs[a % len(graphs)])
    elif kind == "undo":
        editor.undo_stack.undo()
    elif not ids:
        return
    elif kind == "fold":
        picked = [i for k, i in enumerate(ids) if a >> (k % 12) & 1] or [ids[b % len(ids)]]
        expected = comparable(editor)
        if editor.create_subgraph(picked, doc.unique_subgraph_name("g")) and expected and \
                expected[0] == "completed":
            assert run(editor, {}) == expected
    elif kind == "ungroup":
        subs = [n.id for n in doc.nodes(graph) if n.type == "flow.subworkflow"]
        if subs:
            expected = comparable(editor)
            if editor.ungroup(subs[a % len(subs)]) and expected and expected[0] == "completed":
                assert run(editor, {}) == expected
    elif kind == "disable":
        pick = ids[a % len(ids)]
        editor.set_disabled([pick], not doc.node(graph, pick).disabled)
    elif kind == "splice":
        wires = [(c.from_, c.to) for c in doc.connections(graph)]
        if wires:
            editor.splice_node("debug.log", QPointF(a, b), wires[a % len(wires)])
    elif kind == "delete":
        editor.select([ids[a % len(ids)]])
        editor.delete_selection()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EDITS)
def test_random_folds_ungroups_and_disables_undo_and_redo_exactly(qapp, edits):
    editor = make_editor(json.loads(json.dumps(CROSSING)))
    original = editor.doc.snapshot()
    for kind, a, b in edits:
        random_edit(editor, kind, a, b)
        assert_scene_mirrors(editor)
    final = editor.doc.snapshot()
    stack = editor.undo_stack
    end = stack.index()
    while stack.canUndo():
        stack.undo()
        assert_scene_mirrors(editor)
    assert editor.doc.snapshot() == original
    while stack.index() < end:
        stack.redo()
        assert_scene_mirrors(editor)
    assert editor.doc.snapshot() == final
