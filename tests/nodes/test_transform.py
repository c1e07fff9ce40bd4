"""transform.template, transform.select and debug.inspect through the real runner."""

from __future__ import annotations

import json
from typing import Any

from tests.engine.toy import workflow


def const(value: Any) -> dict[str, Any]:
    return {"id": "c", "type": "flow.constant", "config": {"value": value}}


def through(builtin, node: dict[str, Any], value: Any, **extra: Any):
    """Run `value` -> node (id "n", input "value")."""
    return builtin.run(workflow([const(value), {"id": "n", **node}], [("c.value", "n.value")],
                                **extra))


# --- transform.template ----------------------------------------------------------------------

def test_template_renders_ports_value_inputs_and_statements(builtin):
    template = ("{{ inputs.title }}: {% for item in ports.value.rows %}{{ item.name }}"
                "{% if not loop.last %}, {% endif %}{% endfor %} ({{ value.rows | length }})")
    result = through(builtin, {"type": "transform.template", "config": {"template": template}},
                     {"rows": [{"name": "a"}, {"name": "b"}]},
                     inputs={"title": {"type": "string", "default": "Items"}})
    assert result.status == "completed", result.error
    assert result.outputs["n"]["text"] == "Items: a, b (2)"


def test_template_output_is_text_even_for_a_lone_expression(builtin):
    result = through(builtin, {"type": "transform.template",
                               "config": {"template": "{{ value }}"}}, 42)
    assert result.outputs["n"]["text"] == "42"


def test_template_data_is_not_rendered_again(builtin):
    wf = workflow([{"id": "i", "type": "flow.input", "config": {"name": "text"}},
                   {"id": "n", "type": "transform.template",
                    "config": {"template": "got {{ value }}"}}],
                  [("i.value", "n.value")], inputs={"text": {"type": "string"}})
    result = builtin.run(wf, {"text": "{{ 7 * 6 }}"})
    assert result.outputs["n"]["text"] == "got {{ 7 * 6 }}"


def test_template_syntax_error_is_a_validation_problem(builtin):
    result = through(builtin, {"type": "transform.template",
                               "config": {"template": "{% for x in value %}no end"}}, [1])
    assert result.error["type"] == "validation"
    assert "config.template" in result.error["message"]


def test_template_undefined_name_fails_with_TemplateError(builtin):
    result = through(builtin, {"type": "transform.template",
                               "config": {"template": "{{ nope.x }}"}}, 1)
    assert result.error["type"] == "TemplateError"


# --- transform.select ------------------------------------------------------------------------

DATA = {"items": [{"name": "pen", "price": 3}, {"name": "book", "price": 12},
                  {"name": "lamp", "price": 30}], "owner": {"name": "Ada"}}


def select(builtin, query: str, value: Any = DATA, **node: Any):
    return through(builtin, {"type": "transform.select", "config": {"query": query}, **node},
                   value)


def test_select_filters_and_projects(builtin):
    result = select(builtin, "items[?price > `10`].name")
    assert result.status == "completed", result.error
    assert result.outputs["n"]["result"] == ["book", "lamp"]
    assert select(builtin, "{owner: owner.name, total: sum(items[].price)}") \
        .outputs["n"]["result"] == {"owner": "Ada", "total": 45}


def test_select_missing_path_gives_null(builtin):
    assert select(builtin, "owner.email").outputs["n"]["result"] is None


def test_select_invalid_query_is_a_validation_problem(builtin):
    result = select(builtin, "items[?price >")
    assert result.error["type"] == "validation"
    assert "config.query" in result.error["message"]
    assert "not a valid JMESPath query" in result.error["message"]
    assert not builtin.of("node_started")


def test_select_unknown_function_is_a_validation_problem(builtin):
    result = select(builtin, "frobnicate(items)")
    assert result.error["type"] == "validation"
    assert "unknown JMESPath function(s) frobnicate" in result.error["message"]


def test_select_runtime_error_fails_without_retry(builtin):
    result = select(builtin, "length(@)", 5, retry={"max_attempts": 3, "delay_s": 0})
    assert result.status == "failed" and result.error["type"] == "NodeError"
    assert "JMESPath query 'length(@)' failed" in result.error["message"]
    assert len(builtin.of("node_started")) == 2  # the constant and one attempt


def test_select_query_may_be_a_template(builtin):
    result = builtin.run(workflow(
        [const(DATA), {"id": "n", "type": "transform.select",
                       "config": {"query": "owner.{{ inputs.field }}"}}],
        [("c.value", "n.value")], inputs={"field": {"type": "string", "default": "name"}}))
    assert result.outputs["n"]["result"] == "Ada"


# --- debug.inspect ---------------------------------------------------------------------------

def test_inspect_passes_the_value_and_summarises_it_in_node_completed(builtin):
    result = through(builtin, {"type": "debug.inspect"}, DATA)
    assert result.status == "completed", result.error
    assert result.outputs["n"]["value"] == DATA
    [done] = [e for e in builtin.of("node_completed") if e.node_id == "n"]
    summary = done.outputs["summary"]
    assert summary["type"] == "object" and summary["size"] == 2
    assert summary["bytes"] == len(json.dumps(DATA).encode())
    assert summary["shape"] == {"items": [{"name": "string", "price": "integer"}],
                                "owner": {"name": "string"}}
    assert summary["preview"]["owner"] == {"name": "Ada"}
    [log] = builtin.of("node_log")
    assert log.message == f"object of 2 keys (items, owner), {summary['bytes']} bytes as JSON"


def test_inspect_shapes_of_mixed_arrays_scalars_and_text(builtin):
    cases = [
        ([1, "a", 2, None, {"k": [1.5]}], "array", 5,
         ["integer", "string", "null", {"k": ["number"]}]),
        ("héllo", "string", 5, "string"),
        (True, "boolean", None, "boolean"),
        (None, "null", None, "null"),
        ([{f"k{i}": i} for i in range(8)], "array", 8,
         [{"k0": "integer"}, {"k1": "integer"}, {"k2": "integer"}, {"k3": "integer"},
          {"k4": "integer"}, "…"]),
    ]
    for value, kind, size, shape in cases:
        result = through(builtin, {"type": "debug.inspect", "config": {"log": False}}, value)
        summary = result.outputs["n"]["summary"]
        assert (summary["type"], summary["size"], summary["shape"]) == (kind, size, shape), value
        assert result.outputs["n"]["value"] == value
        assert not builtin.of("node_log")


def test_inspect_preview_of_a_large_value_is_cut(builtin):
    big = {"rows": [{"id": i, "tags": ["x"] * 3} for i in range(500)]}
    result = through(builtin, {"type": "debug.inspect"}, big)
    summary = result.outputs["n"]["summary"]
    assert summary["shape"] == {"rows": [{"id": "integer", "tags": ["string"]}]}
    assert len(json.dumps(summary["preview"])) < 5000
    assert "array of 3 items" not in builtin.of("node_log")[0].message
    assert builtin.of("node_log")[0].message.startswith("object of 1 keys (rows)")
