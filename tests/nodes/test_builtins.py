"""The first built-in nodes, run through the real registry (entry point) and runner."""

from __future__ import annotations

import time

import pytest

from engine import Registry
from tests.engine.toy import workflow


def const(node_id: str, value: object) -> dict:
    return {"id": node_id, "type": "flow.constant", "config": {"value": value}}


def test_builtins_arrive_through_the_entry_point():
    reg = Registry.discover(plugins=False)
    assert reg.origin("flow.constant").startswith("entry point 'builtins'")
    assert {"flow.constant", "flow.input", "flow.output", "debug.log", "transform.json_parse",
            "transform.json_stringify", "control.if", "control.merge",
            "time.delay"} <= set(reg.type_ids())


def test_constant_renders_templates_and_keeps_lone_expression_types(builtin):
    wf = workflow([const("c", {"n": "{{ inputs.n * 2 }}", "s": "n={{ inputs.n }}",
                               "list": ["{{ inputs.n }}", "plain"], "raw": 5,
                               "run": "{{ run.id }}"})],
                  inputs={"n": {"type": "integer", "default": 21}})
    result = builtin.run(wf)
    value = result.outputs["c"]["value"]
    assert value["n"] == 42 and value["s"] == "n=21" and value["list"] == [21, "plain"]
    assert value["raw"] == 5 and value["run"] == result.run_id


def test_data_is_never_rendered_twice(builtin):
    wf = workflow([const("c", "{{ inputs.text }}")], inputs={"text": {"type": "string"}})
    result = builtin.run(wf, {"text": "{{ 7 * 7 }}"})
    assert result.outputs["c"]["value"] == "{{ 7 * 7 }}"


def test_template_error_fails_the_node_with_TemplateError(builtin):
    wf = workflow([const("c", "{{ inputs.missing }}")])
    result = builtin.run(wf)
    assert result.status == "failed"
    assert result.error["type"] == "TemplateError" and result.failed_node == "c"
    assert "missing" in result.error["message"] and "config.value" in result.error["message"]


def test_sandbox_escape_through_a_workflow_is_refused(builtin, tmp_path):
    marker = tmp_path / "pwned"
    payload = ("{{ ''.__class__.__mro__[1].__subclasses__() }}"
               f"{{{{ cycler.__init__.__globals__.os.system('touch {marker}') }}}}")
    wf = workflow([const("c", payload)])
    result = builtin.run(wf)
    assert result.error["type"] == "TemplateError"
    assert not marker.exists()


def test_input_and_output_nodes_make_the_result(builtin):
    wf = workflow([{"id": "i", "type": "flow.input", "config": {"name": "who"}},
                   {"id": "o", "type": "flow.output", "config": {"name": "greeting"}},
                   {"id": "unused", "type": "flow.constant", "config": {"value": 1}}],
                  [("i.value", "o.value")], inputs={"who": {"type": "string", "default": "x"}})
    assert builtin.run(wf, {"who": "Ada"}).outputs == {"greeting": "Ada"}
    assert builtin.run(wf).outputs == {"greeting": "x"}


def test_flow_input_must_name_a_declared_input(builtin):
    wf = workflow([{"id": "i", "type": "flow.input", "config": {"name": "nope"}}])
    result = builtin.run(wf)
    assert result.error["type"] == "validation"
    assert "there is no workflow input 'nope'" in result.error["message"]


def test_debug_log_logs_and_passes_on(builtin):
    wf = workflow([const("c", {"id": 7}),
                   {"id": "plain", "type": "debug.log"},
                   {"id": "fmt", "type": "debug.log",
                    "config": {"level": "warning", "format": "id={{ ports.message.id }}"}}],
                  [("c.value", "plain.message"), ("c.value", "fmt.message")])
    result = builtin.run(wf)
    logs = {e.node_id: (e.level, e.message) for e in builtin.of("node_log")}
    assert logs == {"plain": ("info", '{"id": 7}'), "fmt": ("warning", "id=7")}
    assert result.outputs == {"plain": {"value": {"id": 7}}, "fmt": {"value": {"id": 7}}}


def test_json_parse_and_stringify_round_trip(builtin):
    wf = workflow([const("c", '{"b": [1, 2], "a": null}'),
                   {"id": "parse", "type": "transform.json_parse"},
                   {"id": "dump", "type": "transform.json_stringify",
                    "config": {"sort_keys": True, "indent": 1}}],
                  [("c.value", "parse.json"), ("parse.parsed", "dump.value")])
    assert builtin.run(wf).outputs["dump"]["json"] == '{\n "a": null,\n "b": [\n  1,\n  2\n ]\n}'


def test_json_parse_error_is_not_retried_and_says_where(builtin):
    wf = workflow([const("c", '{"a": }'),
                   {"id": "parse", "type": "transform.json_parse",
                    "retry": {"max_attempts": 3, "delay_s": 0}}],
                  [("c.value", "parse.json")])
    result = builtin.run(wf)
    assert builtin.of("node_retrying") == []
    assert "not valid JSON" in result.error["message"] and "column 7" in result.error["message"]


def test_json_parse_refuses_non_string_values(builtin):
    wf = workflow([const("c", 42), {"id": "parse", "type": "transform.json_parse"}],
                  [("c.value", "parse.json")])
    result = builtin.run(wf)
    assert result.error["type"] == "InputTypeError"


@pytest.mark.parametrize(("value", "branch"), [({"status": 200}, "true"),
                                               ({"status": 500}, "false")])
def test_if_routes_and_skips_the_other_branch(builtin, value, branch):
    wf = workflow([const("c", value),
                   {"id": "if", "type": "control.if",
                    "config": {"condition": "value.status == 200"}},
                   {"id": "on_true", "type": "debug.log"}, {"id": "on_false", "type": "debug.log"},
                   {"id": "after_false", "type": "transform.json_stringify"},
                   {"id": "merge", "type": "control.merge"},
                   {"id": "out", "type": "flow.output", "config": {"name": "r"}}],
                  [("c.value", "if.value"), ("if.true", "on_true.message"),
                   ("if.false", "on_false.message"), ("on_false.value", "after_false.value"),
                   ("on_true.value", "merge.values"), ("after_false.json", "merge.values"),
                   ("merge.value", "out.value")])
    result = builtin.run(wf)
    assert result.status == "completed"
    skipped = {e.node_id: e.reason for e in builtin.of("node_skipped")}
    if branch == "true":
        assert skipped == {"on_false": "branch_not_taken", "after_false": "branch_not_taken"}
        assert result.outputs == {"r": value}
    else:
        assert skipped == {"on_true": "branch_not_taken"}
        assert result.outputs == {"r": '{"status": 500}'}


def test_if_condition_sees_inputs_and_bare_port_names(builtin):
    wf = workflow([const("c", 3),
                   {"id": "if", "type": "control.if",
                    "config": {"condition": "value > inputs.limit and ports.value == value"}},
                   {"id": "out", "type": "flow.output", "config": {"name": "big"}}],
                  [("c.value", "if.value"), ("if.true", "out.value")],
                  inputs={"limit": {"type": "integer", "default": 2}})
    assert builtin.run(wf).outputs == {"big": 3}


def test_if_condition_syntax_error_is_a_validation_problem(builtin):
    wf = workflow([{"id": "if", "type": "control.if", "config": {"condition": "value >"}}])
    result = builtin.run(wf)
    assert result.error["type"] == "validation" and "config.condition" in result.error["message"]


def test_if_condition_escape_fails_the_node(builtin):
    wf = workflow([{"id": "if", "type": "control.if",
                    "config": {"condition": "value.__class__.__mro__"}}])
    result = builtin.run(wf)
    assert result.error["type"] == "TemplateError" and result.failed_node == "if"


def test_merge_modes(builtin):
    def wf(mode: str):
        return workflow([const("a", "A"), const("b", "B"),
                         {"id": "sel", "type": "control.if", "config": {"condition": "false"}},
                         {"id": "m", "type": "control.merge", "config": {"mode": mode}}],
                        [("a.value", "sel.value"), ("sel.true", "m.values"),
                         ("a.value", "m.values"), ("b.value", "m.values")])
    assert builtin.run(wf("first")).outputs["m"] == {"value": "A"}
    assert builtin.run(wf("all")).outputs["m"] == {"value": ["A", "B"]}


def test_merge_with_every_input_skipped_is_skipped(builtin):
    wf = workflow([const("a", 1),
                   {"id": "sel", "type": "control.if", "config": {"condition": "false"}},
                   {"id": "m", "type": "control.merge"}],
                  [("a.value", "sel.value"), ("sel.true", "m.values")])
    builtin.run(wf)
    assert ("node_skipped", "m", "branch_not_taken") in builtin.trace()


def test_delay_waits_and_passes_value(builtin):
    wf = workflow([const("c", "v"), {"id": "d", "type": "time.delay",
                                     "config": {"seconds": 0.2}}], [("c.value", "d.value")])
    t0 = time.perf_counter()
    result = builtin.run(wf)
    assert time.perf_counter() - t0 >= 0.2 and result.outputs == {"d": {"value": "v"}}


def test_delay_seconds_can_come_from_a_wire(builtin):
    wf = workflow([const("c", 0.01), {"id": "d", "type": "time.delay"}],
                  [("c.value", "d.value")])
    assert builtin.run(wf).status == "completed"


def test_templated_config_is_type_checked_after_rendering(builtin):
    wf = workflow([{"id": "d", "type": "time.delay", "config": {"seconds": "{{ inputs.s }}"}}],
                  inputs={"s": {"type": "any"}})
    assert builtin.run(wf, {"s": 0.01}).status == "completed"
    result = builtin.run(wf, {"s": "soon"})
    assert result.status == "failed" and result.error["type"] == "ConfigError"
    assert "seconds" in result.error["message"]
