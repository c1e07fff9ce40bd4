"""Events and node outputs as the store keeps them, and back.

An event is written as the JSON array `[name, seq, timestamp, *fields]`: events are
tuples, which the json module's C encoder writes as arrays without a Python call
per event, so a batch of thousands costs one `dumps`. Node outputs are written the
same way (a `NodeOutputs` without its run id). A value over `max_value_bytes` as
JSON is stored as its preview, marked: `{"$cut": true, "size": bytes, "preview":
...}` (CUT_KEY), so a node that produced 200 MB does not make a 200 MB row.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from engine.core.events import EVENT_TYPES, Event
from engine.core.execution import NodeOutputs
from engine.core.preview import preview
from engine.support import json_out

MAX_VALUE_BYTES = 1_000_000  # default; RunStore(max_value_bytes=...) / docs/limits.md
CUT_KEY = "$cut"
_new = tuple.__new__


def events_json(events: Sequence[Event]) -> str:
    """One JSON array for a run's batch of events (already masked by the engine)."""
    return json_out.compact([(e.name, e[1:]) for e in events])


def outputs_json(records: Sequence[NodeOutputs], max_value_bytes: int) -> str:
    """One JSON array for a run's batch of node outputs, each value over the limit cut."""
    text = json_out.compact([r[1:] for r in records])
    if len(text) <= max_value_bytes:  # the usual case: no value can be over the limit
        return text
    return json_out.compact([_bounded(r, max_value_bytes)[1:] for r in records])


def _bounded(record: NodeOutputs, limit: int) -> NodeOutputs:
    text = json_out.compact(record[1:])
    if len(text) <= limit:
        return record
    return record._replace(outputs=_cut_values(record.outputs, limit) or {},
                           inputs=_cut_values(record.inputs, limit))


def _cut_values(values: dict[str, Any] | None, limit: int) -> dict[str, Any] | None:
    if values is None:
        return None
    out = {}
    for port, value in values.items():
        size = len(json_out.compact(value).encode("utf-8"))
        out[port] = value if size <= limit else cut_value(value, size)
    return out


def cut_value(value: Any, size: int) -> dict[str, Any]:
    return {CUT_KEY: True, "size": size, "preview": preview(value)}


def is_cut(value: Any) -> bool:
    return isinstance(value, dict) and value.get(CUT_KEY) is True


def decode_events(run_id: str, chunks: Iterable[str]) -> list[Event]:
    """The Event objects of a run from its stored chunks, in order. Names this version
    does not know are skipped (a newer writer's extra events)."""
    out: list[Event] = []
    for chunk in chunks:
        for name, fields in json.loads(chunk):
            cls = EVENT_TYPES.get(name)
            if cls is None:
                continue
            if len(fields) + 1 == len(cls.fields):
                out.append(_new(cls, (run_id, *fields)))
            elif cls.short >= 0 and len(fields) + 2 == len(cls.fields):
                out.append(_new(cls, (run_id, *fields, None)))  # stored before `worker`
    return out


def decode_outputs(run_id: str, chunks: Iterable[str]) -> list[NodeOutputs]:
    out: list[NodeOutputs] = []
    for chunk in chunks:
        for fields in json.loads(chunk):
            out.append(NodeOutputs(run_id, *fields))
    return out
