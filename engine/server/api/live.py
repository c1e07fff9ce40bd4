"""Live events of the runs this server is running, shared by every WebSocket and SSE
client: one list of events per run, each serialised once, each client a cursor into it.

The run's side costs the same whatever the number of clients: its bus subscriber
appends the event and completes one wake-up future (clients waiting on it resume on
the loop's next turn). Clients share the loop with the run, so they send on one
shared tick per `interval_s` (and at once when the run ends): 200 clients of a
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
# Sending live events may take about this share of the loop: a tick whose sends took
# longer pushes the next one out (200 clients of a big run: ~1 s between ticks).
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
    __slots__ = ("_last", "_spent", "_tick", "_waker", "events", "finished", "node_runs",
                 "run_id", "texts")

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.events: list[Event] = []
        self.texts: list[str] = []  # events[i] as JSON, made on the first client's demand
        self.finished = False
        self.node_runs = 0
        self._waker: asyncio.Future[None] | None = None  # the next event
        self._tick: asyncio.Future[None] | None = None  # the next send for every client
        self._last: tuple[int, int, Batch] | None = None  # shared by level clients
        self._spent = 0.0  # seconds spent sending since the last tick was armed

    def seen(self, event: Event) -> None:
        self.events.append(event)
        kind = type(event)
        if kind is NodeCompleted or kind is NodeFailed:
            self.node_runs += 1
        elif kind is RunCompleted:
            self.finished = True
            _fire(self._tick)  # the end goes out at once
        _fire(self._waker)

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

    async def changed(self) -> None:
        """Until the next event (or at once, if the run has finished)."""
        if self.finished:
            return
        waker = self._waker
        if waker is None or waker.done():
            waker = self._waker = asyncio.get_running_loop().create_future()
        await asyncio.shield(waker)  # shared: one client's cancellation is not the others'

    async def tick(self, interval_s: float) -> None:
        """Until the next send time shared by every client of this run: one timer for
        all of them, and level clients then share one batch (or at once at the end)."""
        if self.finished:
            return
        tick = self._tick
        if tick is None or tick.done():
            loop = asyncio.get_running_loop()
            tick = self._tick = loop.create_future()
            loop.call_later(max(interval_s, self._spent / SEND_BUDGET), _fire, tick)
            self._spent = 0.0
        await asyncio.shield(tick)

    def sent(self, seconds: float) -> None:
        """A client's send took this long (it delays the next tick; SEND_BUDGET)."""
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
        live = self.runs[run_id] = LiveRun(run_id)
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


async def follow_live(live: LiveRun, after_seq: int, max_lag: int, interval_s: float,
                      ) -> AsyncIterator[Batch]:
    """Batches of the run's events with seq > after_seq, until run_completed: what has
    gathered is sent at each of the run's shared ticks (every `interval_s`) and at its
    end. Raises SlowClient when the consumer falls behind by more than `max_lag`
    events."""
    cursor = max(0, after_seq)  # seq numbers are 1, 2, 3...: events[i].seq == i + 1
    due = False  # a tick has come since the client last caught up
    while True:
        n = len(live.events)
        if n - cursor > max_lag:
            raise SlowClient(f"the client fell {n - cursor} events behind (the limit is "
                             f"{max_lag}); reconnect with after_seq={cursor}")
        if cursor < n and (due or live.finished):
            stop = min(n, cursor + MAX_BATCH)
            batch = live.batch(cursor, stop)
            cursor = stop
            due = cursor < n  # drain a backlog before waiting for the next tick
            yield batch
        elif cursor < n:
            await live.tick(interval_s)
            due = True
        elif live.finished:
            return
        else:
            await live.changed()


def as_batches(events: list[dict[str, Any]]) -> list[Batch]:
    """Stored events (dicts) as the batches follow_live yields."""
    pairs = [(int(e["seq"]), json_out.compact(e)) for e in events]
    return [Batch(pairs[i:i + MAX_BATCH]) for i in range(0, len(pairs), MAX_BATCH)]
