"""The bodies one run may start (loop iterations, sub-workflow runs): in all, and at once.

A for_each over 100,000 items fits; three files that each call the next three would
otherwise start 3**40 bodies (seen: 19 GB before it was killed). docs/limits.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from engine.errors import NodeError

MAX_BODY_RUNS = 1_000_000
MAX_BODIES_RUNNING = 10_000


class BodyBudget:
    __slots__ = ("running", "started")

    def __init__(self) -> None:
        self.started = 0
        self.running = 0

    @contextmanager
    def body(self) -> Iterator[None]:
        """Around one body's execution; NodeError (not retried) past either limit."""
        self.started += 1
        if self.started > MAX_BODY_RUNS:
            raise NodeError(f"this run has started more than {MAX_BODY_RUNS:,} bodies (loop "
                            "iterations and sub-workflows), the limit of one run",
                            retryable=False)
        if self.running >= MAX_BODIES_RUNNING:
            raise NodeError(f"more than {MAX_BODIES_RUNNING:,} bodies would run at once: "
                            "sub-workflows or loops that each start several others fan out "
                            "exponentially; lower max_parallel or flatten the nesting",
                            retryable=False)
        self.running += 1
        try:
            yield
        finally:
            self.running -= 1
