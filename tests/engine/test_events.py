"""Events and the bus on their own: records, their JSON shape, delivery in order to sync
and async subscribers, and a failing subscriber that never breaks a run."""

from __future__ import annotations

import asyncio
import logging

import pytest

from engine.core.bus import EventBus
from engine.core.events import (
    EVENT_TYPES,
    Event,
    NodeCompleted,
    NodeLogged,
    NodeStarted,
    RunCompleted,
)


def started(seq: int = 1, **extra) -> NodeStarted:
    return NodeStarted("a", "toy.add", 1, run_id="r1", seq=seq, timestamp=0.25, **extra)


def test_an_event_is_an_immutable_record_with_named_fields():
    e = started()
    assert (e.run_id, e.seq, e.timestamp, e.node_id, e.node_type, e.attempt) == (
        "r1", 1, 0.25, "a", "toy.add", 1)
    assert e.iteration is None and e.index is None and e.worker is None
    assert "worker" not in e.to_dict()  # left out when the node ran here
    assert isinstance(e, Event) and e.name == "node_started"
    with pytest.raises(AttributeError):
        e.node_id = "b"  # type: ignore[misc]
    assert not hasattr(e, "__dict__")
    assert NodeStarted.fields == ("run_id", "seq", "timestamp", "node_id", "node_type",
                                  "attempt", "iteration", "index", "worker")
    assert "NodeStarted(run_id='r1', seq=1" in repr(e)


def test_fields_can_be_given_by_name():
    e = NodeLogged(node_id="n", level="info", message="hi", run_id="r", seq=3, timestamp=1.0)
    assert (e.node_id, e.level, e.message, e.seq) == ("n", "info", "hi", 3)


def test_to_dict_is_the_contracts_json_shape():
    assert started().to_dict() == {"event": "node_started", "run_id": "r1", "seq": 1,
                                   "ts": "1970-01-01T00:00:00.250Z", "node_id": "a",
                                   "node_type": "toy.add", "attempt": 1}
    inner = started(iteration=2).to_dict()
    assert inner["iteration"] == 2 and "index" not in inner
    done = RunCompleted("completed", 1.5, {"x": 1}, None, None, [], run_id="r", seq=9,
                        timestamp=0.0).to_dict()
    assert done["error"] is None and done["failed_node"] is None  # not optional: kept


def test_every_event_type_is_registered_by_its_contract_name():
    assert set(EVENT_TYPES) == {"run_started", "run_retrying", "node_started", "node_log",
                                "node_progress", "node_retrying", "node_completed",
                                "node_failed", "node_skipped", "node_cancelled",
                                "run_completed"}
    assert EVENT_TYPES["node_completed"] is NodeCompleted


def test_sync_subscribers_get_every_event_in_order_and_can_unsubscribe():
    bus = EventBus()
    got: list[int] = []
    unsubscribe = bus.subscribe(lambda e: got.append(e.seq))
    for seq in (1, 2, 3):
        bus.publish(started(seq))
    unsubscribe()
    bus.publish(started(4))
    assert got == [1, 2, 3]


def test_async_subscribers_each_get_events_in_order_and_flush_waits_for_them():
    async def main() -> tuple[list[int], list[int]]:
        bus = EventBus()
        slow: list[int] = []
        fast: list[int] = []

        async def slow_sub(e: Event) -> None:
            await asyncio.sleep(0.01 if e.seq == 1 else 0)
            slow.append(e.seq)

        async def fast_sub(e: Event) -> None:
            fast.append(e.seq)

        bus.subscribe(slow_sub)
        bus.subscribe(fast_sub)
        for seq in (1, 2, 3):
            bus.publish(started(seq))
        await bus.flush()
        return slow, fast

    slow, fast = asyncio.run(main())
    assert slow == [1, 2, 3] and fast == [1, 2, 3]


def test_a_failing_subscriber_is_logged_and_the_others_go_on(caplog):
    bus = EventBus()
    got: list[int] = []

    def broken(e: Event) -> None:
        raise RuntimeError("boom")

    bus.subscribe(broken)
    bus.subscribe(lambda e: got.append(e.seq))
    with caplog.at_level(logging.ERROR, logger="flowui.bus"):
        bus.publish(started(1))
        bus.publish(started(2))
    assert got == [1, 2]
    assert caplog.text.count("failed on node_started; the run goes on") == 2
    assert "RuntimeError: boom" in caplog.text


def test_a_failing_async_subscriber_does_not_stop_its_queue(caplog):
    async def main() -> list[int]:
        bus = EventBus()
        got: list[int] = []

        async def flaky(e: Event) -> None:
            if e.seq == 1:
                raise ValueError("first one fails")
            got.append(e.seq)

        bus.subscribe(flaky)
        for seq in (1, 2, 3):
            bus.publish(started(seq))
        await bus.flush()
        return got

    with caplog.at_level(logging.ERROR, logger="flowui.bus"):
        assert asyncio.run(main()) == [2, 3]
    assert "first one fails" in caplog.text
