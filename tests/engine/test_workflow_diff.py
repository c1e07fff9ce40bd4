"""The workflow diff (engine.workflow.diff) on constructed pairs."""

from __future__ import annotations

import copy
from typing import Any

from engine.workflow.diff import FieldChange, diff_workflows
from engine.workflow.file import from_data

BASE: dict[str, Any] = {
    "format": "flowui-workflow", "version": 1, "name": "orders",
    "inputs": {"city": {"type": "string", "default": "Paris"}},
    "nodes": [
        {"id": "fetch", "type": "http.request", "position": [0, 0],
         "config": {"url": "https://x", "headers": {"Accept": "json", "X": "1"},
                    "token": {"$secret": "API_TOKEN"}}},
        {"id": "show", "type": "debug.log", "position": [300, 0], "config": {}},
        {"id": "old", "type": "debug.log", "position": [300, 200]},
    ],
    "connections": [{"from": "fetch.body", "to": "show.value"},
                    {"from": "fetch.body", "to": "old.value"}],
    "subgraphs": {"body": {"nodes": [{"id": "a", "type": "flow.input", "config": {"name": "x"}}]},
                  "gone": {"nodes": []}},
}


def pair(edit) -> tuple[Any, Any]:
    new = copy.deepcopy(BASE)
    edit(new)
    return from_data(copy.deepcopy(BASE)), from_data(new)


def test_identical_workflows_have_no_differences():
    d = diff_workflows(*pair(lambda w: None))
    assert d.empty and d.nodes == () and d.wires == () and d.fields == () and d.subgraphs == {}


def test_added_removed_and_changed_nodes_matched_by_id():
    def edit(w):
        w["nodes"] = [n for n in w["nodes"] if n["id"] != "old"]
        w["nodes"].append({"id": "new", "type": "debug.log", "position": [600, 0]})
        w["nodes"][1]["title"] = "Show it"
        w["nodes"].reverse()  # order is not identity
    d = diff_workflows(*pair(edit))
    kinds = {n.node_id: n.kind for n in d.nodes}
    assert kinds == {"old": "removed", "new": "added", "show": "changed"}
    assert d.node("show").changes == (FieldChange("title", None, "Show it"),)
    assert not d.node("show").minor


def test_nested_config_fields_have_a_path_and_secret_references_compare_as_written():
    def edit(w):
        cfg = w["nodes"][0]["config"]
        cfg["headers"]["Accept"] = "xml"
        del cfg["headers"]["X"]
        cfg["headers"]["Y"] = 2
        cfg["token"] = {"$secret": "OTHER_TOKEN"}
    d = diff_workflows(*pair(edit))
    assert [n.node_id for n in d.nodes] == ["fetch"]
    assert d.node("fetch").changes == (
        FieldChange("config.headers.Accept", "json", "xml"),
        FieldChange("config.headers.X", "1", None),
        FieldChange("config.headers.Y", None, 2),
        FieldChange("config.token.$secret", "API_TOKEN", "OTHER_TOKEN"),
    )
    assert d.node("fetch").changes[0].describe() == "config.headers.Accept: 'json' → 'xml'"


def test_a_move_is_one_minor_change():
    d = diff_workflows(*pair(lambda w: w["nodes"][1].update(position=[320, 40])))
    (nd,) = d.nodes
    assert nd.minor and nd.changes == (FieldChange("position", (300.0, 0.0), (320.0, 40.0)),)
    d = diff_workflows(*pair(lambda w: w["nodes"][1].update(position=[320, 40], type="x.y")))
    assert not d.nodes[0].minor and [c.path for c in d.nodes[0].changes] == ["type", "position"]


def test_wires_added_and_removed():
    def edit(w):
        w["connections"] = [{"from": "fetch.body", "to": "show.value"},
                            {"from": "fetch.status", "to": "show.value"}]
    d = diff_workflows(*pair(edit))
    assert {(x.kind, x.source, x.target) for x in d.wires} == {
        ("removed", "fetch.body", "old.value"), ("added", "fetch.status", "show.value")}
    assert d.nodes == ()


def test_inputs_settings_and_name():
    def edit(w):
        w["inputs"]["city"]["default"] = "Lyon"
        w["inputs"]["n"] = {"type": "integer"}
        w["settings"] = {"max_parallel": 2}
        w["name"] = "orders2"
    d = diff_workflows(*pair(edit))
    paths = {c.path: (c.old, c.new) for c in d.fields}
    assert paths["name"] == ("orders", "orders2")
    assert paths["inputs.city.default"] == ("Paris", "Lyon")
    assert paths["inputs.n"][0] is None and paths["inputs.n"][1]["type"] == "integer"
    assert paths["settings.max_parallel"] == (8, 2)
    assert len(paths) == 4


def test_subgraphs_by_name_recursively():
    def edit(w):
        w["subgraphs"]["body"]["nodes"][0]["config"]["name"] = "y"
        del w["subgraphs"]["gone"]
        w["subgraphs"]["fresh"] = {"nodes": [{"id": "b", "type": "flow.output"}]}
    d = diff_workflows(*pair(edit))
    assert d.nodes == () and d.fields == ()
    assert {k: s.kind for k, s in d.subgraphs.items()} == {
        "body": "changed", "gone": "removed", "fresh": "added"}
    assert d.subgraphs["body"].body.node("a").changes == (FieldChange("config.name", "x", "y"),)
    assert [n.kind for n in d.subgraphs["fresh"].body.nodes] == ["added"]
    assert not d.empty
