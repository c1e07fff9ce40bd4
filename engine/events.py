"""Run events (FORMAT.md section 3): typed, frozen, past tense, numbered per run.

The CLI printer, the run store and the editor all read these same objects.
`timestamp` is seconds since the epoch; `to_dict()` renders it as ISO 8601 UTC
(`ts`), the JSON shape of the contract. Events from inside a subgraph body name
their node by path (`loop1/inc`) and carry `iteration` or `index`.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any, ClassVar


def iso_utc(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


@dataclasses.dataclass(frozen=True, slots=True)
class Event:
    name: ClassVar[str] = "event"
    # field names whose value None is left out of to_dict(): optional context.
    _optional: ClassVar[frozenset[str]] = frozenset({"iteration", "index"})

    run_id: str
    seq: int
    timestamp: float

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"event": self.name, "run_id": self.run_id, "seq": self.seq,
                               "ts": iso_utc(self.timestamp)}
        for f in _payload_fields(type(self)):
            value = getattr(self, f)
            if value is None and f in self._optional:
                continue
            out[f] = value
        return out


_FIELDS: dict[type, tuple[str, ...]] = {}


def _payload_fields(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = tuple(f.name for f in dataclasses.fields(cls)
                      if f.name not in ("run_id", "seq", "timestamp"))
        _FIELDS[cls] = names
    return names


def _event(name: str) -> Any:
    def wrap(cls: type) -> type:
        cls.name = name  # type: ignore[attr-defined]
        made = dataclasses.dataclass(frozen=True, slots=True)(cls)
        EVENT_TYPES[name] = made
        return made
    return wrap


EVENT_TYPES: dict[str, type[Event]] = {}


@_event("run_started")
class RunStarted(Event):
    workflow: str
    inputs: dict[str, Any]


@_event("run_retrying")
class RunRetrying(Event):
    attempt: int  # the attempt about to start (2, 3, ...)
    error: dict[str, Any]


@_event("node_started")
class NodeStarted(Event):
    node_id: str
    node_type: str
    attempt: int
    iteration: int | None = None
    index: int | None = None


@_event("node_log")
class NodeLogged(Event):
    node_id: str
    level: str
    message: str
    iteration: int | None = None
    index: int | None = None


@_event("node_progress")
class NodeProgressed(Event):
    node_id: str
    fraction: float | None
    message: str
    iteration: int | None = None
    index: int | None = None


@_event("node_retrying")
class NodeRetrying(Event):
    node_id: str
    attempt: int  # the attempt about to start after the wait (2, 3, ...)
    delay_s: float
    error: dict[str, Any]
    iteration: int | None = None
    index: int | None = None


@_event("node_completed")
class NodeCompleted(Event):
    node_id: str
    node_type: str
    duration_ms: float
    outputs: dict[str, Any]  # a preview: large values are cut
    cached: bool
    iteration: int | None = None
    index: int | None = None


@_event("node_failed")
class NodeFailed(Event):
    node_id: str
    node_type: str
    attempt: int
    error: dict[str, Any]  # {type, message}
    routed: bool  # sent to the node's connected `error` port
    iteration: int | None = None
    index: int | None = None


@_event("node_skipped")
class NodeSkipped(Event):
    node_id: str
    reason: str  # disabled | branch_not_taken | upstream_skipped | upstream_failed | cancelled
    iteration: int | None = None
    index: int | None = None


@_event("node_cancelled")
class NodeCancelled(Event):
    node_id: str
    iteration: int | None = None
    index: int | None = None


@_event("run_completed")
class RunCompleted(Event):
    status: str  # completed | failed | cancelled
    duration_ms: float
    outputs: dict[str, Any]
    error: dict[str, Any] | None
    failed_node: str | None
    node_errors: list[dict[str, Any]]
