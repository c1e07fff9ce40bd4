"""The event bus: one run's events to every subscriber, in order.

Sync subscribers are called inline (keep them cheap); async subscribers each
get their own queue and consumer task, so a slow one never reorders events or
stalls the run. A subscriber that raises is logged and the run goes on.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import types
from collections.abc import Awaitable, Callable
from typing import Any

from engine.core.events import Event

log = logging.getLogger("flowui.bus")

Subscriber = Callable[[Event], Any]


class EventBus:
    def __init__(self) -> None:
        self._sync: list[Subscriber] = []
        self._async: list[_AsyncSubscriber] = []

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        """Add a subscriber; returns a function that removes it."""
        # a coroutine function, or an object whose class has an async __call__
        is_async = inspect.iscoroutinefunction(fn) or (
            not isinstance(fn, types.FunctionType | types.MethodType)
            and inspect.iscoroutinefunction(getattr(type(fn), "__call__", None)))  # noqa: B004
        if is_async:
            sub = _AsyncSubscriber(fn)
            self._async.append(sub)
            return lambda: self._async.remove(sub) if sub in self._async else None
        self._sync.append(fn)
        return lambda: self._sync.remove(fn) if fn in self._sync else None

    def publish(self, event: Event) -> None:
        for fn in self._sync:
            try:
                fn(event)
            except Exception:
                log.exception("event subscriber %r failed on %s; the run goes on", fn, event.name)
        if self._async:
            for sub in self._async:
                sub.put(event)

    @property
    def has_async_subscribers(self) -> bool:
        return bool(self._async)

    async def flush(self) -> None:
        """Wait until every async subscriber has handled every event published so far."""
        for sub in list(self._async):
            await sub.join()


class _AsyncSubscriber:
    def __init__(self, fn: Callable[[Event], Awaitable[Any]]) -> None:
        self.fn = fn
        self.queue: asyncio.Queue[Event] | None = None
        self.task: asyncio.Task[None] | None = None

    def put(self, event: Event) -> None:
        if self.queue is None or self.task is None or self.task.done():
            self.queue = asyncio.Queue()
            self.task = asyncio.get_running_loop().create_task(self._consume(self.queue))
        self.queue.put_nowait(event)

    async def join(self) -> None:
        if self.queue is not None:
            await self.queue.join()

    async def _consume(self, queue: asyncio.Queue[Event]) -> None:
        while True:
            event = await queue.get()
            try:
                await self.fn(event)
            except Exception:
                log.exception("async event subscriber %r failed on %s; the run goes on",
                              self.fn, event.name)
            finally:
                queue.task_done()
