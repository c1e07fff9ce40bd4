"""control.for_each and control.loop through the real runner: order, concurrency, failure,
cancellation, events from inside bodies, and validation of what they name."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine import Node, NodeContext, NodeError, Port, Registry, Runner
from engine.core.plan import validate
from engine.workflow.model import RetryPolicy
from nodes import catalog
from tests.conftest import Recorder
from tests.engine.toy import TOY_TYPES, workflow

FLOWCLI = Path(sys.executable).with_name("flowcli")


class Reject(Node):
    """Fails for whatever value arrives: a deliberate, non-retryable node failure."""

    type = "test.reject"
    inputs = (Port("value", "any"),)
    outputs = (Port("value", "any"),)

    async def run(self, ctx: NodeContext, value: Any) -> dict[str, Any]:
        raise NodeError(f"item {value} is refused", retryable=False)


@pytest.fixture
def rec() -> Recorder:
    """The built-in node types plus toy ones (toy.crash fails, toy.gather collects)."""
    return Recorder(Registry([*catalog(), *TOY_TYPES, Reject]))


def node(node_id: str, type_id: str, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "type": type_id, "config": config}


def body(nodes: list[dict[str, Any]], connections: list[tuple[str, str]] = (),
         **extra: Any) -> dict[str, Any]:
    return {"nodes": nodes, "connections": [{"from": a, "to": b} for a, b in connections],
            **extra}


def for_each_wf(items: Any, sub: dict[str, Any], **config: Any) -> Any:
    return workflow([node("src", "flow.constant", value=items),
                     node("each", "control.for_each", body="b", **config),
                     node("out", "flow.output", name="results")],
                    [("src.value", "each.items"), ("each.results", "out.value")],
                    subgraphs={"b": sub})


def inner(rec: Recorder, kind: str, node_id: str) -> list[Any]:
    return [e for e in rec.of(kind) if e.node_id == node_id]


# A body that waits `item` seconds and returns [item, index] (read through flow.input).
WAIT_BODY = body(
    [node("it", "flow.input", name="item"), node("ix", "flow.input", name="index"),
     node("w", "time.delay", seconds="{{ loop.item }}"),
     node("log", "debug.log", format="item {{ loop.index }} waited {{ loop.item }}"),
     node("g", "toy.gather"), node("o", "flow.output", name="result")],
    [("it.value", "w.value"), ("w.value", "log.message"), ("log.value", "g.items"),
     ("ix.value", "g.items"), ("g.items", "o.value")])


# --- control.for_each ----------------------------------------------------------------------


def test_for_each_keeps_input_order_when_items_finish_out_of_order(rec):
    items = [0.12, 0.02, 0.07]
    result = rec.run(for_each_wf(items, WAIT_BODY, max_parallel=3))
    assert result.status == "completed", result.error
    assert result.outputs == {"results": [[0.12, 0], [0.02, 1], [0.07, 2]]}
    done = inner(rec, "node_completed", "each/w")
    assert [e.index for e in done] == [1, 2, 0]  # finished out of order, collected in order
    assert [(e.index, e.message) for e in inner(rec, "node_log", "each/log")] == [
        (1, "item 1 waited 0.02"), (2, "item 2 waited 0.07"), (0, "item 0 waited 0.12")]
    assert [e.fraction for e in inner(rec, "node_progress", "each")] == \
        pytest.approx([1 / 3, 2 / 3, 1.0])
    # events from the body name nodes by path and carry the item's index, never `iteration`
    body_events = [e for e in rec.events if getattr(e, "node_id", "").startswith("each/")]
    assert {e.node_id for e in body_events} == {f"each/{n}" for n in
                                                ("it", "ix", "w", "log", "g", "o")}
    assert all(e.index in (0, 1, 2) and e.iteration is None for e in body_events)
    assert all(e.to_dict()["index"] == e.index for e in body_events)
    top = [e for e in rec.events if getattr(e, "node_id", None) == "each"]
    assert all("index" not in e.to_dict() for e in top)


@pytest.mark.parametrize("max_parallel", [1, 3])
def test_for_each_runs_at_most_max_parallel_items_at_once(rec, max_parallel):
    result = rec.run(for_each_wf([0.03] * 6, WAIT_BODY, max_parallel=max_parallel))
    assert result.status == "completed", result.error
    running = peak = 0
    for e in rec.events:
        if getattr(e, "node_id", None) == "each/w":
            running += {"node_started": 1, "node_completed": -1}.get(e.name, 0)
            peak = max(peak, running)
    assert peak == max_parallel
    assert [r[1] for r in result.outputs["results"]] == list(range(6))


def test_for_each_default_is_one_item_at_a_time(rec):
    result = rec.run(for_each_wf([0.0, 0.0, 0.0], WAIT_BODY))
    assert result.status == "completed", result.error
    trace = [(e.name, e.index) for e in rec.events
             if getattr(e, "node_id", None) in ("each/it", "each/o")]
    assert trace == [(name, i) for i in range(3) for name in
                     ("node_started", "node_completed", "node_started", "node_completed")]


def crash_body(wait_s: float) -> dict[str, Any]:
    """Item 1 crashes at once; the others wait `wait_s`, then return their item."""
    return body(
        [node("it", "flow.input", name="item"),
         node("if", "control.if", condition="value == 1"), node("crash", "test.reject"),
         node("w", "time.delay", seconds=wait_s), node("o", "flow.output", name="result")],
        [("it.value", "if.value"), ("if.true", "crash.value"), ("if.false", "w.value"),
         ("w.value", "o.value")])


def test_for_each_fail_fast_fails_with_the_inner_path_and_cancels_the_others(rec):
    result = rec.run(for_each_wf([0, 1, 2], crash_body(5), max_parallel=3))
    assert result.status == "failed"
    assert result.failed_node == "each/crash"
    assert result.error == {"type": "NodeError", "message": "item 1 is refused",
                            "node": "each/crash"}
    assert result.duration_ms < 2000  # the 5 s waits were cancelled, not awaited
    ends = [(e.name, e.node_id, e.index) for e in rec.events
            if e.name in ("node_failed", "node_cancelled", "node_completed")
            and e.node_id in ("each", "each/crash", "each/w")]
    assert ends[0] == ("node_failed", "each/crash", 1)
    assert sorted(ends[1:3]) == [("node_cancelled", "each/w", 0),
                                 ("node_cancelled", "each/w", 2)]
    assert ends[3:] == [("node_failed", "each", None)]
    failed = inner(rec, "node_failed", "each")[0]
    assert failed.error == {"type": "NodeError", "message": "item 1 is refused"}
    skipped = {(e.node_id, e.index, e.reason) for e in rec.of("node_skipped")}
    assert {("each/o", 0, "cancelled"), ("each/o", 2, "cancelled")} <= skipped
    assert ("out", None, "cancelled") in skipped


def test_for_each_fail_fast_starts_no_item_after_the_failure(rec):
    result = rec.run(for_each_wf([0, 1, 2, 3], crash_body(0.01), max_parallel=1))
    assert result.failed_node == "each/crash"
    assert sorted({e.index for e in rec.of("node_started") if e.node_id.startswith("each/")}) \
        == [0, 1]


def test_for_each_without_fail_fast_gives_null_and_a_warning(rec):
    result = rec.run(for_each_wf([0, 1, 2], crash_body(0.01), max_parallel=3,
                                 fail_fast=False))
    assert result.status == "completed", result.error
    assert result.outputs == {"results": [0, None, 2]}
    assert result.node_errors == []
    warnings = [e for e in rec.of("node_log") if e.node_id == "each"]
    assert [(e.level, e.message) for e in warnings] == [
        ("warning", "item 1 failed (NodeError at each/crash): item 1 is refused; "
                    "its result is null")]
    assert [e.index for e in inner(rec, "node_failed", "each/crash")] == [1]


def test_for_each_over_no_items_gives_an_empty_list_and_runs_no_body(rec):
    result = rec.run(for_each_wf([], WAIT_BODY))
    assert result.outputs == {"results": []}
    assert not [e for e in rec.events if getattr(e, "node_id", "").startswith("each/")]


def test_for_each_items_typed_into_the_config(rec):
    wf = workflow([node("each", "control.for_each", body="b", items=[0.0, 0.0])],
                  subgraphs={"b": WAIT_BODY})
    assert rec.run(wf).outputs == {"each": {"results": [[0.0, 0], [0.0, 1]]}}


def test_for_each_refuses_items_that_are_not_a_list(rec):
    result = rec.run(for_each_wf({"a": 1}, WAIT_BODY))
    assert result.error["type"] == "InputTypeError" and result.failed_node == "each"


# --- control.loop --------------------------------------------------------------------------


COUNT_BODY = body(
    [node("s", "flow.input", name="state"), node("i", "flow.input", name="iteration"),
     node("log", "debug.log", format="it {{ loop.iteration }}: n={{ ports.message.n }}"),
     node("c", "flow.constant", value={"n": "{{ loop.state.n + 1 }}",
                                       "seen": "{{ loop.state.seen + [inputs.iteration] }}"}),
     node("o", "flow.output", name="state")],
    [("s.value", "log.message"), ("c.value", "o.value")])


def loop_wf(sub: dict[str, Any], initial: Any = None, **config: Any) -> Any:
    return workflow([node("start", "flow.constant", value=initial),
                     node("lp", "control.loop", body="b", **config),
                     node("final", "flow.output", name="final"),
                     node("n", "flow.output", name="iterations")],
                    [("start.value", "lp.initial"), ("lp.final", "final.value"),
                     ("lp.iterations", "n.value")],
                    subgraphs={"b": sub})


def test_loop_carries_state_until_the_condition_is_false(rec):
    result = rec.run(loop_wf(COUNT_BODY, {"n": 0, "seen": []}, condition="state.n < 3"))
    assert result.status == "completed", result.error
    assert result.outputs == {"final": {"n": 3, "seen": [0, 1, 2]}, "iterations": 3}
    logs = inner(rec, "node_log", "lp/log")
    assert [(e.iteration, e.message) for e in logs] == [(0, "it 0: n=0"), (1, "it 1: n=1"),
                                                        (2, "it 2: n=2")]
    body_events = [e for e in rec.events if getattr(e, "node_id", "").startswith("lp/")]
    assert all(e.iteration in (0, 1, 2) and e.index is None for e in body_events)
    assert all(e.to_dict()["iteration"] == e.iteration for e in body_events)
    # one body run settles before the next starts
    starts = [(e.node_id, e.iteration) for e in rec.of("node_started")
              if e.node_id in ("lp/c", "lp/o")]
    assert starts == [(n, i) for i in range(3) for n in ("lp/c", "lp/o")]


def test_loop_condition_sees_the_index_of_the_run_that_just_ended(rec):
    sub = body([node("c", "flow.constant", value="{{ loop.state + 1 }}"),
                node("o", "flow.output", name="state")], [("c.value", "o.value")])
    result = rec.run(loop_wf(sub, 10, condition="iteration < 4"))
    assert result.outputs == {"final": 15, "iterations": 5}


def test_loop_that_ends_after_one_run(rec):
    sub = body([node("c", "flow.constant", value="{{ loop.state * 2 }}"),
                node("o", "flow.output", name="state")], [("c.value", "o.value")])
    result = rec.run(loop_wf(sub, 21, condition="false"))
    assert result.outputs == {"final": 42, "iterations": 1}


def test_loop_stops_with_an_error_at_max_iterations_and_is_not_retried(rec):
    sub = body([node("c", "flow.constant", value="{{ loop.iteration }}"),
                node("o", "flow.output", name="state")], [("c.value", "o.value")])
    wf = loop_wf(sub, 0, condition="true", max_iterations=3)
    wf.nodes[1].retry = RetryPolicy(max_attempts=3, delay_s=0)
    result = rec.run(wf)
    assert result.status == "failed" and result.failed_node == "lp"
    assert result.error["type"] == "NodeError"
    assert result.error["message"] == (
        "the loop ran 3 times (max_iterations) and its condition `true` is still true; "
        "raise max_iterations or change the condition so that it ends")
    assert [e.iteration for e in inner(rec, "node_started", "lp/c")] == [0, 1, 2]
    assert len(inner(rec, "node_started", "lp")) == 1 and not rec.of("node_retrying")


def test_loop_default_limit_is_the_workflows_max_iterations(rec):
    sub = body([node("c", "flow.constant", value=1), node("o", "flow.output", name="state")],
               [("c.value", "o.value")])
    wf = loop_wf(sub, 0, condition="true")
    wf.settings.max_iterations = 4
    result = rec.run(wf)
    assert "ran 4 times" in result.error["message"]
    assert len(inner(rec, "node_started", "lp/c")) == 4


def test_loop_body_failure_reports_the_inner_path_and_iteration(rec):
    sub = body([node("c", "flow.constant", value="{{ loop.state + 1 }}"),
                node("if", "control.if", condition="value == 3"), node("crash", "test.reject"),
                node("o", "flow.output", name="state")],
               [("c.value", "if.value"), ("if.true", "crash.value"), ("c.value", "o.value")])
    result = rec.run(loop_wf(sub, 0, condition="true"))
    assert result.status == "failed" and result.failed_node == "lp/crash"
    assert [(e.node_id, e.iteration) for e in rec.of("node_failed")] == [
        ("lp/crash", 2), ("lp", None)]


def test_loop_body_that_returns_no_state_fails_clearly(rec):
    sub = body([node("c", "flow.constant", value=1),
                node("if", "control.if", condition="false"),
                node("o", "flow.output", name="state")],
               [("c.value", "if.value"), ("if.true", "o.value")])
    result = rec.run(loop_wf(sub, 0, condition="true"))
    assert result.failed_node == "lp"
    assert result.error["message"].startswith("iteration 0: subgraph 'b' returned no 'state'")


def test_for_each_nested_in_a_loop_names_nodes_by_full_path(rec):
    rounds = body([node("c", "flow.constant", value=["{{ loop.iteration }}a",
                                                     "{{ loop.iteration }}b"]),
                   node("inner", "control.for_each", body="each", max_parallel=2),
                   node("o", "flow.output", name="state")],
                  [("c.value", "inner.items"), ("inner.results", "o.value")])
    each = body([node("i", "flow.input", name="item"),
                 node("leaf", "debug.log", format="{{ loop.index }}:{{ loop.item }}"),
                 node("o", "flow.output", name="result")],
                [("i.value", "leaf.message"), ("leaf.value", "o.value")])
    wf = workflow([node("outer", "control.loop", body="rounds", condition="iteration < 1")],
                  subgraphs={"rounds": rounds, "each": each})
    result = rec.run(wf)
    assert result.outputs == {"outer": {"final": ["1a", "1b"], "iterations": 2}}
    leaf = inner(rec, "node_log", "outer/inner/leaf")
    assert sorted((e.message, e.index) for e in leaf) == [
        ("0:0a", 0), ("0:1a", 0), ("1:0b", 1), ("1:1b", 1)]
    assert [(e.node_id, e.iteration) for e in rec.of("node_completed")
            if e.node_id == "outer/inner"] == [("outer/inner", 0), ("outer/inner", 1)]


def test_failure_deep_inside_nested_bodies_names_the_full_path(rec):
    rounds = body([node("c", "flow.constant", value=[1]),
                   node("inner", "control.for_each", body="each"),
                   node("o", "flow.output", name="state")],
                  [("c.value", "inner.items"), ("inner.results", "o.value")])
    each = body([node("leaf", "toy.crash"), node("o", "flow.output", name="result")],
                [("leaf.value", "o.value")])
    wf = workflow([node("outer", "control.loop", body="rounds", condition="true")],
                  subgraphs={"rounds": rounds, "each": each})
    result = rec.run(wf)
    assert result.failed_node == "outer/inner/leaf"
    assert result.error["type"] == "ValueError"
    assert [e.node_id for e in rec.of("node_failed")] == [
        "outer/inner/leaf", "outer/inner", "outer"]


def test_cancelling_the_run_mid_loop_cancels_the_inner_nodes(rec):
    sub = body([node("s", "flow.input", name="state"),
                node("w", "time.delay", seconds="{{ 0 if loop.iteration < 2 else 10 }}"),
                node("o", "flow.output", name="state")],
               [("s.value", "w.value"), ("w.value", "o.value")])
    wf = loop_wf(sub, 0, condition="true")
    events: list[Any] = []
    runs: list[Any] = []

    def cancel_on_third_wait(e: Any) -> None:
        if e.name == "node_started" and e.node_id == "lp/w" and e.iteration == 2:
            runs[0].cancel()

    async def main() -> Any:
        runs.append(Runner(rec.registry).start(
            wf, subscribers=(events.append, cancel_on_third_wait)))
        return await asyncio.wait_for(runs[0].wait(), 5)

    result = asyncio.run(main())
    assert result.status == "cancelled"
    ends = [(e.name, getattr(e, "node_id", None), getattr(e, "iteration", None))
            for e in events if e.name in ("node_cancelled", "node_skipped", "run_completed")]
    assert ends == [("node_cancelled", "lp/w", 2), ("node_skipped", "lp/o", 2),
                    ("node_cancelled", "lp", None), ("node_skipped", "final", None),
                    ("node_skipped", "n", None), ("run_completed", None, None)]
    assert [e.iteration for e in events if e.name == "node_started"
            and e.node_id == "lp/w"] == [0, 1, 2]


# --- validation ----------------------------------------------------------------------------


def problems_of(rec: Recorder, wf: Any) -> list[tuple[str | None, str | None, str]]:
    return [(p.node_id, p.field, p.message) for p in validate(wf, rec.registry)]


def test_validation_of_what_loops_name(rec):
    no_result = body([node("c", "flow.constant", value=1)])
    wf = workflow([node("a", "control.for_each", body="missing", items=[]),
                   node("b", "control.for_each", body="no_result", items=[]),
                   node("c", "control.loop", body="no_result", condition="true"),
                   node("d", "control.loop", body="no_result", condition="state <"),
                   node("e", "control.for_each", body="{{ inputs.x }}", items=[]),
                   node("f", "control.for_each", body="no_reslt")],
                  subgraphs={"no_result": no_result})
    found = problems_of(rec, wf)
    assert ("a", "config.body", "there is no subgraph 'missing' in this workflow; "
            "subgraphs: no_result") in found
    assert ("b", "config.body", "subgraph 'no_result' has no flow.output named 'result'; "
            "add one: its value is what this node reads from each run") in found
    assert ("c", "config.body", "subgraph 'no_result' has no flow.output named 'state'; "
            "add one: its value is what this node reads from each run") in found
    assert any(n == "d" and f == "config.condition" for n, f, _ in found)
    assert any(n == "e" and f == "config.body" and "not through a template" in m
               for n, f, m in found)
    assert ("f", "config.body", "there is no subgraph 'no_reslt' in this workflow "
            "(did you mean 'no_result'?)") in found
    assert ("f", "inputs.items", "required input 'items' (array) is not connected and not "
            "set in the config") in found


def test_loops_inside_a_subgraph_are_checked_against_the_workflows_subgraphs(rec):
    outer = body([node("x", "control.for_each", body="nope", items=[])])
    wf = workflow([], subgraphs={"outer": outer})
    assert [(n, f) for n, f, _ in problems_of(rec, wf)] == [("outer/x", "config.body")]


def test_flowcli_validate_reports_problems_inside_bodies_by_path(tmp_path):
    wf = {"format": "flowui-workflow", "version": 1,
          "nodes": [node("each", "control.for_each", body="missing", items=[1]),
                    node("ok", "control.for_each", body="bad", items=[1])],
          "subgraphs": {"bad": body([node("broken", "nope.node"),
                                     node("o", "flow.output", name="result"),
                                     node("log", "debug.log", level="loud")],
                                    [("broken.value", "o.value")])}}
    path = tmp_path / "bad.flow.json"
    path.write_text(json.dumps(wf))
    proc = subprocess.run([FLOWCLI, "validate", "--json", path], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    found = {(p["node"], p["field"], p["code"]) for p in json.loads(proc.stdout)["problems"]}
    assert ("bad/broken", "type", "unknown_type") in found
    assert ("bad/log", "config.level", "bad_config") in found
    assert ("each", "config.body", "bad_config") in found


def test_a_failure_cancels_a_sibling_whose_task_has_not_started_yet(toy):
    # crash fails before `slow`'s freshly created task first runs: the execution must still
    # drain (it used to wait forever for a task that never ran its own bookkeeping).
    wf = workflow([{"id": "src", "type": "toy.source", "config": {"value": 1}},
                   {"id": "crash", "type": "toy.crash"},
                   {"id": "slow", "type": "toy.sleep", "config": {"seconds": 5}}],
                  [("src.value", "crash.value"), ("src.value", "slow.value")])
    result = toy.run(wf)
    assert result.status == "failed" and result.failed_node == "crash"
    assert ("node_skipped", "slow", "cancelled") in toy.trace()
    assert result.duration_ms < 2000
