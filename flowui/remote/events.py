"""FORMAT.md section 3 event objects (JSON, as the server sends them) back into the
engine's Event records, so a remote run feeds the same live view as a local one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.core.events import EVENT_TYPES, Event


def event_from_json(data: Any) -> Event | None:
    """The Event record of one event object; None for a name this version does not
    know (a newer server's extra events) or a malformed object."""
    if not isinstance(data, dict):
        return None
    cls = EVENT_TYPES.get(str(data.get("event")))
    if cls is None:
        return None
    try:
        ts = datetime.fromisoformat(str(data["ts"]).replace("Z", "+00:00")).timestamp()
        own = tuple(data.get(f) for f in cls.fields[3:])  # optional ones are left out
        return tuple.__new__(cls, (str(data["run_id"]), int(data["seq"]), ts, *own))
    except (KeyError, ValueError, TypeError):
        return None
