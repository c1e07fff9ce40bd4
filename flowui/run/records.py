"""Plain records of a run that the run views share (no Qt): log lines."""

from __future__ import annotations

from typing import NamedTuple

LEVELS = ("debug", "info", "warning", "error")


class LogLine(NamedTuple):
    """One line of the Log dock: a node's `ctx.log` line or a message about the run."""

    ts: float  # seconds since the epoch
    level: str  # debug | info | warning | error
    node: str | None  # the node's path ("loop1/inc" inside a body); None: the run itself
    message: str
    iteration: int | None = None  # inside a loop body: the iteration or item index
