"""Executor semantics (FORMAT.md "Execution semantics") through the real runner and events."""

from __future__ import annotations

import asyncio
import time

import pytest

from engine import Runner
from engine.workflow.model import Workflow
from tests.engine.toy import ATTEMPTS, workflow


def src(node_id: str, value: object = 1, **extra: object) -> dict:
    return {"id": node_id, "type": "toy.source", "config": {"value": value}, **extra}


def node(node_id: str, type_: str, **extra: object) -> dict:
    return {"id": node_id, "type": f"toy.{type_}", **extra}


# --- ordering and data flow --------------------------------------------------------


def test_chain_runs_in_order_with_exact_events(toy):
    wf = workflow([src("a", 2), node("b", "add", config={"b": 3}), node("c", "add")],
                  [("a.value", "b.a"), ("b.sum", "c.a")])
    result = toy.run(wf)
    assert result.status == "completed"
    assert result.outputs == {"c": {"sum": 5}}
    assert toy.trace() == [
        ("run_started",),
        ("node_started", "a"), ("node_completed", "a"),
        ("node_started", "b"), ("node_completed", "b"),
        ("node_started", "c"), ("node_completed", "c"),
        ("run_completed",),
    ]
    seqs = [e.seq for e in toy.events]
    assert seqs == list(range(1, len(seqs) + 1))
    assert len({e.run_id for e in toy.events}) == 1
    done = toy.of("run_completed")[0]
    assert done.status == "completed" and done.error is None and done.node_errors == []


def test_event_dicts_follow_the_contract(toy):
    wf = workflow([src("a", {"k": "v"})])
    toy.run(wf)
    started, completed = toy.of("node_started")[0], toy.of("node_completed")[0]
    d = started.to_dict()
    assert set(d) == {"event", "run_id", "seq", "ts", "node_id", "node_type", "attempt"}
    assert d["ts"].endswith("Z") and d["event"] == "node_started" and d["attempt"] == 1
    c = completed.to_dict()
    assert c["outputs"] == {"value": {"k": "v"}} and c["cached"] is False
    assert c["duration_ms"] >= 0
    end = toy.of("run_completed")[0].to_dict()
    assert set(end) >= {"status", "duration_ms", "outputs", "error", "failed_node", "node_errors"}


def test_independent_branches_run_concurrently(toy):
    wf = workflow([node(f"s{i}", "sleep", config={"seconds": 0.3}) for i in range(4)])
    t0 = time.perf_counter()
    result = toy.run(wf)
    assert result.status == "completed"
    assert time.perf_counter() - t0 < 0.9  # sequential would take 1.2 s


def test_max_parallel_bounds_concurrency(toy):
    wf = workflow([node(f"s{i}", "sleep", config={"seconds": 0.05}) for i in range(6)],
                  settings={"max_parallel": 2})
    toy.run(wf)
    running = peak = 0
    for e in toy.events:
        if e.name == "node_started":
            running += 1
            peak = max(peak, running)
        elif e.name == "node_completed":
            running -= 1
    assert peak == 2
    toy.run(wf, max_parallel=1)  # the run option overrides the setting
    order = [e.name for e in toy.events if e.name.startswith("node_")]
    assert order == ["node_started", "node_completed"] * 6


def test_fan_in_waits_for_all_inputs(toy):
    wf = workflow([src("a", 1), node("slow", "sleep", config={"seconds": 0.05}),
                   node("sum", "add")],
                  [("a.value", "slow.value"), ("slow.value", "sum.a"), ("a.value", "sum.b")])
    assert toy.run(wf).outputs == {"sum": {"sum": 2}}


def test_multiple_input_collects_values_in_connection_order(toy):
    wf = workflow([node("slow", "sleep", config={"seconds": 0.05}), src("x", "x"), src("y", "y"),
                   node("g", "gather")],
                  [("slow.value", "g.items"), ("x.value", "g.items"), ("y.value", "g.items")])
    assert toy.run(wf).outputs == {"g": {"items": [None, "x", "y"]}}


def test_function_node_runs_in_a_thread_with_config_and_wires(toy):
    wf = workflow([src("a", 4), node("m", "multiply", config={"factor": 3})],
                  [("a.value", "m.x")])
    assert toy.run(wf).outputs == {"m": {"result": 12}}


# --- skipping ---------------------------------------------------------------------------


def test_untaken_branch_is_skipped_and_propagates(toy):
    wf = workflow([src("s", 7), node("br", "branch", config={"take": "a"}),
                   node("on_a", "add"), node("on_b", "add"), node("after_b", "add")],
                  [("s.value", "br.value"), ("br.a", "on_a.a"), ("br.b", "on_b.a"),
                   ("on_b.sum", "after_b.a")])
    result = toy.run(wf)
    assert result.status == "completed"
    skipped = {e.node_id: e.reason for e in toy.of("node_skipped")}
    assert skipped == {"on_b": "branch_not_taken", "after_b": "branch_not_taken"}
    assert result.outputs == {"on_a": {"sum": 7}}  # skipped sinks are not in the result


def test_optional_input_skipped_still_runs(toy):
    wf = workflow([src("s", 1), node("br", "branch", config={"take": "a"}), node("add", "add")],
                  [("s.value", "add.a"), ("br.b", "add.b")])
    assert toy.run(wf).outputs["add"] == {"sum": 1}


def test_multiple_input_drops_skipped_and_all_skipped_skips(toy):
    wf = workflow([src("s", 5), node("br", "branch", config={"take": "a"}),
                   node("g", "gather"), node("g2", "gather")],
                  [("s.value", "br.value"), ("br.b", "g.items"), ("br.a", "g.items"),
                   ("br.b", "g2.items")])
    result = toy.run(wf)
    assert result.outputs == {"g": {"items": [5]}}
    assert {e.node_id: e.reason for e in toy.of("node_skipped")} == {"g2": "branch_not_taken"}


def test_disabled_node_is_skipped_and_dependents_follow(toy):
    wf = workflow([src("a", 1, disabled=True), node("b", "add")], [("a.value", "b.a")])
    result = toy.run(wf)
    assert result.status == "completed"
    assert toy.trace()[1:3] == [("node_skipped", "a", "disabled"),
                                ("node_skipped", "b", "upstream_skipped")]


def test_pinned_node_reports_cached_without_starting(toy):
    wf = workflow([src("a", 1, pinned={"value": 40}), node("b", "add", config={"b": 2})],
                  [("a.value", "b.a")])
    result = toy.run(wf)
    assert result.outputs == {"b": {"sum": 42}}
    assert [e.node_id for e in toy.of("node_started")] == ["b"]
    first = toy.of("node_completed")[0]
    assert first.node_id == "a" and first.cached is True


# --- failures and policies -------------------------------------------------------------


def test_stop_cancels_running_and_skips_unstarted(toy):
    wf = workflow([node("slow", "sleep", config={"seconds": 5}),
                   node("bad", "flaky", config={"message": "kaput"}),
                   node("after_slow", "add"), node("after_bad", "add")],
                  [("slow.value", "after_slow.a"), ("bad.value", "after_bad.a")])
    t0 = time.perf_counter()
    result = toy.run(wf)
    assert time.perf_counter() - t0 < 2
    assert result.status == "failed"
    assert result.error == {"type": "NodeError", "message": "kaput", "node": "bad"}
    assert result.failed_node == "bad"
    trace = toy.trace()
    assert ("node_failed", "bad") in trace
    assert ("node_cancelled", "slow") in trace
    assert ("node_skipped", "after_slow", "cancelled") in trace
    assert ("node_skipped", "after_bad", "cancelled") in trace
    assert trace[-1] == ("run_completed",)
    assert toy.of("node_failed")[0].routed is False


def test_continue_records_error_and_finishes_other_branches(toy):
    wf = workflow([node("bad", "flaky", on_error="continue"), node("dep", "add"),
                   src("ok", 3), node("ok2", "add")],
                  [("bad.value", "dep.a"), ("ok.value", "ok2.a")])
    result = toy.run(wf)
    assert result.status == "completed"
    assert result.node_errors == [{"type": "NodeError", "message": "boom", "node": "bad"}]
    assert result.outputs == {"ok2": {"sum": 3}}
    assert ("node_skipped", "dep", "upstream_failed") in toy.trace()


def test_settings_on_error_is_the_default(toy):
    wf = workflow([node("bad", "flaky")], settings={"on_error": "continue"})
    result = toy.run(wf)
    assert result.status == "completed" and len(result.node_errors) == 1


def test_error_port_routes_failure_and_run_goes_on(toy):
    wf = workflow([node("bad", "flaky", config={"message": "nope"}), node("handler", "gather"),
                   node("normal", "add")],
                  [("bad.error", "handler.items"), ("bad.value", "normal.a")])
    result = toy.run(wf)
    assert result.status == "completed"
    assert result.node_errors == []
    assert result.outputs == {"handler": {"items": [
        {"type": "NodeError", "message": "nope", "node": "bad"}]}}
    failed = toy.of("node_failed")[0]
    assert failed.routed is True
    assert ("node_skipped", "normal", "upstream_failed") in toy.trace()


def test_error_port_is_skipped_on_success(toy):
    wf = workflow([src("a", 1), node("handler", "gather")], [("a.error", "handler.items")])
    toy.run(wf)
    assert ("node_skipped", "handler", "branch_not_taken") in toy.trace()


def test_retry_then_success_with_exact_events(toy):
    wf = workflow([node("f", "flaky", config={"fail_times": 2},
                        retry={"max_attempts": 3, "backoff": "fixed", "delay_s": 0.01,
                               "jitter": False})])
    result = toy.run(wf)
    assert result.status == "completed"
    assert toy.trace(with_attempts=True) == [
        ("run_started",),
        ("node_started", "f", "1"), ("node_retrying", "f", "2"),
        ("node_started", "f", "2"), ("node_retrying", "f", "3"),
        ("node_started", "f", "3"), ("node_completed", "f"),
        ("run_completed",),
    ]
    retrying = toy.of("node_retrying")[0]
    assert retrying.delay_s == 0.01 and retrying.error == {"type": "NodeError", "message": "boom"}


def test_retries_exhausted_fail_with_last_attempt(toy):
    wf = workflow([node("f", "flaky", retry={"max_attempts": 3, "delay_s": 0, "jitter": False})])
    result = toy.run(wf)
    assert result.status == "failed"
    assert toy.of("node_failed")[0].attempt == 3
    assert ATTEMPTS["f"] == 3


def test_non_retryable_errors_are_not_retried(toy):
    wf = workflow([node("f", "flaky", config={"retryable": False},
                        retry={"max_attempts": 5, "delay_s": 0})])
    toy.run(wf)
    assert ATTEMPTS["f"] == 1 and toy.of("node_retrying") == []


def test_unclassified_errors_are_retried(toy):
    wf = workflow([node("c", "crash", retry={"max_attempts": 2, "delay_s": 0})])
    result = toy.run(wf)
    assert len(toy.of("node_retrying")) == 1
    assert result.error["type"] == "ValueError"


def test_exponential_backoff_waits_grow_and_cap():
    from engine.workflow.model import RetryPolicy

    p = RetryPolicy(max_attempts=6, backoff="exponential", delay_s=0.5, max_delay_s=3,
                    jitter=False)
    assert [p.delay_before(a, 0.0) for a in range(2, 7)] == [0.5, 1.0, 2.0, 3, 3]
    fixed = RetryPolicy(max_attempts=3, backoff="fixed", delay_s=2, jitter=False)
    assert fixed.delay_before(3, 0.9) == 2
    jittered = RetryPolicy(delay_s=1.0, jitter=True)
    assert jittered.delay_before(2, 0.0) == 0.5 and jittered.delay_before(2, 0.999) < 1.0


def test_retry_after_longer_than_backoff_is_honoured(toy):
    wf = workflow([node("f", "flaky", config={"fail_times": 1, "retry_after_s": 0.2},
                        retry={"max_attempts": 2, "delay_s": 0.01, "jitter": False})])
    t0 = time.perf_counter()
    toy.run(wf)
    assert toy.of("node_retrying")[0].delay_s == 0.2
    assert time.perf_counter() - t0 >= 0.2


def test_backoff_does_not_stall_other_branches(toy):
    wf = workflow([node("f", "flaky", config={"fail_times": 1},
                        retry={"max_attempts": 2, "backoff": "fixed", "delay_s": 0.3,
                               "jitter": False}),
                   src("a", 1), node("b", "sleep", config={"seconds": 0.01})],
                  [("a.value", "b.value")])
    toy.run(wf)
    order = [(e.name, getattr(e, "node_id", "")) for e in toy.events]
    second_attempt = [i for i, e in enumerate(order) if e == ("node_started", "f")][1]
    assert order.index(("node_completed", "b")) < second_attempt


def test_node_timeout_fails_each_attempt(toy):
    wf = workflow([node("s", "sleep", config={"seconds": 5}, timeout_s=0.05,
                        retry={"max_attempts": 2, "delay_s": 0, "jitter": False})])
    t0 = time.perf_counter()
    result = toy.run(wf)
    assert time.perf_counter() - t0 < 1
    assert result.status == "failed"
    assert result.error["type"] == "timeout" and "0.05" in result.error["message"]
    assert toy.of("node_failed")[0].attempt == 2  # timeouts are retryable


def test_run_timeout_fails_run_with_type_timeout(toy):
    wf = workflow([node("s", "sleep", config={"seconds": 5}), node("t", "add")],
                  [("s.value", "t.a")], settings={"timeout_s": 0.1})
    t0 = time.perf_counter()
    result = toy.run(wf)
    assert time.perf_counter() - t0 < 1.5
    assert result.status == "failed"
    assert result.error["type"] == "timeout" and result.failed_node is None
    assert ("node_cancelled", "s") in toy.trace()
    assert ("node_skipped", "t", "cancelled") in toy.trace()
    # --timeout overrides the file's setting
    assert toy.run(wf, timeout_s=0.05).error["message"].endswith("0.05 s")


def test_retry_workflow_restarts_with_same_run_id(toy):
    wf = workflow([src("a", 1), node("f", "flaky", config={"fail_times": 2},
                                     on_error="retry_workflow")],
                  [("a.value", "f.value")], settings={"max_workflow_attempts": 3})
    result = toy.run(wf)
    assert result.status == "completed"
    assert result.outputs == {"f": {"value": 1}}
    names = toy.names()
    assert names.count("run_retrying") == 2 and names.count("run_started") == 1
    assert [e.attempt for e in toy.of("run_retrying")] == [2, 3]
    assert len({e.run_id for e in toy.events}) == 1
    assert [e.seq for e in toy.events] == list(range(1, len(toy.events) + 1))


def test_retry_workflow_gives_up_after_max_attempts(toy):
    wf = workflow([node("f", "flaky", on_error="retry_workflow")],
                  settings={"max_workflow_attempts": 2})
    result = toy.run(wf)
    assert result.status == "failed" and result.failed_node == "f"
    assert toy.names().count("run_retrying") == 1 and ATTEMPTS["f"] == 2


def test_value_on_any_output_checked_against_receiving_type(toy):
    wf = workflow([src("a", 42), node("t", "text")], [("a.value", "t.text")])
    result = toy.run(wf)
    assert result.status == "failed"
    assert result.error["type"] == "InputTypeError"
    assert "'text' takes string" in result.error["message"] and "integer" in result.error["message"]


def test_integer_is_accepted_for_number(toy):
    wf = workflow([src("a", 1), node("b", "add")], [("a.value", "b.a")])
    assert toy.run(wf).status == "completed"


def test_failed_run_result_holds_what_completed(toy):
    wf = workflow([src("a", 1), node("bad", "flaky")])
    result = toy.run(wf)
    assert result.status == "failed" and result.outputs == {"a": {"value": 1}}


# --- cancellation ------------------------------------------------------------------------


def test_cancel_mid_run_cancels_nodes_and_ends_cancelled(toy):
    wf: Workflow = workflow([node("s1", "sleep", config={"seconds": 10}),
                             node("s2", "sleep", config={"seconds": 10}), node("after", "add")],
                            [("s1.value", "after.a")])
    events: list = []

    async def main():
        run = Runner(toy.registry).start(wf, subscribers=(events.append,))
        await asyncio.sleep(0.1)
        assert run.status == "running"
        run.cancel()
        return await run.wait()

    t0 = time.perf_counter()
    result = asyncio.run(main())
    assert time.perf_counter() - t0 < 2
    assert result.status == "cancelled"
    names = [(e.name, getattr(e, "node_id", None)) for e in events]
    assert ("node_cancelled", "s1") in names and ("node_cancelled", "s2") in names
    assert ("node_skipped", "after") in names
    assert names[-1] == ("run_completed", None)


def test_status_lifecycle(toy):
    wf = workflow([node("s", "sleep", config={"seconds": 0.05})])
    seen = []

    async def main():
        run = Runner(toy.registry).start(wf)
        seen.append(run.status)
        await asyncio.sleep(0)
        seen.append(run.status)
        await asyncio.sleep(0.02)
        seen.append(run.status)
        result = await run.wait()
        seen.append(run.status)
        return result

    asyncio.run(main())
    assert seen[0] == "queued"
    assert seen[-2] == "running" and seen[-1] == "completed"


# --- subscribers -----------------------------------------------------------------------------


def test_raising_subscriber_is_logged_and_run_goes_on(toy, caplog):
    def bad(event):
        raise RuntimeError("subscriber bug")

    wf = workflow([src("a", 1)])
    got: list = []

    async def slow_async(event):
        await asyncio.sleep(0)
        got.append(event.name)

    result = asyncio.run(Runner(toy.registry).run(wf, subscribers=(bad, slow_async)))
    assert result.status == "completed"
    assert "subscriber bug" in caplog.text
    assert got == ["run_started", "node_started", "node_completed", "run_completed"]


def test_validation_failure_runs_nothing(toy):
    wf = workflow([node("x", "nope")])
    result = toy.run(wf)
    assert result.status == "failed" and result.error["type"] == "validation"
    assert result.problems and result.problems[0].code == "unknown_type"
    assert toy.names() == ["run_completed"]


def test_missing_required_input_fails_validation(toy):
    wf = workflow([src("a", "{{ inputs.n }}")], inputs={"n": {"type": "number"}})
    result = toy.run(wf)
    assert result.error["type"] == "validation" and "required input 'n'" in result.error["message"]
    assert toy.run(wf, {"n": 2}).outputs == {"a": {"value": 2}}


# --- big graphs stay iterative -------------------------------------------------------------


@pytest.mark.parametrize("n", [3000])
def test_long_chain_does_not_recurse(toy, n):
    nodes = [src("n0", 0)] + [node(f"n{i}", "add", config={"b": 1}) for i in range(1, n)]
    conns = [(f"n{i - 1}.{'value' if i == 1 else 'sum'}", f"n{i}.a") for i in range(1, n)]
    result = toy.run(workflow(nodes, conns))
    assert result.outputs == {f"n{n - 1}": {"sum": n - 1}}


def test_config_value_feeds_an_unwired_input_and_a_wire_overrides_it(toy):
    wf = workflow([{"id": "t", "type": "toy.text", "config": {"text": "from config"}}])
    assert toy.run(wf).outputs == {"t": {"text": "from config", "length": 11}}
    wf = workflow([src("s", "wired"), {"id": "t", "type": "toy.text", "config": {"text": "x"}}],
                  [("s.value", "t.text")])
    assert toy.run(wf).outputs["t"]["text"] == "wired"
    wf = workflow([{"id": "t", "type": "toy.text", "config": {"text": "{{ inputs.n }}"}}],
                  inputs={"n": {"type": "any"}})
    assert toy.run(wf, {"n": "abc"}).outputs["t"]["length"] == 3
    result = toy.run(wf, {"n": 5})  # a lone expression keeps its type: not a string
    assert result.error["type"] == "InputTypeError"


def test_every_event_has_exactly_its_fields(toy):
    """The runner builds event records without their constructor: a wrong field count
    would only show as a malformed event, so check every kind a run can emit."""
    from engine.core.events import EVENT_TYPES

    wf = workflow([node("f", "flaky", config={"fail_times": 1},
                        retry={"max_attempts": 2, "delay_s": 0, "jitter": False}),
                   src("a", 1, disabled=True), node("s", "sleep", config={"seconds": 5},
                                                    timeout_s=0.01)],
                  settings={"on_error": "continue"})
    toy.run(wf)
    for event in toy.events:
        assert len(event) == len(EVENT_TYPES[event.name].fields), event
        event.to_dict()  # zips fields and values strictly
