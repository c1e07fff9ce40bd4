"""Keeping Python's cyclic garbage collector out of bulk, synchronous building.

Loading or compiling a 10,000-node workflow allocates ~20 container objects per node
while everything built so far stays alive. With the collector running, each burst of
allocations triggers collections that rescan all of it (measured: compile 17-22
µs/node with the collector on, 8-12 paused). Merely pausing it moves part of the
cost: the first collection after the pause scans every object built during it (3-5
µs/node more). A process that owns its heap (`flowcli`, serve mode) can therefore
ask for what was built to be filed straight into the oldest generation
(`gc.freeze()` then `gc.unfreeze()`, two list splices), where only the rare full
collections look at it.

That is not the default, because it files *every* young object there, not only
what was built: in the editor, Qt wrapper objects that become garbage in cycles
would then wait for a full collection, which may come after Qt has deleted their C++
side, and collecting them then crashes the process (seen: a segmentation fault in
the test suite). Nothing built here forms reference cycles, so neither way lets
garbage wait longer; reference counting frees everything as usual.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_file_as_old = False


def file_built_objects_as_old(on: bool = True) -> None:
    """For processes with no Qt objects (the command line, serve mode): after bulk
    building, file everything young into the oldest GC generation."""
    global _file_as_old
    _file_as_old = on


@contextmanager
def gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if _file_as_old:
                gc.freeze()
                gc.unfreeze()
            gc.enable()
