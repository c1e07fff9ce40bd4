"""Pausing Python's cyclic garbage collector around bulk, synchronous building.

Compiling or loading a 10,000-node workflow allocates ~20 objects per node while
everything built so far stays alive; each allocation burst then triggers full
collections that rescan all of it, doubling the build time (measured: compile
17-22 µs/node with the collector on, 8-12 with it paused). Nothing built there
forms reference cycles, so pausing loses nothing; reference counting still frees
everything as usual, and the collector resumes right after.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
