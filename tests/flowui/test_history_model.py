"""The editor's view of stored runs without Qt: replaying a run's records to any
moment, comparing two runs node by node, and what changed in the workflow since a
run. The runs are real runs of the engine (toy node types); their records are what
the run store keeps: the events and the full outputs."""

from __future__ import annotations

import asyncio
from typing import Any

from engine import Runner
from engine.core.events import NodeCompleted, NodeStarted
from flowui.history.changes import changed_since
from flowui.history.compare import compare
from flowui.history.replay import Replay, in_order
from tests.engine.toy import toy_registry, workflow


def _chain(value: int = 1, *, sleep: float = 0.0) -> Any:
    nodes = [{"id": "src", "type": "toy.source", "config": {"value": value}},
             {"id": "a", "type": "toy.add", "config": {"b": 10}},
             {"id": "b", "type": "toy.add", "config": {"b": 100}},
             {"id": "nap", "type": "toy.sleep", "config": {"seconds": sleep}}]
    return workflow(nodes, [("src.value", "a.a"), ("a.sum", "b.a")])


def _run(wf: Any) -> tuple[list[Any], list[Any]]:
    events: list[Any] = []
    outputs: list[Any] = []
    result = asyncio.run(Runner(toy_registry()).run(
        wf, subscribers=(events.append,), on_outputs=outputs.append))
    assert result.status == "completed", result.error
    return events, outputs


def _replay(wf: Any) -> Replay:
    events, outputs = _run(wf)
    return Replay(wf, in_order(events, outputs))


def test_replayed_to_its_end_a_run_shows_what_it_produced():
    replay = _replay(_chain(1))
    replay.seek(len(replay.records))
    session = replay.session
    assert session.status == "completed"
    assert {p: s.status for p, s in session.nodes.items()} == dict.fromkeys(
        ["src", "a", "b", "nap"], "completed")
    assert session.nodes["b"].outputs.value == {"sum": 111}  # the full outputs
    assert session.nodes["a"].inputs.value == {"a": 1, "b": 10.0}  # wired, then config


def test_each_moment_shows_exactly_what_the_events_up_to_it_say():
    replay = _replay(_chain(1, sleep=0.05))
    for position in range(len(replay.records) + 1):
        replay.seek(position)
        seen = replay.records[:position]
        started = {r.node_id for r in seen if type(r) is NodeStarted}
        completed = {r.node_id for r in seen if type(r) is NodeCompleted}
        for path, state in replay.session.nodes.items():
            expected = "completed" if path in completed else \
                "running" if path in started else "queued"
            assert state.status == expected, (position, path)


def test_going_back_rebuilds_and_going_forward_says_what_changed():
    replay = _replay(_chain(1, sleep=0.05))
    middle = replay.position_at(replay.duration_s / 2)
    assert 0 < middle < len(replay.records)
    assert replay.seek(len(replay.records)) is False
    end_session = replay.session
    assert replay.seek(middle) is True and replay.session is not end_session
    assert replay.session.nodes["nap"].status == "running"
    replay.session.take_dirty()
    assert replay.seek(len(replay.records)) is False
    assert "nap" in replay.session.take_dirty()
    assert replay.session.nodes["nap"].status == "completed"


def test_two_runs_differ_where_a_value_changed_and_not_elsewhere():
    one, other = _replay(_chain(1)), _replay(_chain(2))
    same = _replay(_chain(1))
    for r in (one, other, same):
        r.seek(len(r.records))
    found = {d.path: d.what for d in compare(one.session, other.session)}
    assert found == {"src": ("outputs",), "a": ("outputs",), "b": ("outputs",)}
    assert compare(one.session, same.session) == []
    described = {d.path: d.describe() for d in compare(one.session, other.session)}
    assert described["b"] == "outputs differ"


def test_compare_names_status_and_nodes_only_one_run_has():
    one = _replay(_chain(1))
    two_wf = _chain(1)
    two_wf.nodes.append(two_wf.nodes[0].model_copy(update={"id": "extra"}))
    two = _replay(two_wf)
    for r in (one, two):
        r.seek(len(r.records))
    two.session.nodes["a"].status = "failed"  # as a failed run would show it
    found = {d.path: d.what for d in compare(one.session, two.session)}
    assert found["extra"] == ("only_in_b",)
    assert "status" in found["a"]


def test_what_changed_since_a_run_node_by_node():
    ran = _chain(1)
    now = ran.model_copy(deep=True)
    now.nodes[0] = now.nodes[0].model_copy(update={"config": {"value": 5}})  # src: config
    now.nodes[1] = now.nodes[1].model_copy(update={"position": (500.0, 500.0)})  # a: moved
    now.nodes = [n for n in now.nodes if n.id != "nap"]  # removed
    now.nodes.append(now.nodes[0].model_copy(update={"id": "new"}))  # added
    now.connections = [c for c in now.connections if c.to != "b.a"]  # b: a wire removed
    assert changed_since(ran, now) == {(None, "src"): "changed", (None, "nap"): "removed",
                                       (None, "new"): "added", (None, "b"): "changed"}
    assert changed_since(ran, ran.model_copy(deep=True)) == {}
