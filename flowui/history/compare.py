"""Two runs side by side, node by node (no Qt): what differs in status, in duration
and in what each node produced. Both runs are `RunSession`s (a stored run replayed
to its end, or the run just shown), so the comparison reads what the views read.

A duration differs when the slower is at least `DURATION_RATIO` times the faster and
they are `DURATION_MIN_MS` apart: timings always jitter, and a node that took 2 ms
once and 3 ms the next time has not changed in any way a person cares about.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flowui.run.session import NodeState, RunSession

DURATION_RATIO = 1.5
DURATION_MIN_MS = 5.0


@dataclass(frozen=True)
class NodeDifference:
    path: str
    what: tuple[str, ...]  # of: only_in_a, only_in_b, status, duration, outputs, error
    a: NodeState | None = field(compare=False)
    b: NodeState | None = field(compare=False)

    def describe(self) -> str:
        """One line for the comparison's list."""
        a, b = self.a, self.b
        if a is None or b is None:
            return "only in the first run" if b is None else "only in the second run"
        parts = []
        if "status" in self.what:
            parts.append(f"{a.status} → {b.status}")
        if "duration" in self.what:
            parts.append(f"{_ms(a.duration_ms)} → {_ms(b.duration_ms)}")
        if "outputs" in self.what:
            parts.append("outputs differ" + (" (a preview was compared)"
                                             if _cut(a) or _cut(b) else ""))
        if "error" in self.what:
            parts.append("error differs")
        return "; ".join(parts)


def compare(a: RunSession, b: RunSession) -> list[NodeDifference]:
    """Every node (path, inside bodies too) whose latest state differs, in the order
    of the first run, then the nodes only the second has."""
    found: list[NodeDifference] = []
    for path, state in a.nodes.items():
        other = b.nodes.get(path)
        if other is None:
            found.append(NodeDifference(path, ("only_in_a",), state, None))
            continue
        what = differences(state, other)
        if what:
            found.append(NodeDifference(path, what, state, other))
    found += [NodeDifference(path, ("only_in_b",), None, state)
              for path, state in b.nodes.items() if path not in a.nodes]
    return found


def differences(a: NodeState, b: NodeState) -> tuple[str, ...]:
    what = []
    if a.status != b.status:
        what.append("status")
    if _durations_differ(a.duration_ms, b.duration_ms):
        what.append("duration")
    if _value(a) != _value(b):
        what.append("outputs")
    if (a.error or {}).get("message") != (b.error or {}).get("message") or \
            (a.error or {}).get("type") != (b.error or {}).get("type"):
        what.append("error")
    return tuple(what)


def _durations_differ(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return False  # a node that did not run: its status says so
    slow, fast = max(a, b), min(a, b)
    return slow - fast >= DURATION_MIN_MS and slow >= fast * DURATION_RATIO


def _value(state: NodeState) -> Any:
    return state.outputs.value if state.outputs is not None else None


def _cut(state: NodeState) -> bool:
    return state.outputs is not None and state.outputs.cut


def _ms(ms: float | None) -> str:
    return "—" if ms is None else (f"{ms:.0f} ms" if ms < 10_000 else f"{ms / 1000:.1f} s")
