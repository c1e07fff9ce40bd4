"""Keeping a run's values in the editor with bounded memory: a value over the size
limit (a setting) is kept as the engine's cut preview with its size stated, and the
whole run's kept values stay under a budget."""

from __future__ import annotations

from typing import Any, NamedTuple

from engine.core.preview import preview

DEFAULT_MAX_VALUE_BYTES = 1_000_000  # per node's outputs (or inputs); settings: run/max_value_bytes
DEFAULT_BUDGET_BYTES = 256_000_000  # all values of one run together


class Kept(NamedTuple):
    value: Any
    cut: bool  # `value` is a preview of something bigger (or an event's preview)
    size: int | None  # the estimated size in bytes when it was measured
    note: str = ""  # why it was cut, for the Run tab


def measure(value: Any, limit: int) -> int:
    """The approximate size of `value` as JSON, in bytes; stops counting (and returns
    more than `limit`) as soon as it passes `limit`, so a huge value costs little."""
    size = 0
    stack = [value]
    while stack:
        v = stack.pop()
        t = type(v)
        if t is str:
            size += len(v) + 2
        elif t is dict:
            size += 2 + 4 * len(v)
            for k, item in v.items():
                size += len(k) + 2 if type(k) is str else 8
                stack.append(item)
        elif t is list or t is tuple:
            size += 2 + len(v)
            stack.extend(v)
        elif t is bytes or t is bytearray:
            size += len(v) * 2
        elif v is None or t is bool or t is int or t is float:
            size += 6
        else:
            size += 64  # an object the Run tab will show by its repr, cut
        if size > limit:
            return size
    return size


def human_size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


class ValueBudget:
    """Decides, value by value, whether a run's value is kept whole or as a preview."""

    def __init__(self, max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
                 budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self.max_value_bytes = max_value_bytes
        self.budget_bytes = budget_bytes
        self.used = 0

    def keep(self, value: Any) -> Kept:
        room = min(self.max_value_bytes, self.budget_bytes - self.used)
        size = measure(value, room)
        if size <= room:
            self.used += size
            return Kept(value, False, size)
        if room < self.max_value_bytes:
            note = (f"Cut to a preview: this run's values passed the editor's memory budget "
                    f"of {human_size(self.budget_bytes)}")
        else:
            note = (f"Cut to a preview: over {human_size(self.max_value_bytes)}, the "
                    "editor's limit for one value (Run ▸ Value Size Limit)")
        return Kept(preview(value), True, None, note)
