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
    """Holds, one per run shown: `hold()` returns a token, `release(token)` gives it
    back; full collections resume when no hold is left. The thresholds are the
    process's, so there is one of these (`HELD`) for every window; a release may come
    after the window that asked for it is gone (it is delayed until the run's last
    frame is on screen), and ends only its own run's hold."""

    def __init__(self) -> None:
        self._saved: tuple[int, int, int] | None = None
        self._holds: set[object] = set()

    @property
    def held(self) -> bool:
        return bool(self._holds)

    def hold(self) -> object:
        if not self._holds:
            self._saved = gc.get_threshold()
            young, middle, _ = self._saved
            gc.set_threshold(young, middle, NEVER)
        token = object()
        self._holds.add(token)
        return token

    def release(self, token: object) -> None:
        self._holds.discard(token)
        if not self._holds and self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None


HELD = FullCollectionsHeld()
