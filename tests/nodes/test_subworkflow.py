"""flow.subworkflow: ports from the body, subgraphs and files (relative paths), nesting,
and bodies that would contain themselves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine import Node, NodeContext, Port, Registry, load, run_file
from engine.core.plan import validate
from engine.core.sdk import PortContext
from engine.workflow import file as workflow_file
from nodes import catalog
from tests.conftest import Recorder
from tests.engine.toy import TOY_TYPES, workflow

FLOWCLI = Path(sys.executable).with_name("flowcli")


class Where(Node):
    """Outputs where a relative path in its workflow resolves to."""

    type = "test.where"
    outputs = (Port("path", "string"),)

    async def run(self, ctx: NodeContext) -> dict[str, Any]:
        return {"path": str(ctx.resolve_path("data.txt"))}


@pytest.fixture
def registry() -> Registry:
    return Registry([*catalog(), *TOY_TYPES, Where])


@pytest.fixture
def rec(registry) -> Recorder:
    return Recorder(registry)


def node(node_id: str, type_id: str, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "type": type_id, "config": config}


def graph(nodes: list[dict[str, Any]], connections: list[tuple[str, str]] = (),
          **extra: Any) -> dict[str, Any]:
    return {"nodes": nodes, "connections": [{"from": a, "to": b} for a, b in connections],
            **extra}


def write_flow(path: Path, nodes: list[dict[str, Any]], connections=(), **extra: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"format": "flowui-workflow", "version": 1,
                                **graph(nodes, connections), **extra}))
    return path


GREET = graph(
    [node("c", "flow.constant", value="{{ inputs.greeting }}, {{ inputs.name }}"
                                      "{{ inputs.punct }}"),
     node("text", "flow.output", name="text"),
     node("n", "flow.input", name="name"), node("size", "transform.json_stringify"),
     node("json", "flow.output", name="json")],
    [("c.value", "text.value"), ("n.value", "size.value"), ("size.json", "json.value")],
    inputs={"name": {"type": "string", "description": "Who"},
            "greeting": {"type": "string", "default": "Hello"},
            "punct": {"type": "string", "default": "!"}})


def test_ports_come_from_the_bodys_inputs_and_outputs(registry, tmp_path):
    cls = registry.get("flow.subworkflow")
    wf = workflow([], subgraphs={"greet": GREET})
    ins, outs = cls.ports({"subgraph": "greet"}, PortContext(wf, tmp_path))
    assert [(p.name, p.type, p.required, p.description) for p in ins] == [
        ("name", "string", True, "Who"), ("greeting", "string", False, ""),
        ("punct", "string", False, "")]
    assert [(p.name, p.type) for p in outs] == [("text", "any"), ("json", "any")]
    assert cls.ports({"subgraph": "nope"}, PortContext(wf, tmp_path)) == ((), ())
    assert cls.ports({"path": "missing.flow.json"}, PortContext(wf, tmp_path)) == ((), ())


def test_subgraph_runs_with_wired_inputs_and_declared_defaults(rec):
    wf = workflow([node("who", "flow.constant", value="Ada"),
                   node("sw", "flow.subworkflow", subgraph="greet", punct="?"),
                   node("out", "flow.output", name="greeting"),
                   node("j", "flow.output", name="json")],
                  [("who.value", "sw.name"), ("sw.text", "out.value"), ("sw.json", "j.value")],
                  subgraphs={"greet": GREET})
    result = rec.run(wf)
    assert result.status == "completed", result.error
    assert result.outputs == {"greeting": "Hello, Ada?", "json": '"Ada"'}
    assert {e.node_id for e in rec.of("node_completed")} >= {"sw/c", "sw/text", "sw/size", "sw"}
    completed = next(e for e in rec.of("node_completed") if e.node_id == "sw")
    assert completed.outputs == {"text": "Hello, Ada?", "json": '"Ada"'}


def test_wires_and_required_inputs_are_checked_against_the_derived_ports(rec):
    wf = workflow([node("x", "flow.constant", value=1),
                   node("sw", "flow.subworkflow", subgraph="greet"),
                   node("out", "flow.output", name="o")],
                  [("x.value", "sw.nope"), ("sw.missing", "out.value")],
                  subgraphs={"greet": GREET})
    found = {(p.node_id, p.code, p.message) for p in validate(wf, rec.registry)}
    assert ("sw", "unknown_port", "connection x.value -> sw.nope: flow.subworkflow has no input "
            "'nope' (inputs: name, greeting, punct)") in found
    assert ("sw", "unknown_port", "connection sw.missing -> out.value: flow.subworkflow has "
            "no output 'missing' (outputs: text, json, error)") in found
    assert ("sw", "missing_input", "required input 'name' (string) is not connected and not "
            "set in the config") in found


def test_an_input_typed_into_the_config_is_type_checked(rec):
    wf = workflow([node("sw", "flow.subworkflow", subgraph="greet", name=5)],
                  subgraphs={"greet": GREET})
    assert [(p.node_id, p.field) for p in validate(wf, rec.registry)] == [("sw", "config.name")]


def test_config_must_name_exactly_one_body(rec, tmp_path):
    wf = workflow([node("both", "flow.subworkflow", subgraph="greet", path="x.flow.json"),
                   node("neither", "flow.subworkflow"),
                   node("unknown", "flow.subworkflow", subgraph="gret"),
                   node("templated", "flow.subworkflow", path="{{ inputs.p }}")],
                  subgraphs={"greet": GREET})
    found = {(p.node_id, p.field, p.message) for p in validate(wf, rec.registry,
                                                              base_dir=tmp_path)}
    assert found == {
        ("both", "config", "give either path (a workflow file) or subgraph (a subgraph name), "
                           "not both"),
        ("neither", "config", "say what to run: path (a workflow file) or subgraph (a "
                              "subgraph name)"),
        ("unknown", "config.subgraph", "there is no subgraph 'gret' in this workflow (did you "
                                       "mean 'greet'?)"),
        ("templated", "config.path", "must name the file directly, not through a template: "
                                     "the node's ports come from the file"),
    }


def test_unreadable_file_gives_no_ports_and_a_problem(rec, tmp_path):
    (tmp_path / "broken.flow.json").write_text("{not json")
    wf = workflow([node("gone", "flow.subworkflow", path="missing.flow.json"),
                   node("bad", "flow.subworkflow", path="broken.flow.json")])
    found = {(p.node_id, p.field): p.message for p in validate(wf, rec.registry,
                                                               base_dir=tmp_path)}
    assert set(found) == {("gone", "config.path"), ("bad", "config.path")}
    assert found["gone", "config.path"].startswith(
        "cannot load sub-workflow missing.flow.json: cannot read the file")
    assert found["bad", "config.path"] == (
        "cannot load sub-workflow broken.flow.json: line 1, column 2: invalid JSON: "
        "Expecting property name enclosed in double quotes")


def make_files(tmp_path: Path) -> Path:
    """main.flow.json -> lib/child.flow.json -> lib/grand.flow.json (a path relative to lib/)."""
    write_flow(tmp_path / "lib" / "grand.flow.json",
               [node("x", "flow.input", name="x"),
                node("c", "flow.constant", value="{{ inputs.x * 2 }}"),
                node("twice", "flow.output", name="twice")],
               [("c.value", "twice.value")], inputs={"x": {"type": "integer"}})
    write_flow(tmp_path / "lib" / "child.flow.json",
               [node("x", "flow.input", name="x"),
                node("grand", "flow.subworkflow", path="grand.flow.json"),
                node("r", "flow.output", name="result")],
               [("x.value", "grand.x"), ("grand.twice", "r.value")],
               inputs={"x": {"type": "integer", "default": 4}})
    return write_flow(tmp_path / "main.flow.json",
                      [node("n", "flow.constant", value=21),
                       node("child", "flow.subworkflow", path="lib/child.flow.json"),
                       node("out", "flow.output", name="answer")],
                      [("n.value", "child.x"), ("child.result", "out.value")])


def test_file_paths_resolve_against_the_folder_of_the_file_holding_the_node(tmp_path, monkeypatch):
    main = make_files(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    events: list[Any] = []
    result = run_file(main, subscribers=(events.append,))
    assert result.status == "completed", result.error
    assert result.outputs == {"answer": 42}
    assert [e.node_id for e in events if e.name == "node_completed"
            and e.node_id.startswith("child/")] == [
        "child/x", "child/grand/x", "child/grand/c", "child/grand/twice", "child/grand",
        "child/r"]


def test_nodes_in_a_sub_workflow_file_see_its_folder_and_its_subgraphs(rec, tmp_path):
    write_flow(tmp_path / "lib" / "child.flow.json",
               [node("where", "test.where"), node("w", "flow.output", name="where"),
                node("each", "control.for_each", body="inc", items=[1, 2]),
                node("r", "flow.output", name="results")],
               [("where.path", "w.value"), ("each.results", "r.value")],
               subgraphs={"inc": graph([node("c", "flow.constant", value="{{ loop.item + 1 }}"),
                                        node("o", "flow.output", name="result")],
                                       [("c.value", "o.value")])})
    wf = workflow([node("child", "flow.subworkflow", path="lib/child.flow.json"),
                   node("where", "test.where")])
    result = rec.run(wf, base_dir=tmp_path)
    assert result.status == "completed", result.error
    assert result.outputs == {"child": {"where": str(tmp_path / "lib" / "data.txt"),
                                        "results": [2, 3]},
                              "where": {"path": str(tmp_path / "data.txt")}}
    assert {e.node_id for e in rec.of("node_started")} >= {"child/each/c", "child/each"}


def test_flowcli_runs_and_validates_sub_workflow_files_from_any_folder(tmp_path):
    main = make_files(tmp_path)
    env = {**os.environ, "FLOWUI_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.run([FLOWCLI, "run", str(main), "--events", "none"], cwd="/",
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["outputs"] == {"answer": 42}
    proc = subprocess.run([FLOWCLI, "validate", str(main)], cwd="/", capture_output=True,
                          text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_failure_inside_a_sub_workflow_names_the_inner_path(rec):
    sub = graph([node("boom", "toy.crash"), node("o", "flow.output", name="o")],
                [("boom.value", "o.value")])
    wf = workflow([node("sw", "flow.subworkflow", subgraph="s")], subgraphs={"s": sub})
    result = rec.run(wf)
    assert result.status == "failed"
    assert result.failed_node == "sw/boom"
    assert result.error == {"type": "ValueError", "message": "unclassified failure",
                            "node": "sw/boom"}


# --- bodies that contain themselves ----------------------------------------------------------


def test_files_that_call_each_other_are_refused_before_running(rec, tmp_path):
    write_flow(tmp_path / "b.flow.json", [node("call_a", "flow.subworkflow", path="a.flow.json")])
    a = write_flow(tmp_path / "a.flow.json",
                   [node("call_b", "flow.subworkflow", path="b.flow.json")])
    env = {**os.environ, "FLOWUI_DATA_DIR": str(tmp_path / "data")}
    for command in ("validate", "run"):
        proc = subprocess.run([FLOWCLI, command, str(a)], capture_output=True, text=True,
                              timeout=60, env=env)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert ("node 'call_b', config.path: runs a body that contains itself: b.flow.json "
                "-> a.flow.json -> b.flow.json") in proc.stdout + proc.stderr


def test_a_file_that_calls_itself_is_refused(rec, tmp_path):
    me = write_flow(tmp_path / "me.flow.json", [node("again", "flow.subworkflow",
                                                     path="./me.flow.json")])
    problems = validate(load(me), rec.registry, base_dir=tmp_path)
    assert [(p.node_id, p.message) for p in problems] == [
        ("again", "runs a body that contains itself: me.flow.json -> me.flow.json; a body "
                  "cannot call the graph it is part of")]


def test_subgraphs_that_call_each_other_are_reported_on_the_nodes_of_the_cycle(rec):
    wf = workflow(
        [node("top", "control.for_each", body="a", items=[1])],
        subgraphs={
            "a": graph([node("x", "flow.subworkflow", subgraph="b"),
                        node("c", "flow.constant", value=1),
                        node("r", "flow.output", name="result"),
                        node("s", "flow.output", name="state")],
                       [("c.value", "r.value"), ("c.value", "s.value")]),
            "b": graph([node("y", "control.loop", body="a", condition="false")]),
            "self": graph([node("z", "flow.subworkflow", subgraph="self")])})
    found = {(p.node_id, p.message) for p in validate(wf, rec.registry)}
    tail = "; a body cannot call the graph it is part of"
    assert found == {
        ("a/x", "runs a body that contains itself: subgraph 'a' -> subgraph 'b' -> "
                "subgraph 'a'" + tail),
        ("b/y", "runs a body that contains itself: subgraph 'b' -> subgraph 'a' -> "
                "subgraph 'b'" + tail),
        ("self/z", "runs a body that contains itself: subgraph 'self' -> subgraph 'self'"
                   + tail)}


def test_nesting_is_bounded_at_run_time(rec):
    # 70 distinct subgraphs, each calling the next: valid, but deeper than MAX_NESTING (64)
    depth = 70
    subgraphs = {f"s{k}": graph([node(f"n{k}", "flow.subworkflow", subgraph=f"s{k + 1}")])
                 for k in range(1, depth)}
    subgraphs[f"s{depth}"] = graph([node("leaf", "flow.constant", value=1)])
    wf = workflow([node("n0", "flow.subworkflow", subgraph="s1")], subgraphs=subgraphs)
    result = rec.run(wf)
    deepest = "/".join(f"n{k}" for k in range(65))
    assert result.status == "failed" and result.failed_node == deepest
    assert result.error["message"] == (f"bodies nest more than 64 levels deep at {deepest}: "
                                       "does a sub-workflow call itself?")
    assert not [e for e in rec.of("node_started") if e.node_id.endswith("/leaf")]


def test_the_run_loads_a_sub_workflow_file_once(rec, tmp_path, monkeypatch):
    write_flow(tmp_path / "inc.flow.json",
               [node("c", "flow.constant", value="{{ inputs.v + 1 }}"),
                node("o", "flow.output", name="v")],
               [("c.value", "o.value")], inputs={"v": {"type": "integer"}})
    body = graph([node("it", "flow.input", name="item"),
                  node("sw", "flow.subworkflow", path="inc.flow.json"),
                  node("o", "flow.output", name="result")],
                 [("it.value", "sw.v"), ("sw.v", "o.value")])
    wf = workflow([node("each", "control.for_each", body="b", items=[1, 2, 3])],
                  subgraphs={"b": body})
    loads: list[Path] = []
    real_load = workflow_file.load
    monkeypatch.setattr(workflow_file, "load", lambda p: loads.append(p) or real_load(p))
    result = rec.run(wf, base_dir=tmp_path)
    assert result.outputs == {"each": {"results": [2, 3, 4]}}
    assert loads == [(tmp_path / "inc.flow.json").resolve()]
