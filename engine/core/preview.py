"""Small, JSON-safe previews of values for events: large values are cut, never copied whole."""

from __future__ import annotations

from typing import Any

MAX_STR = 1000
MAX_ITEMS = 50
MAX_DEPTH = 4
_SCALARS = (int, float, bool, type(None))


def preview(value: Any, depth: int = MAX_DEPTH) -> Any:
    t = type(value)
    if t in _SCALARS:
        return value
    if t is str:
        if len(value) <= MAX_STR:
            return value
        return value[:MAX_STR] + f"… ({len(value) - MAX_STR} more characters)"
    if isinstance(value, dict):
        if depth <= 0:
            return f"<object with {len(value)} keys>"
        out = {}
        for n, (k, v) in enumerate(value.items()):
            if n == MAX_ITEMS:
                out["…"] = f"{len(value) - MAX_ITEMS} more keys"
                break
            out[str(k)] = preview(v, depth - 1)
        return out
    if isinstance(value, list | tuple):
        if depth <= 0:
            return f"<array of {len(value)} items>"
        items = [preview(v, depth - 1) for v in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            items.append(f"… {len(value) - MAX_ITEMS} more items")
        return items
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    text = repr(value)
    return text if len(text) <= MAX_STR else text[:MAX_STR] + "…"


def preview_outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    for v in outputs.values():
        if type(v) not in _SCALARS:
            return {k: preview(v) for k, v in outputs.items()}
    return outputs.copy()  # all scalars: nothing to cut
