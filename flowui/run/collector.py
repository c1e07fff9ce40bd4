"""Python's full garbage collections held off while a run is shown live.

A full (oldest-generation) collection visits every object the process tracks; in the
editor with a 10,000-node workflow open that is millions of objects and a 150-250 ms
freeze, and a run allocates enough to trigger several of them (bench/live.py). While
a run goes on only the young generations are collected (they hold what the run just
made, cheap to visit); the full collections that were due happen after it, when the
window is idle. Garbage is still freed by reference counting as usual; only cycles
among objects older than the run wait, for as long as the run.

(gc.freeze() would keep full collections short too, but it defers collecting Qt
wrappers caught in cycles until after Qt has deleted their C++ side, which crashed
the test suite once: engine/support/gcpause.py.)
"""

from __future__ import annotations

import gc

NEVER = 1 << 30  # a threshold no count reaches


class FullCollectionsHeld:
    """`hold()` when a run starts, `release()` when it ends (either twice is harmless)."""

    def __init__(self) -> None:
        self._saved: tuple[int, int, int] | None = None

    @property
    def held(self) -> bool:
        return self._saved is not None

    def hold(self) -> None:
        if self._saved is None:
            self._saved = gc.get_threshold()
            young, middle, _ = self._saved
            gc.set_threshold(young, middle, NEVER)

    def release(self) -> None:
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None
