"""Starting asyncio tasks eagerly where Python can (3.12+).

An eager task runs its coroutine at once, up to its first real wait, inside the
call that makes it (with itself as the current task, so timeouts and cancel scopes
work as in any task). A node that finishes without waiting (most transform, control
and flow nodes) then costs no trip through the event loop at all: a re-run of a
small workflow becomes several times cheaper. On 3.11 tasks start on the loop's
next turn, as they always have; callers must not rely on either.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any

EAGER = sys.version_info >= (3, 12)


def task_starter(loop: asyncio.AbstractEventLoop,
                 ) -> Callable[[Coroutine[Any, Any, Any]], asyncio.Task[Any]]:
    """A function making tasks on `loop`: eager ones where Python can."""
    if EAGER:
        return partial(asyncio.Task, loop=loop, eager_start=True)  # type: ignore[call-arg]
    return loop.create_task
