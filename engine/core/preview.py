"""Small, JSON-safe previews of values for events: large values are cut, never copied whole."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.secrets.redactor import Redactor

MAX_STR = 1000
MAX_ITEMS = 50
MAX_DEPTH = 4
_SCALARS = (int, float, bool, type(None))


def preview(value: Any, depth: int = MAX_DEPTH, redactor: Redactor | None = None) -> Any:
    """`redactor`: the run's, so that text is masked before it is cut. Masking after
    would leave the start of a secret that crosses the cut; the rest of the preview is
    masked by whoever emits it."""
    t = type(value)
    if t in _SCALARS:
        return value
    if t is str:
        if len(value) <= MAX_STR:
            return value
        return _cut(value, redactor) + f"… ({len(value) - MAX_STR} more characters)"
    if isinstance(value, dict):
        if depth <= 0:
            return f"<object with {len(value)} keys>"
        out = {}
        for n, (k, v) in enumerate(value.items()):
            if n == MAX_ITEMS:
                out["…"] = f"{len(value) - MAX_ITEMS} more keys"
                break
            out[str(k)] = preview(v, depth - 1, redactor)
        return out
    if isinstance(value, list | tuple):
        if depth <= 0:
            return f"<array of {len(value)} items>"
        items = [preview(v, depth - 1, redactor) for v in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            items.append(f"… {len(value) - MAX_ITEMS} more items")
        return items
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    text = repr(value)
    return text if len(text) <= MAX_STR else _cut(text, redactor) + "…"


def _cut(text: str, redactor: Redactor | None) -> str:
    return redactor.cut(text, MAX_STR) if redactor else text[:MAX_STR]


def preview_outputs(outputs: dict[str, Any], redactor: Redactor | None = None) -> dict[str, Any]:
    for v in outputs.values():
        if type(v) not in _SCALARS:
            return {k: preview(v, MAX_DEPTH, redactor) for k, v in outputs.items()}
    return outputs.copy()  # all scalars: nothing to cut
