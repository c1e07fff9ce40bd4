"""Groups (backdrops) and sticky notes: what a graph's `ui.groups` and `ui.notes` hold,
read leniently from a file, and edited as new `ui` dicts (no Qt: the editor's commands
swap a graph's whole `ui`, so undo restores it exactly, entries it could not read too).

An entry is `{"id", "title" | "text", "color": "#rrggbb", "rect": [x, y, w, h]}`. An
entry that cannot be read is skipped with a message and kept in the file untouched.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["groups", "notes"]
KINDS: tuple[Kind, ...] = ("groups", "notes")
Rect = tuple[float, float, float, float]  # x, y, width, height

# Hues that read on the dark canvas as a tint (a group) or a card (a note); stored in
# the file as hex so other tools need no table.
PALETTE: dict[str, str] = {
    "Blue": "#388bfd", "Green": "#3fb950", "Yellow": "#d29922", "Orange": "#db6d28",
    "Red": "#f85149", "Purple": "#a371f7", "Pink": "#db61a2", "Grey": "#8b949e",
}
DEFAULT_COLOR: dict[Kind, str] = {"groups": PALETTE["Blue"], "notes": PALETTE["Yellow"]}
MIN_SIZE: dict[Kind, tuple[float, float]] = {"groups": (160.0, 80.0), "notes": (120.0, 60.0)}
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True, slots=True)
class Decor:
    """One group or note as the canvas shows it; `text` is a group's title or a
    note's Markdown source."""

    kind: Kind
    id: str
    text: str
    color: str
    rect: Rect


def entry(item: Decor) -> dict[str, Any]:
    """The file's entry for an item: fixed key order, whole-number rects (as positions)."""
    field = "title" if item.kind == "groups" else "text"
    return {"id": item.id, field: item.text, "color": item.color,
            "rect": [round(v) for v in item.rect]}


def read(ui: Any) -> tuple[list[Decor], list[str]]:
    """The items a graph's `ui` holds, and a message for each entry skipped."""
    if ui is None:
        return [], []
    if not isinstance(ui, dict):
        return [], ["'ui' is not an object: its groups and notes are not shown"]
    items: list[Decor] = []
    problems: list[str] = []
    seen: set[str] = set()
    for kind in KINDS:
        raw = ui.get(kind, [])
        if not isinstance(raw, list):
            problems.append(f"ui.{kind} is not a list: none of them is shown")
            continue
        for i, data in enumerate(raw):
            item, problem = _read_entry(kind, data)
            if item is not None and item.id in seen:
                problem = f"id {item.id!r} is used twice"
                item = None
            if item is None:
                problems.append(f"ui.{kind}[{i}] skipped: {problem}")
                continue
            seen.add(item.id)
            items.append(item)
    return items, problems


def _read_entry(kind: Kind, data: Any) -> tuple[Decor | None, str]:
    if not isinstance(data, dict):
        return None, "not an object"
    ident = data.get("id")
    if not isinstance(ident, str) or not ident:
        return None, "no 'id' (a text)"
    field = "title" if kind == "groups" else "text"
    text = data.get(field, "")
    if not isinstance(text, str):
        return None, f"{field!r} is not text"
    rect = data.get("rect")
    if not (isinstance(rect, list) and len(rect) == 4 and all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            for v in rect)):
        return None, "'rect' must be four numbers [x, y, width, height]"
    x, y, w, h = (float(v) for v in rect)
    if w <= 0 or h <= 0:
        return None, "'rect' has no area (width and height must be positive)"
    color = data.get("color")
    if not (isinstance(color, str) and _HEX.match(color)):
        color = DEFAULT_COLOR[kind]  # a colour is decoration: never a reason to hide one
    return Decor(kind, ident, text, color, (x, y, w, h)), ""


# --- edits: each returns a new `ui` dict, sharing the entries it leaves alone -------------


def _base(ui: Any) -> dict[str, Any]:
    return dict(ui) if isinstance(ui, dict) else {}


def _entries(ui: dict[str, Any], kind: Kind) -> list[Any]:
    raw = ui.get(kind)
    return list(raw) if isinstance(raw, list) else []


def unique_id(ui: Any, kind: Kind) -> str:
    """`group1`, `note3`...: an id no group or note of the graph has."""
    base = _base(ui)
    used = {e.get("id") for k in KINDS for e in _entries(base, k) if isinstance(e, dict)}
    stem = kind[:-1]
    n = 1
    while f"{stem}{n}" in used:
        n += 1
    return f"{stem}{n}"


def added(ui: Any, item: Decor) -> dict[str, Any]:
    out = _base(ui)
    out[item.kind] = [*_entries(out, item.kind), entry(item)]
    return out


def removed(ui: Any, kind: Kind, ids: set[str]) -> dict[str, Any]:
    out = _base(ui)
    out[kind] = [e for e in _entries(out, kind)
                 if not (isinstance(e, dict) and e.get("id") in ids)]
    return out


def replaced(ui: Any, items: list[Decor]) -> dict[str, Any]:
    """`ui` with the entries of `items` (found by kind and id) rewritten in place; keys
    of theirs this program does not know are kept."""
    out = _base(ui)
    by_key = {(i.kind, i.id): i for i in items}
    for kind in KINDS:
        if not any(k == kind for k, _ in by_key):
            continue
        rows = _entries(out, kind)
        for n, e in enumerate(rows):
            item = by_key.get((kind, str(e.get("id")))) if isinstance(e, dict) else None
            if item is not None:
                rows[n] = {**e, **entry(item)}
        out[kind] = rows
    return out


def fitted(rects: list[Rect], margin: float, title_h: float) -> Rect:
    """A group's rect around `rects`: `margin` on each side, room for the title on top."""
    left = min(r[0] for r in rects) - margin
    top = min(r[1] for r in rects) - margin - title_h
    right = max(r[0] + r[2] for r in rects) + margin
    bottom = max(r[1] + r[3] for r in rects) + margin
    return (round(left), round(top), round(right - left), round(bottom - top))


def inside(inner: Rect, outer: Rect) -> bool:
    return (inner[0] >= outer[0] and inner[1] >= outer[1]
            and inner[0] + inner[2] <= outer[0] + outer[2]
            and inner[1] + inner[3] <= outer[1] + outer[3])
