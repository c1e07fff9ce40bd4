"""Blocking calls (file I/O, synchronous node bodies) off the event loop, in threads
that never hold the process open.

`asyncio.to_thread` uses the loop's default executor, whose threads Python joins
at exit (`asyncio.run` waits for them, then the interpreter does): a node blocked
in a system call (a hung network drive, a device, a body that sleeps) kept
`flowcli` alive after Ctrl-C for as long as the call lasted. These workers are
daemon threads: a cancelled await returns at once, and the process ends while
the abandoned call is still inside the kernel.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import queue
import threading
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")


class DaemonPool:
    """A bounded pool of daemon worker threads, grown on demand (like the standard
    ThreadPoolExecutor: at most `max_workers`, jobs queue past that)."""

    def __init__(self, max_workers: int | None = None) -> None:
        self.max_workers = max_workers or min(32, (os.cpu_count() or 1) + 4)
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._workers = 0
        self._idle = 0

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            # Each job reserves an idle worker or starts one, so a job never waits
            # behind a worker that is stuck, unless the pool is full.
            if self._idle:
                self._idle -= 1
            elif self._workers < self.max_workers:
                self._workers += 1
                threading.Thread(target=self._work, daemon=True,
                                 name=f"flowui-worker-{self._workers}").start()
        self._jobs.put(job)

    def _work(self) -> None:
        while True:
            self._jobs.get()()
            with self._lock:
                self._idle += 1


_pool = DaemonPool()
# Set where the event loop's thread may block (a Dask worker's task thread runs one
# node at a time: engine.distributed.worker): the call then runs in place, saving
# the thread hop (tens of microseconds) and a second thread per worker.
blocking_inline: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "blocking_inline", default=False)


async def in_thread(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """`await fn(*args, **kwargs)` run in a daemon worker thread, with the caller's
    context variables (as asyncio.to_thread). Cancelling the await abandons the call."""
    if blocking_inline.get():
        return fn(*args, **kwargs)
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    call = partial(contextvars.copy_context().run, fn, *args, **kwargs)

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():  # cancelled meanwhile: nobody waits for the result
            return
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)

    def job() -> None:
        try:
            result = call()
        except BaseException as e:  # handed to the awaiting task, like to_thread
            error: BaseException | None = e
            result = None
        else:
            error = None
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody to tell
            loop.call_soon_threadsafe(settle, result, error)

    _pool.submit(job)
    return await future
