"""Validation: every problem at once, each with its node id."""

from __future__ import annotations

import time

from engine import validate
from engine.core.plan import compile_plan
from tests.engine.toy import toy_registry, workflow


def codes(problems) -> list[tuple[str, str | None]]:
    return [(p.code, p.node_id) for p in problems]


def test_valid_workflow_has_no_problems():
    wf = workflow([{"id": "a", "type": "toy.source"}, {"id": "b", "type": "toy.add"}],
                  [("a.value", "b.a")])
    assert validate(wf, toy_registry()) == []


def test_every_problem_is_reported_at_once():
    wf = workflow(
        [
            {"id": "unknown", "type": "toy.sauce"},
            {"id": "cfg", "type": "toy.sleep", "config": {"seconds": -1, "extra": 1}},
            {"id": "src", "type": "toy.source"},
            {"id": "txt", "type": "toy.text"},
            {"id": "num", "type": "toy.add"},
            {"id": "two", "type": "toy.add"},
            {"id": "lonely", "type": "toy.add"},
        ],
        [
            ("src.nope", "two.a"),            # unknown output
            ("src.value", "two.zzz"),         # unknown input
            ("txt.length", "two.a"),          # integer -> number: fine
            ("src.value", "two.a"),           # second wire into a single input
            ("txt.text", "num.a"),            # string -> number: incompatible
            ("ghost.value", "num.b"),         # unknown node
        ],
    )
    problems = validate(wf, toy_registry())
    got = codes(problems)
    assert ("unknown_type", "unknown") in got
    assert got.count(("bad_config", "cfg")) == 2
    assert ("unknown_port", "src") in got and ("unknown_port", "two") in got
    assert ("input_taken", "two") in got
    assert ("type_mismatch", "num") in got
    assert ("unknown_node", "num") in got
    assert ("missing_input", "lonely") in got and ("missing_input", "txt") in got
    text = "\n".join(str(p) for p in problems)
    assert "unknown node type 'toy.sauce' (did you mean 'toy.source'?)" in text
    assert "node 'cfg', config.seconds: Input should be greater than or equal to 0" in text
    assert "unknown config field 'extra'" in text
    assert "output 'text' is string but input 'a' takes number" in text
    assert "has no output 'nope' (outputs: value, error)" in text


def test_cycle_names_the_nodes_on_it():
    wf = workflow([{"id": n, "type": "toy.add"} for n in ("a", "b", "c")] +
                  [{"id": "s", "type": "toy.source"}],
                  [("s.value", "a.a"), ("a.sum", "b.a"), ("b.sum", "c.a"), ("c.sum", "a.b")])
    problems = [p for p in validate(wf, toy_registry()) if p.code == "cycle"]
    assert len(problems) == 1
    msg = problems[0].message
    assert "cycle" in msg and all(n in msg for n in ("a", "b", "c")) and "'s'" not in msg


def test_self_loop_is_a_cycle():
    wf = workflow([{"id": "a", "type": "toy.add"}], [("a.sum", "a.a")])
    assert ("cycle", "a") in codes(validate(wf, toy_registry()))


def test_cycle_check_is_fast_on_wide_acyclic_graphs():
    n = 10_000
    nodes = [{"id": "root", "type": "toy.source"}] + [
        {"id": f"n{i}", "type": "toy.gather"} for i in range(n)]
    conns = [("root.value", f"n{i}.items") for i in range(n)]
    conns += [(f"n{i}.items", f"n{i + 1}.items") for i in range(0, n - 1, 2)]
    wf = workflow(nodes, conns)
    t0 = time.perf_counter()
    assert validate(wf, toy_registry()) == []
    assert time.perf_counter() - t0 < 5  # find_cycle over the whole graph would take far longer


def test_template_syntax_errors_are_reported_with_field_path():
    wf = workflow([{"id": "a", "type": "toy.source",
                    "config": {"value": {"deep": ["ok", "{{ broken( }}"]}}}])
    problems = validate(wf, toy_registry())
    assert codes(problems) == [("template_syntax", "a")]
    assert problems[0].field.startswith("config.value")


def test_required_input_satisfied_by_config_field():
    wf = workflow([{"id": "s", "type": "toy.sleep"}, {"id": "m", "type": "toy.multiply",
                                                      "config": {"x": 2}}])
    assert validate(wf, toy_registry()) == []


def test_missing_and_mistyped_workflow_inputs():
    wf = workflow([{"id": "a", "type": "toy.source"}],
                  inputs={"n": {"type": "number"}, "s": {"type": "string", "default": "x"}})
    reg = toy_registry()
    assert validate(wf, reg) == []  # without inputs, only the file is checked
    assert codes(validate(wf, reg, inputs={})) == [("missing_input", None)]
    problems = validate(wf, reg, inputs={"n": "ten", "s": 1})
    assert [p.code for p in problems] == ["input_type", "input_type"]
    assert "input 'n' must be number, got string" in str(problems[0])
    assert validate(wf, reg, inputs={"n": 10}) == []


def test_compile_plan_raises_with_all_problems():
    import pytest

    from engine.errors import WorkflowInvalidError

    wf = workflow([{"id": "a", "type": "toy.nope"}, {"id": "b", "type": "toy.nah"}])
    with pytest.raises(WorkflowInvalidError) as e:
        compile_plan(wf, toy_registry())
    assert len(e.value.problems) == 2 and "2 problems" in str(e.value)


def test_duplicate_ids_are_reported():
    wf = workflow([{"id": "a", "type": "toy.source"}, {"id": "a", "type": "toy.source"}])
    assert ("duplicate_id", "a") in codes(validate(wf, toy_registry()))


def test_input_ports_can_be_typed_into_the_config():
    reg = toy_registry()
    assert validate(workflow([{"id": "t", "type": "toy.text", "config": {"text": "hi"}}]),
                    reg) == []
    problems = validate(workflow([{"id": "t", "type": "toy.text", "config": {"text": 5}}]), reg)
    assert [str(p) for p in problems] == [
        "node 't', config.text: input 'text' takes string, but the config gives integer"]
    problems = validate(workflow([{"id": "t", "type": "toy.text", "config": {"txt": "x"}}]), reg)
    assert "unknown config field 'txt' (did you mean 'text'?)" in str(problems[0])


def test_one_nodes_problems_are_what_a_full_validation_says_of_it():
    from pathlib import Path

    from engine.core.validation import node_problems

    wf = workflow(
        [{"id": "unknown", "type": "toy.sauce"},
         {"id": "cfg", "type": "toy.sleep", "config": {"seconds": -1, "extra": 1}},
         {"id": "src", "type": "toy.source"}, {"id": "txt", "type": "toy.text"},
         {"id": "num", "type": "toy.add"}, {"id": "two", "type": "toy.add"},
         {"id": "lonely", "type": "toy.add"}, {"id": "tpl", "type": "toy.source",
                                              "config": {"value": "{{ broken( }}"}}],
        [("src.nope", "two.a"), ("src.value", "two.zzz"), ("txt.length", "two.a"),
         ("src.value", "two.a"), ("txt.text", "num.a"), ("ghost.value", "num.b")])
    registry = toy_registry()
    everything = validate(wf, registry)
    for spec in wf.nodes:
        mine = node_problems(wf, None, spec.id, registry, base_dir=Path.cwd())
        expected = [p for p in everything if p.node_id == spec.id and p.code != "cycle"]
        assert sorted(map(str, mine)) == sorted(map(str, expected)), spec.id


def test_a_missing_config_field_has_its_own_code():
    from engine import Registry

    problems = validate(workflow([{"id": "c", "type": "control.if"}]),
                        Registry.discover(plugins=False))
    assert [(p.code, p.node_id, p.field) for p in problems] == [
        ("missing_config", "c", "config.condition")]
