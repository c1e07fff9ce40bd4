"""Serve mode's side of a `queue.trigger`: take items while a run slot is free, run the
workflow once per item, answer the queue when the run ends.

The lease is renewed every third of the visibility timeout while the run goes on, so
a long run keeps its item; if this process dies the renewals stop and the item is
taken again once the lease runs out. A run that completes acks its item; one that
fails or is cancelled nacks it (taken again, or dead-lettered at the delivery limit);
one cancelled by a graceful stop gives it back without counting the delivery.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from engine.errors import FlowError
from engine.server.queues.backend import Item, QueueBackend
from engine.support.threads import in_thread

POLL_S = 0.05  # how often an idle consumer looks for an item (and a busy one for a slot)
ERROR_PAUSE_S = 1.0  # after the backend failed (Redis down): wait, say so, try again


class QueueConsumer:
    """One queue.trigger of one served workflow. `server` is engine.server.serve_mode's
    Server: its run slots, its `_execute` and its log are shared with the webhooks."""

    def __init__(self, server: Any, trigger: Any, backend: QueueBackend) -> None:
        self.server = server
        self.node_id: str = trigger.node_id
        self.name: str = trigger.config["queue"]
        self.visibility_s = float(trigger.config["visibility_s"])
        self.max_deliveries = int(trigger.config["max_deliveries"])
        self.backend = backend
        self._tasks: set[asyncio.Task[None]] = set()
        self._failing = False
        self._loop: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Consume until the server stops (`_stopping`); not cancelled by the stop, so a
        take in progress is seen through and its item given back uncounted."""
        self._loop = asyncio.create_task(self.run())

    async def run(self) -> None:
        s = self.server
        s.log(f"consuming queue {self.name!r} ({self.backend.url}) -> {self.node_id}")
        while not s._stopping:
            if s._running >= s.max_runs or s._waiters:
                await asyncio.sleep(POLL_S)
                continue
            s._running += 1  # the slot is ours before the take: no other taker gets it
            try:
                item = await in_thread(self.backend.take, self.name,
                                       visibility_s=self.visibility_s,
                                       max_deliveries=self.max_deliveries)
            except FlowError as e:  # QueueError, or StoreError: the store stayed locked
                s._release()
                if not self._failing:
                    s.log(f"error: queue {self.name!r}: {e}; trying again every "
                          f"{ERROR_PAUSE_S:g} s")
                self._failing = True
                await asyncio.sleep(ERROR_PAUSE_S)
                continue
            except BaseException:
                s._release()
                raise
            self._failing = False
            if item is None:
                s._release()
                await asyncio.sleep(POLL_S)
                continue
            if s._stopping:  # taken just as the stop began: give it back uncounted
                s._release()
                await self._answer(item, None, stopped=True)
                return
            # the slot is released by `_execute`
            task = asyncio.create_task(self._consume(item))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for the loop to see the stop and the items in hand to be answered (after
        the server's runs ended)."""
        if self._loop is not None:
            await asyncio.gather(self._loop, return_exceptions=True)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _consume(self, item: Item) -> None:
        s = self.server
        started = time.perf_counter()
        payload = {"node": self.node_id, "queue": self.name, "item": item.id,
                   "delivery": item.deliveries, "value": item.value}
        keeper = asyncio.create_task(self._keep(item))
        try:
            _, result = await s._execute(payload, [], await s._record(payload, []))
        finally:
            keeper.cancel()
        stopped = result.status == "cancelled" and s._stopping
        outcome = await self._answer(item, None if result.status == "completed" else
                                     result.error, stopped=stopped)
        s.log(f"QUEUE {self.name} {item.id} delivery {item.deliveries} {result.status} "
              f"{outcome} {(time.perf_counter() - started) * 1000:.1f}ms {result.run_id}")

    async def _keep(self, item: Item) -> None:
        while True:
            await asyncio.sleep(self.visibility_s / 3)
            try:
                if not await in_thread(self.backend.extend, item, self.visibility_s):
                    self.server.log(f"warning: queue {self.name!r} item {item.id}: its lease "
                                    "was lost; it may run again elsewhere")
                    return
            except FlowError as e:  # QueueError, or StoreError: the store stayed locked
                self.server.log(f"warning: queue {self.name!r}: cannot renew a lease: {e}")

    async def _answer(self, item: Item, error: Any, *, stopped: bool = False) -> str:
        """ack (error None) or nack; retried while the backend fails, since the answer
        is what keeps an item from running twice or being lost."""
        for attempt in range(5):
            try:
                if error is None and not stopped:
                    return "acked" if await in_thread(self.backend.ack, item) else "lost"
                return await in_thread(self.backend.nack, item,
                                       max_deliveries=self.max_deliveries, error=error,
                                       count=not stopped)
            except FlowError as e:  # QueueError, or StoreError: the store stayed locked
                self.server.log(f"warning: queue {self.name!r} item {item.id}: {e}")
                await asyncio.sleep(ERROR_PAUSE_S * (attempt + 1))
        return "unanswered (taken again when its lease runs out)"
