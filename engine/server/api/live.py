"""Live events of the runs this server is running, shared by every WebSocket and SSE
client: one list of events per run, each serialised once, each client a cursor into it.

The run's side costs the same whatever the number of clients: its bus subscriber
appends the event and completes one wake-up future (clients waiting on it resume on
the loop's next turn). Clients share the loop with the run, so they send on one
shared send time per `interval_s` (and at once when the run ends): 200 clients of a
2,000-node run then cost the run a bounded share of the loop instead of 200 sends
per event (docs/notes.md has the figures), and clients that are level share one
batch and its JSON text. A run shorter than the interval sends everything at its end.

A client never has a queue of its own, so a slow one cannot grow the server's memory:
when it falls more than `max_lag` events behind (its socket does not drain) it is
disconnected with a close code saying so, and can reconnect with `after_seq` to
resume from the store.

A run stays here until the store's writer has committed its last event; a client
arriving after that reads the store. Subscribing to a live run copies nothing and
never awaits between taking the cursor and reading the list, so there is no gap and
no duplicate between what was stored and what arrives live.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from engine.core.events import Event, NodeCompleted, NodeFailed, RunCompleted
from engine.support import json_out

MAX_LAG = 20_000  # events a client may fall behind a live run before it is disconnected
MAX_BATCH = 500  # events per WebSocket message / SSE write at most
INTERVAL_S = 0.05  # a client gets at most one message per interval while a run goes on
# Sending live events may take about this share of the loop: a send time whose sends took
# longer pushes the next one out.
SEND_BUDGET = 0.15


class SlowClient(Exception):
    """The client fell more than `MAX_LAG` events behind."""


class Batch:
    """Consecutive events as (seq, JSON) pairs, and as one JSON array (made once)."""

    __slots__ = ("_array", "live", "pairs")

    def __init__(self, pairs: list[tuple[int, str]], live: LiveRun | None = None) -> None:
        self.pairs = pairs
        self.live = live  # where its sending time is counted (None: from the store)
        self._array: str | None = None

    @property
    def array(self) -> str:
        if self._array is None:
            self._array = "[" + ",".join(text for _, text in self.pairs) + "]"
        return self._array


class LiveRun:
    __slots__ = ("_armed", "_interval_s", "_last", "_send", "_spent", "events", "finished",
                 "node_runs", "run_id", "texts")

    def __init__(self, run_id: str, interval_s: float = INTERVAL_S) -> None:
        self.run_id = run_id
        self.events: list[Event] = []
        self.texts: list[str] = []  # events[i] as JSON, made on the first client's demand
        self.finished = False
        self.node_runs = 0
        self._interval_s = interval_s
        self._send: asyncio.Future[None] | None = None  # the next send, for every client
        self._armed = False  # its timer is set
        self._last: tuple[int, int, Batch] | None = None  # shared by level clients
        self._spent = 0.0  # seconds spent sending since the last timer was set

    def seen(self, event: Event) -> None:
        self.events.append(event)
        kind = type(event)
        if kind is NodeCompleted or kind is NodeFailed:
            self.node_runs += 1
        elif kind is RunCompleted:
            self.finished = True
            _fire(self._send)  # the end goes out at once
            return
        if not self._armed and self._send is not None:  # clients wait: one timer for all
            self._arm()

    def _arm(self) -> None:
        self._armed = True
        delay = max(self._interval_s, self._spent / SEND_BUDGET)
        self._spent = 0.0
        asyncio.get_running_loop().call_later(delay, self._fire_send)

    def _fire_send(self) -> None:
        self._armed = False
        _fire(self._send)

    def text(self, start: int, stop: int) -> list[str]:
        """The JSON texts of events[start:stop], serialised once for every client."""
        texts = self.texts
        if len(texts) < stop:
            texts.extend(json_out.compact(e.to_dict()) for e in self.events[len(texts):stop])
        return texts[start:stop]

    def batch(self, start: int, stop: int) -> Batch:
        last = self._last
        if last is not None and last[0] == start and last[1] == stop:
            return last[2]
        batch = Batch(list(zip(range(start + 1, stop + 1), self.text(start, stop),
                               strict=True)), self)
        self._last = (start, stop, batch)
        return batch

    async def next_send(self, pending: bool) -> None:
        """Until the next send time shared by every client of this run (at once when
        the run has ended). Clients wake once per send time, not once per event; the
        timer is set by the first event after a send, or now when `pending`."""
        if self.finished:
            return
        send = self._send
        if send is None or send.done():
            send = self._send = asyncio.get_running_loop().create_future()
        if pending and not self._armed:
            self._arm()
        await asyncio.shield(send)  # shared: one client's cancellation is not the others'

    def sent(self, seconds: float) -> None:
        """A client's send took this long (it delays the next timer; SEND_BUDGET)."""
        self._spent += seconds


def _fire(future: asyncio.Future[None] | None) -> None:
    if future is not None and not future.done():
        future.set_result(None)


class LiveHub:
    """The runs in progress (and just finished) and their events."""

    def __init__(self, max_lag: int = MAX_LAG, interval_s: float = INTERVAL_S) -> None:
        self.runs: dict[str, LiveRun] = {}
        self.max_lag = max_lag
        self.interval_s = interval_s
        self.node_runs_done = 0  # of runs dropped already (metrics)

    def open(self, run_id: str) -> LiveRun:
        live = self.runs[run_id] = LiveRun(run_id, self.interval_s)
        return live

    def drop(self, run_id: str) -> None:
        live = self.runs.pop(run_id, None)
        if live is not None:
            self.node_runs_done += live.node_runs

    def on_event(self, event: Event) -> None:
        """The bus subscriber of every run this server starts."""
        live = self.runs.get(event.run_id)
        if live is not None:
            live.seen(event)

    def node_runs(self) -> int:
        return self.node_runs_done + sum(r.node_runs for r in self.runs.values())


async def follow_live(live: LiveRun, after_seq: int, max_lag: int,
                      ) -> AsyncIterator[Batch]:
    """Batches of the run's events with seq > after_seq, until run_completed: what has
    gathered is sent at each of the run's shared send times and at its end. Raises
    SlowClient when the consumer falls behind by more than `max_lag` events."""
    cursor = max(0, after_seq)  # seq numbers are 1, 2, 3...: events[i].seq == i + 1
    due = False  # a send time has come since the client last caught up
    while True:
        n = len(live.events)
        if n - cursor > max_lag:
            raise SlowClient(f"the client fell {n - cursor} events behind (the limit is "
                             f"{max_lag}); reconnect with after_seq={cursor}")
        if cursor < n and (due or live.finished):
            stop = min(n, cursor + MAX_BATCH)
            batch = live.batch(cursor, stop)
            cursor = stop
            due = cursor < n  # drain a backlog before waiting for the next send time
            yield batch
        elif live.finished:
            return
        else:
            await live.next_send(pending=cursor < n)
            due = True


def as_batches(events: list[dict[str, Any]]) -> list[Batch]:
    """Stored events (dicts) as the batches follow_live yields."""
    pairs = [(int(e["seq"]), json_out.compact(e)) for e in events]
    return [Batch(pairs[i:i + MAX_BATCH]) for i in range(0, len(pairs), MAX_BATCH)]
