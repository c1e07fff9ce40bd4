"""The editor's model of a run (no window): real engine runs feed a RunSession, which
must end with each node's state, values, counters and log as the engine reported
them, in bounded memory."""

from __future__ import annotations

import asyncio
from typing import Any

from engine import Runner
from flowui.run.keep import ValueBudget, measure
from flowui.run.session import MAX_ITERATIONS_KEPT, RunSession
from tests.engine.toy import ATTEMPTS, toy_registry, workflow


def feed(wf: Any, *, max_value_bytes: int = 1_000_000, budget: int = 10**9,
         attempts: dict[str, int] | None = None) -> tuple[RunSession, Any]:
    records: list[Any] = []
    session = RunSession(wf, max_value_bytes=max_value_bytes, budget_bytes=budget,
                         max_attempts=attempts)
    result = asyncio.run(Runner(toy_registry()).run(
        wf, subscribers=(records.append,), on_outputs=records.append))
    # Applied in several batches, as the window's frames do.
    for start in range(0, len(records), 3):
        session.apply(records[start:start + 3])
    return session, result


def test_states_values_and_counters_follow_the_events():
    wf = workflow([{"id": "a", "type": "toy.source", "config": {"value": "hi"}},
                   {"id": "t", "type": "toy.text"},
                   {"id": "b", "type": "toy.branch", "config": {"take": "a"}},
                   {"id": "never", "type": "toy.text"}],
                  [("a.value", "t.text"), ("a.value", "b.value"), ("b.b", "never.text")])
    session, result = feed(wf)
    assert result.status == "completed"
    status = {p: s.status for p, s in session.nodes.items()}
    assert status == {"a": "completed", "t": "completed", "b": "completed",
                      "never": "skipped"}
    assert session.nodes["never"].skip_reason == "branch_not_taken"
    t = session.nodes["t"]
    assert t.outputs is not None and t.outputs.value == {"text": "hi", "length": 2}
    assert not t.outputs.cut and t.inputs is not None and t.inputs.value == {"text": "hi"}
    assert t.duration_ms is not None and t.duration_ms >= 0
    assert (session.done, session.total, session.failed, session.running) == (4, 4, 0, set())
    assert session.status == "completed" and session.result["outputs"] == result.outputs
    assert session.take_dirty() >= {"a", "t", "b", "never"}
    assert session.take_dirty() == set()


def test_a_failure_keeps_its_error_with_traceback_and_unreached_nodes_end_plainly():
    wf = workflow([{"id": "boom", "type": "toy.crash"},
                   {"id": "after", "type": "toy.text"},
                   {"id": "slow", "type": "toy.sleep", "config": {"seconds": 5}}],
                  [("boom.value", "after.text")])
    session, result = feed(wf)
    assert result.status == "failed"
    boom = session.nodes["boom"]
    assert boom.status == "failed" and boom.error["message"] == "unclassified failure"
    assert "Traceback" in boom.error["traceback"]
    assert session.errors == [boom] and session.failed == 1
    slow, after = session.nodes["slow"], session.nodes["after"]
    assert (slow.status, slow.skip_reason) == ("skipped", "cancelled")  # stopped by it
    assert after.status == "skipped"
    levels = [line.level for line in session.log]
    assert "error" in levels and session.log[-1].message.startswith("Run failed")


def test_retries_are_counted_against_the_nodes_policy():
    ATTEMPTS.clear()
    wf = workflow([{"id": "f", "type": "toy.flaky", "config": {"fail_times": 2},
                    "retry": {"max_attempts": 3, "delay_s": 0.01, "jitter": False}}])
    records: list[Any] = []
    session = RunSession(wf, max_value_bytes=10**6, budget_bytes=10**9,
                         max_attempts={"f": 3})
    asyncio.run(Runner(toy_registry()).run(wf, subscribers=(records.append,)))
    retrying = [r for r in records if r.name == "node_retrying"]
    session.apply(records[:records.index(retrying[0]) + 1])
    f = session.nodes["f"]
    assert (f.status, f.attempt, f.retry_delay_s) == ("retrying", 2, 0.01)
    assert session.max_attempts("f") == 3 and session.running == {"f"}
    session.apply(records[records.index(retrying[0]) + 1:])
    assert (f.status, f.attempt) == ("completed", 3) and session.running == set()


def test_values_over_the_limit_are_kept_as_previews_with_a_note():
    big = "x" * 50_000
    wf = workflow([{"id": "s", "type": "toy.source", "config": {"value": big}},
                   {"id": "small", "type": "toy.source", "config": {"value": 1}}])
    session, _ = feed(wf, max_value_bytes=10_000)
    kept = session.nodes["s"].outputs
    assert kept is not None and kept.cut and "limit" in kept.note
    assert len(kept.value["value"]) < 2000  # the engine's preview
    assert session.nodes["small"].outputs.value == {"value": 1}
    # and the run-wide budget: once spent, values under the limit are previews too
    wf = workflow([{"id": f"s{i}", "type": "toy.source", "config": {"value": "y" * 30_000}}
                   for i in range(3)])
    session, _ = feed(wf, max_value_bytes=100_000, budget=70_000)
    cut = [p for p, s in session.nodes.items() if s.outputs.cut]
    assert len(cut) == 1 and "budget" in session.nodes[cut[0]].outputs.note


def test_measure_stops_early_on_huge_values():
    huge = list(range(10_000_000))
    assert measure(huge, 1000) > 1000
    assert measure({"a": [1, "xy", None]}, 10**6) < 40
    budget = ValueBudget(100, 1000)
    assert not budget.keep({"a": 1}).cut and budget.keep("y" * 500).cut


def test_iterations_are_kept_per_body_node_and_bounded():
    from engine.core.events import NodeCompleted, NodeStarted

    wf = workflow([{"id": "loop", "type": "toy.source"}])
    session = RunSession(wf, max_value_bytes=10**6, budget_bytes=10**9)
    n = MAX_ITERATIONS_KEPT + 50
    for i in range(n):
        session.apply([
            NodeStarted("loop/inc", "toy.add", 1, i, run_id="r", seq=1, timestamp=1.0),
            NodeCompleted("loop/inc", "toy.add", 0.1, {"sum": i}, False, i, run_id="r",
                          seq=2, timestamp=1.1)])
    kept = session.iterations["loop/inc"]
    assert len(kept) == MAX_ITERATIONS_KEPT and min(kept) == 50
    assert session.nodes["loop/inc"].iteration == n - 1  # the node shows its latest
    assert session.nodes["loop"].iterations_seen == n
    assert session.iterations_under("loop")[-1] == n - 1
    assert session.state("loop/inc", 60).outputs.value == {"sum": 60}
