"""Points in time on the command line: an age (`90s`, `15m`, `2h`, `30d`, `2w`) or an
ISO 8601 date or time (`2026-12-01`, `2026-12-01T09:30`, UTC unless it says)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
HELP = "an age such as 30m, 2h, 30d or 2w, or an ISO date such as 2026-12-01"


def age_seconds(text: str) -> float | None:
    """`2h` -> 7200.0; None when `text` is not an age."""
    m = _AGE.match(text)
    return float(m.group(1)) * _UNIT_S[m.group(2).lower()] if m else None


def point_in_time(text: str, now: float | None = None) -> float:
    """Seconds since the epoch for an age (that long before `now`) or an ISO date;
    ValueError naming what is accepted."""
    seconds = age_seconds(text)
    if seconds is not None:
        return (time.time() if now is None else now) - seconds
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not {HELP}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()
