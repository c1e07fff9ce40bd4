"""Run events (FORMAT.md section 3): typed, frozen, past tense, numbered per run.

The CLI printer, the run store and the editor all read these same objects.
`timestamp` is seconds since the epoch; `to_dict()` renders it as ISO 8601 UTC
(`ts`), the JSON shape of the contract. Events from inside a subgraph body name
their node by path (`loop1/inc`) and carry `iteration` or `index`. Node events of
work done on a Dask worker (engine.distributed) carry its address as `worker`.
"""

from __future__ import annotations

import operator
from datetime import UTC, datetime
from typing import Any, ClassVar, dataclass_transform

EVENT_TYPES: dict[str, type[Event]] = {}  # by name, as in to_dict()


def iso_utc(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


class _EventType(type):
    """Makes each event class a tuple record: the run-wide fields (run_id, seq,
    timestamp) first, then the fields its annotations declare, with defaults from its
    body; a property per field, no instance dict. Its constructor takes its own fields
    (in order or by name) and the run-wide ones by keyword: RunContext.emit fills those."""

    def __new__(mcs, name: str, bases: tuple[type, ...], ns: dict[str, Any],
                **kwargs: Any) -> _EventType:
        header: tuple[str, ...] = ()
        for base in bases:
            header = getattr(base, "fields", header)
        own = [f for f, hint in ns.get("__annotations__", {}).items()
               if not str(hint).startswith("ClassVar")]
        defaults = {f: ns.pop(f) for f in own if f in ns}
        fields = (*header, *own)
        ns["__slots__"] = ()
        ns["fields"] = fields
        ns["width"] = len(own)
        # Types ending in the optional `worker` may be given every field but that one:
        # the local executor never names a worker, and pays nothing for the field.
        ns["short"] = len(own) - 1 if own and own[-1] == "worker" else -1
        if header:  # an event type; the base only names the run-wide fields
            params = ", ".join(f"{f}=__d_{f}" if f in defaults else f for f in own)
            run_wide = ", ".join(f"{f}=None" for f in header)
            scope = {f"__d_{f}": v for f, v in defaults.items()} | {"_new": tuple.__new__}
            exec(f"def __new__(cls, {params}{', ' if own else ''}*, {run_wide}):\n"
                 f"    return _new(cls, ({', '.join(fields)},))", scope)
            ns["__new__"] = scope["__new__"]
        offset = len(header)
        for i, f in enumerate(own, start=offset):
            ns[f] = property(operator.itemgetter(i), doc=f)
        cls = super().__new__(mcs, name, bases, ns, **kwargs)
        if header and "name" in ns:
            EVENT_TYPES[ns["name"]] = cls  # type: ignore[assignment]
        return cls


@dataclass_transform(frozen_default=True)
class Event(tuple, metaclass=_EventType):  # type: ignore[type-arg]
    """Base of all events: an immutable record with named fields.

    A tuple underneath, because a run of 10,000 nodes makes 20,000 of them while the
    engine's whole per-node budget is a few microseconds: a tuple record is built in
    a third of the time of a frozen dataclass, and is just as immutable. Type checkers
    see each event class as a frozen dataclass of its own fields, so
    `RunContext.emit(NodeStarted, node_id=..., ...)` is checked field by field."""

    name: ClassVar[str] = "event"
    fields: ClassVar[tuple[str, ...]]  # run_id, seq, timestamp, then the type's own
    width: ClassVar[int]  # how many own fields
    short: ClassVar[int]  # width without a trailing `worker`, or -1
    # field names whose value None is left out of to_dict(): optional context.
    _optional: ClassVar[frozenset[str]] = frozenset({"iteration", "index", "worker"})

    run_id: str
    seq: int
    timestamp: float

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


class RunStarted(Event):
    name: ClassVar[str] = "run_started"

    workflow: str
    inputs: dict[str, Any]


class RunRetrying(Event):
    name: ClassVar[str] = "run_retrying"

    attempt: int  # the attempt about to start (2, 3, ...)
    error: dict[str, Any]


class NodeStarted(Event):
    name: ClassVar[str] = "node_started"

    node_id: str
    node_type: str
    attempt: int
    iteration: int | None = None
    index: int | None = None  # type: ignore[assignment]  # shadows tuple.index on purpose
    worker: str | None = None  # the Dask worker that did it (remote executors only)


class NodeLogged(Event):
    name: ClassVar[str] = "node_log"

    node_id: str
    level: str
    message: str
    iteration: int | None = None
    index: int | None = None  # type: ignore[assignment]  # shadows tuple.index on purpose
    worker: str | None = None  # the Dask worker that did it (remote executors only)


class NodeProgressed(Event):
    name: ClassVar[str] = "node_progress"

    node_id: str
    fraction: float | None
    message: str
    iteration: int | None = None
    index: int | None = None  # type: ignore[assignment]  # shadows tuple.index on purpose
    worker: str | None = None  # the Dask worker that did it (remote executors only)


class NodeRetrying(Event):
    name: ClassVar[str] = "node_retrying"

    node_id: str
    attempt: int  # the attempt about to start after the wait (2, 3, ...)
    delay_s: float
    error: dict[str, Any]
    iteration: int | None = None
    index: int | None = None  # type: ignore[assignment]  # shadows tuple.index on purpose
    worker: str | None = None  # the Dask worker that did it (remote executors only)


class NodeCompleted(Event):
    name: ClassVar[str] = "node_completed"

    node_id: str
    node_type: str
    duration_ms: float
    outputs: dict[str, Any]  # a preview: large values are cut
    cached: bool
    iteration: int | None = None
    index: int | None = None  # type: ignore[assignment]  # shadows tuple.index on purpose
    worker: str | None = None  # the Dask worker that did it (remote executors only)


class NodeFailed(Event):
    name: ClassVar[str] = "node_failed"

    node_id: str
    node_type: str
    attempt: int
    error: dict[str, Any]  # {type, message}
    routed: bool  # sent to the node's connected `error` port
    iteration: int | None = None
    index: int | None = None  # type: ignore[assignment]  # shadows tuple.index on purpose
    worker: str | None = None  # the Dask worker that did it (remote executors only)


class NodeSkipped(Event):
    name: ClassVar[str] = "node_skipped"

    node_id: str
    reason: str  # disabled | branch_not_taken | upstream_skipped | upstream_failed | cancelled
    iteration: int | None = None
    index: int | None = None  # type: ignore[assignment]  # shadows tuple.index on purpose


class NodeCancelled(Event):
    name: ClassVar[str] = "node_cancelled"

    node_id: str
    iteration: int | None = None
    index: int | None = None  # type: ignore[assignment]  # shadows tuple.index on purpose


class RunCompleted(Event):
    name: ClassVar[str] = "run_completed"

    status: str  # completed | failed | cancelled
    duration_ms: float
    outputs: dict[str, Any]
    error: dict[str, Any] | None
    failed_node: str | None
    node_errors: list[dict[str, Any]]
