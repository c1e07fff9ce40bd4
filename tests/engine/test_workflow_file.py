"""Loading and saving workflow files: messages with places, migrations, byte-identical saves."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from engine.errors import WorkflowFileError
from engine.workflow import file as workflow_file
from engine.workflow.migrations import Migrator

EXAMPLES = sorted((Path(__file__).parents[2] / "resources" / "examples").glob("*.flow.json"))


def write(tmp_path: Path, text: str, name: str = "w.flow.json") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def minimal(**extra: object) -> dict:
    return {"format": "flowui-workflow", "version": 1, **extra}


def test_broken_json_names_file_line_and_column(tmp_path):
    p = write(tmp_path, '{\n  "format": "flowui-workflow",\n  "version": 1,\n  "nodes": [,]\n}')
    with pytest.raises(WorkflowFileError) as e:
        workflow_file.load(p)
    msg = str(e.value)
    assert str(p) in msg and "line 4, column 13" in msg and "invalid JSON" in msg


def test_not_utf8_and_missing_file(tmp_path):
    p = tmp_path / "bin.flow.json"
    p.write_bytes(b'{"format": "\xff"}')
    with pytest.raises(WorkflowFileError, match="not UTF-8"):
        workflow_file.load(p)
    with pytest.raises(WorkflowFileError, match="cannot read the file"):
        workflow_file.load(tmp_path / "missing.flow.json")


def test_wrong_format_is_refused(tmp_path):
    with pytest.raises(WorkflowFileError, match="not a FlowUI workflow"):
        workflow_file.load(write(tmp_path, json.dumps({"nodes": []})))
    with pytest.raises(WorkflowFileError, match="top level must be a JSON object"):
        workflow_file.load(write(tmp_path, "[1, 2]"))


def test_schema_errors_name_node_and_field_all_at_once(tmp_path):
    data = minimal(nodes=[
        {"id": "fetch", "type": "x.y", "retry": {"max_attempts": 0}},
        {"id": "ok", "type": "x.y", "timout_s": 3},
        {"id": "bad id!", "type": "x.y"},
    ], connections=[{"from": "fetch", "to": "ok.in"}])
    with pytest.raises(WorkflowFileError) as e:
        workflow_file.load(write(tmp_path, json.dumps(data)))
    problems = e.value.problems
    assert len(problems) == 4
    joined = "\n".join(problems)
    assert "node 'fetch' (nodes[0]): field 'retry.max_attempts'" in joined
    assert "node 'ok' (nodes[1]): unknown field 'timout_s' (did you mean 'timeout_s'?)" in joined
    assert "node 'bad id!' (nodes[2]): field 'id'" in joined
    assert "connections[0] ('fetch' -> 'ok.in'): field 'from'" in joined


def test_newer_version_is_a_clear_error(tmp_path):
    with pytest.raises(WorkflowFileError, match=r"version 99 is newer .* upgrade FlowUI"):
        workflow_file.load(write(tmp_path, json.dumps(minimal(version=99))))
    with pytest.raises(WorkflowFileError, match="whole number"):
        workflow_file.load(write(tmp_path, json.dumps(minimal(version="1"))))


def test_migrations_chain_through_every_step():
    calls = []

    def v1_to_v2(d):
        calls.append(1)
        d["nodes"] = [{**n, "config": n.pop("params", {})} for n in d.get("nodes", [])]
        return d

    def v2_to_v3(d):
        calls.append(2)
        d["name"] = d.pop("title", "")
        return d

    migrator = Migrator(3, {1: v1_to_v2, 2: v2_to_v3})
    old = {"format": "flowui-workflow", "version": 1, "title": "Old",
           "nodes": [{"id": "a", "type": "t.x", "params": {"k": 1}}]}
    upgraded = migrator.upgrade(old)
    assert calls == [1, 2]
    assert upgraded["version"] == 3 and upgraded["name"] == "Old"
    assert upgraded["nodes"][0]["config"] == {"k": 1}
    assert old["version"] == 1 and "params" in old["nodes"][0]  # the input is untouched
    calls.clear()
    assert migrator.upgrade({**upgraded, "version": 2})["version"] == 3 and calls == [2]


def test_loader_runs_the_migration_chain():
    # A synthetic world in which this program writes version 2 and the file is version 1.
    def rename_label(d: dict) -> dict:
        d["name"] = d.pop("label")
        return d

    migrator = Migrator(2, {1: rename_label})
    text = json.dumps({"format": "flowui-workflow", "version": 1, "label": "Old name"})
    wf = workflow_file.loads(text, migrator=migrator)
    assert wf.name == "Old name" and wf.version == 2
    assert "label" not in (wf.model_extra or {})


def test_incomplete_migration_chain_is_a_programming_error():
    with pytest.raises(ValueError, match="no migration step"):
        Migrator(3, {1: lambda d: d})


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_save_back_byte_identical(path):
    text = path.read_text(encoding="utf-8")
    assert workflow_file.dumps(workflow_file.loads(text)) == text


def test_save_is_deterministic_and_normalised(tmp_path):
    data = minimal(name="N", extra_top={"kept": True}, nodes=[
        {"id": "b", "type": "t.y", "position": [10.6, -3.2], "config": {"z": 1, "a": [1, 2]},
         "timeout_s": 30.0, "retry": {"max_attempts": 3, "delay_s": 0.5}},
        {"id": "a", "type": "t.x"},
    ], connections=[{"to": "a.in", "from": "b.out"}])
    wf = workflow_file.from_data(data)
    first = workflow_file.dumps(wf)
    again = workflow_file.dumps(workflow_file.loads(first))
    assert first == again
    out = json.loads(first)
    assert list(out)[:10] == ["format", "version", "name", "description", "inputs", "settings",
                              "nodes", "connections", "subgraphs", "ui"]
    assert out["extra_top"] == {"kept": True}  # unknown top-level keys survive
    assert [n["id"] for n in out["nodes"]] == ["b", "a"]  # document order
    assert out["nodes"][0]["position"] == [11, -3]
    assert list(out["nodes"][0]["config"]) == ["z", "a"]
    assert out["nodes"][0]["timeout_s"] == 30 and '"timeout_s": 30\n' in first
    assert out["connections"] == [{"from": "b.out", "to": "a.in"}]
    assert first.endswith("}\n") and '\n  "version": 1,' in first
    assert '"position": [11, -3],' in first  # one line: moving a node changes one line


def test_save_is_atomic_and_keeps_permissions(tmp_path, monkeypatch):
    target = tmp_path / "w.flow.json"
    target.write_text("old", encoding="utf-8")
    os.chmod(target, 0o640)
    wf = workflow_file.from_data(minimal(name="new"))
    workflow_file.save(wf, target)
    assert json.loads(target.read_text())["name"] == "new"
    assert os.stat(target).st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["w.flow.json"]  # no temp file left

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        workflow_file.save(workflow_file.from_data(minimal(name="newer")), target)
    assert json.loads(target.read_text())["name"] == "new"  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["w.flow.json"]


def test_input_required_defaults_to_having_no_default():
    wf = workflow_file.from_data(minimal(inputs={
        "a": {"type": "string"}, "b": {"type": "number", "default": 1},
        "c": {"type": "string", "required": False}, "d": {"type": "any", "default": None}}))
    assert [wf.inputs[k].is_required for k in "abcd"] == [True, False, False, False]
    saved = json.loads(workflow_file.dumps(wf))["inputs"]
    assert saved["d"] == {"type": "any", "default": None}
    assert saved["c"] == {"type": "string", "required": False}
