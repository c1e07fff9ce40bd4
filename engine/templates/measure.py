"""Measuring what a template builds and how long it runs: the deadline and the work meter
of the render in progress (`RUN`), and `weight`, what a value costs once written out
(shared references count every time, big ints count their digits).
"""

from __future__ import annotations

import contextvars
import time
import types
from collections.abc import ItemsView, KeysView, ValuesView
from typing import Any

WORK_FACTOR = 50  # a render may allocate at most this many times max_items in results

# [deadline, template source, time limit, items allocated so far] of the render running
# in this thread / task (a list: the last entry is updated in place).
RUN: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar(
    "flowui_template_run", default=None)


class Refused(Exception):
    """One of our own bounds, raised deep inside Jinja and reported as TemplateError."""


# The deadline is checked in every sandbox hook (attribute and item access, calls,
# intercepted operators, filters, each `{{ }}` output, `~`), every 256 items of each
# for-loop, at each output chunk and each append to an output buffer. Not interruptible:
# one C-level operation, so those are bounded beforehand (sorting at most max_items items,
# comparing values of bounded weight, big ints to max_items digits), and compiling.
def tick() -> None:
    run = RUN.get()
    if run is not None and time.monotonic() > run[0]:
        raise Refused(f"evaluation took longer than {run[2]} s (time limit)")


def charge(n: int, limit: int) -> None:
    """Count `n` items allocated by the running render; refuse past `limit` in total, so
    a loop that builds and drops big values cannot churn through unbounded memory."""
    run = RUN.get()
    if run is not None:
        run[3] += n
        if run[3] > limit:
            raise Refused(f"the values built by this template exceed the limit of {limit} "
                          "items in total")


def range_len(rng: range) -> int:
    # len() would overflow past a C ssize_t; this is the same count, as a Python int
    return max(0, -((rng.start - rng.stop) // rng.step))


_BIG = 1 << 64  # ints beyond a machine word weigh their digits
SCALARS = frozenset({float, bool, complex, types.NoneType})


def weight(value: Any, budget: int) -> int:
    """Rough size in items (characters for strings, digits for big ints), counted only
    up to `budget`.

    Shared references (`[x] * n`) count every time, because that is what they cost
    once serialised; a container is charged its length before being entered, so
    the walk itself never takes more than `budget` steps. Exact types are tested
    first: this runs over every value that is output or built.
    """
    total, stack, steps = 1, [value], 0  # every value, the top one included, counts 1
    pop, extend, big = stack.pop, stack.extend, _BIG
    while stack and total <= budget:
        item = pop()
        steps += 1
        if not steps & 4095:  # a walk over a big value must not outlast the deadline
            tick()
        tp = type(item)
        if tp is int:
            if item >= big or item <= -big:  # log10(2) ~ 0.30103; no str() needed
                total += item.bit_length() * 30103 // 100000
        elif tp is str or tp is list or tp is tuple or tp is bytes:
            if item:
                total += len(item) - 1
                if (tp is list or tp is tuple) and total <= budget:
                    extend(item)
        elif tp is dict:
            if item:
                total += 2 * len(item) - 1
                if total <= budget:
                    extend(item.keys())
                    extend(item.values())
        elif tp in SCALARS:
            pass
        elif isinstance(item, str | bytes):  # subclasses: Markup
            total += max(len(item) - 1, 0)
        elif isinstance(item, int) and not -_BIG < item < _BIG:
            total += item.bit_length() * 30103 // 100000
        elif isinstance(item, range):
            total += max(range_len(item) - 1, 0)
        elif isinstance(item, KeysView | ValuesView | ItemsView):
            total += max(len(item) - 1, 0)
        elif isinstance(item, dict):
            total += max(2 * len(item) - 1, 0)
            if total <= budget:
                extend(item.keys())
                extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            total += max(len(item) - 1, 0)
            if total <= budget:
                extend(item)
    return total


def depth(value: Any, budget: int) -> int:
    """How deeply containers nest in `value`, looking at no more than `budget` values."""
    deepest, stack = 0, [(value, 0)]
    while stack and budget > 0:
        item, level = stack.pop()
        budget -= 1
        if isinstance(item, list | tuple | set | frozenset | dict):
            deepest = max(deepest, level + 1)
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest
