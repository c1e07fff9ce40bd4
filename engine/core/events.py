"""Run events (FORMAT.md section 3): typed, frozen, past tense, numbered per run.

The CLI printer, the run store and the editor all read these same objects.
`timestamp` is seconds since the epoch; `to_dict()` renders it as ISO 8601 UTC
(`ts`), the JSON shape of the contract. Events from inside a subgraph body name
their node by path (`loop1/inc`) and carry `iteration` or `index`.
"""

from __future__ import annotations

import inspect
import operator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar


def iso_utc(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


class Event(tuple):  # type: ignore[type-arg]
    """Base of all events: an immutable record with named fields.

    A tuple underneath, because a run of 10,000 nodes makes 20,000 of them while the
    engine's whole per-node budget is a few microseconds: a tuple record is built in
    a third of the time of a frozen dataclass, and is just as immutable."""

    __slots__ = ()
    name: ClassVar[str] = "event"
    fields: ClassVar[tuple[str, ...]] = ("run_id", "seq", "timestamp")
    # field names whose value None is left out of to_dict(): optional context.
    _optional: ClassVar[frozenset[str]] = frozenset({"iteration", "index"})

    if TYPE_CHECKING:
        run_id: str
        seq: int
        timestamp: float
        iteration: int | None
        # FORMAT.md's for_each `index` shadows tuple.index on purpose: events are records.
        index: int | None  # type: ignore[assignment]

        def __init__(self, *values: Any) -> None: ...

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"event": self.name, "run_id": self[0], "seq": self[1],
                               "ts": iso_utc(self[2])}
        optional = self._optional
        for f, value in zip(self.fields[3:], self[3:], strict=True):
            if value is None and f in optional:
                continue
            out[f] = value
        return out

    def __repr__(self) -> str:
        inner = ", ".join(f"{f}={v!r}" for f, v in zip(self.fields, self, strict=True))
        return f"{type(self).__name__}({inner})"


for _i, _f in enumerate(Event.fields):
    setattr(Event, _f, property(operator.itemgetter(_i), doc=_f))

EVENT_TYPES: dict[str, type[Event]] = {}


def _event(name: str) -> Any:
    """Make an Event subclass from annotated fields (defaults allowed, as in a dataclass)."""

    def wrap(cls: type[Event]) -> type[Event]:
        annotations = inspect.get_annotations(cls)
        own = list(annotations)
        defaults = {f: cls.__dict__[f] for f in own if f in cls.__dict__}
        fields = (*Event.fields, *own)
        params = ", ".join(f"{f}={f}_default" if f in defaults else f for f in fields)
        namespace = {f"{f}_default": v for f, v in defaults.items()} | {"_new": tuple.__new__}
        exec(f"def __new__(cls, {params}):\n    return _new(cls, ({', '.join(fields)},))",
             namespace)
        attrs = {"__slots__": (), "__new__": namespace["__new__"], "name": name,
                 "fields": fields, "__doc__": cls.__doc__, "__module__": cls.__module__,
                 "__annotations__": annotations}
        for i, f in enumerate(fields[len(Event.fields):], start=len(Event.fields)):
            attrs[f] = property(operator.itemgetter(i), doc=f)
        made = type(cls.__name__, (Event,), attrs)
        made.__qualname__ = cls.__qualname__
        EVENT_TYPES[name] = made
        return made

    return wrap


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
