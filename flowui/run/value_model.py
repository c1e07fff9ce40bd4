"""The pure-Python side of the Run tab's value tree: kinds and one-line summaries of
values, template paths (`body.items[3].name`), hex previews, JSON text for copying, and
the bounded search walk over the data. No Qt here."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from engine.workflow.porttypes import type_name

PAGE = 200  # children built at a time under a big array or object
MAX_AT_ONCE = 10_000  # rows one click builds (~15 µs each: a click never freezes)
STRING_CUT = 300  # characters of a long string shown in its row
REPR_CUT = 200  # characters of an unknown object's repr
BYTES_PREVIEW = 64  # bytes shown in a bytes value's hex rows
MAX_MATCHES = 1000
SEARCH_BUDGET = 200_000  # values visited before a search gives up (and says so)
SEARCH_DEPTH = 500  # levels a search goes down (a value holding itself has no bottom)
DUMP_LIMIT = 1_000_000  # bytes of a bytes value shown in its full hex dump

Position = tuple[int, ...]  # a row's place in the data: child positions from the root


def kind(value: Any) -> str:
    """The name shown in the type column (JSON's names where they fit)."""
    if isinstance(value, Mapping):  # any mapping, where the engine names dicts only
        return "object"
    if isinstance(value, bytes | bytearray):
        return "bytes"
    return type_name(value)


def is_container(value: Any) -> bool:
    return isinstance(value, Mapping | list | tuple)


def child_keys(value: Any) -> Sequence[Any]:
    """What each child position stands for: dict keys, or list indices."""
    if isinstance(value, Mapping):
        return list(value)
    return range(len(value))


def scalar_text(value: Any) -> str:
    """A scalar in JSON form, whole (strings raw); searched, and shown once cut."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        try:
            return int.__repr__(value)
        except ValueError:  # over Python's digit limit for int -> str
            return f"<{value.bit_length()}-bit integer>"
    if isinstance(value, float):
        if math.isfinite(value):
            return float.__repr__(value)
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, bytes | bytearray):
        return f"bytes ({len(value):,} B)"
    try:
        text = repr(value)
    except Exception:  # a broken __repr__ must not break the view
        text = f"<{type(value).__name__}>"
    return text if len(text) <= REPR_CUT else text[:REPR_CUT] + "…"


def summary(value: Any) -> str:
    """The value column's text: containers by their size, strings quoted and cut."""
    if isinstance(value, Mapping):
        n = len(value)
        return "{}" if n == 0 else f"{{{n:,} key{'s' if n != 1 else ''}}}"
    if isinstance(value, list | tuple):
        n = len(value)
        return "[]" if n == 0 else f"[{n:,} item{'s' if n != 1 else ''}]"
    if isinstance(value, str):
        if len(value) <= STRING_CUT:
            return json.dumps(value, ensure_ascii=False)
        return json.dumps(value[:STRING_CUT], ensure_ascii=False) + f" … ({len(value):,} chars)"
    return scalar_text(value)


def hex_rows(data: bytes | bytearray, limit: int = BYTES_PREVIEW) -> list[tuple[str, str]]:
    """(offset, "hex  ascii") rows of 16 bytes for the first `limit` bytes; then, when
    there is more, a row saying how much ("… 24 B more", "")."""
    rows = []
    for start in range(0, min(len(data), limit), 16):
        chunk = bytes(data[start:start + 16])
        ascii_text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        rows.append((f"{start:04x}", f"{chunk.hex(' '):<47}  {ascii_text}"))
    if len(data) > limit:
        rows.append((f"… {len(data) - limit:,} B more", ""))
    return rows


def hex_dump(data: bytes | bytearray, limit: int = DUMP_LIMIT) -> str:
    return "\n".join(f"{offset}  {text}".rstrip() for offset, text in hex_rows(data, limit))


def key_step(key: Any, first: bool) -> str:
    """One step of a template path: `.name`, `[3]` or `["odd key"]`."""
    if isinstance(key, str):
        if key.isidentifier():
            return key if first else "." + key
        return "[" + json.dumps(key, ensure_ascii=False) + "]"
    if isinstance(key, int | float) or key is None:  # a literal templates read as is
        return f"[{key!r}]"
    return "[" + json.dumps(str(key), ensure_ascii=False) + "]"


def path_text(keys: Sequence[Any]) -> str:
    """The template path of the value reached by `keys` ('' for the root)."""
    return "".join(key_step(key, i == 0) for i, key in enumerate(keys))


def key_label(key: Any, indexed: bool) -> str:
    """The key column's text: `[3]` for a list's item, a dict's key as it is."""
    return f"[{key}]" if indexed else key if isinstance(key, str) else repr(key)


def count_text(current: int, found: SearchResult) -> str:
    """The search's count: "3 of 17 matches", "1 of 1,000+ matches", "No match"."""
    count, more = len(found.matches), found.more
    if not count:
        words = "No match"
    else:
        noun = "match" if count == 1 and not more else "matches"
        words = f"{current + 1:,} of {count:,}{'+' if more else ''} {noun}"
    return words + (" (partial)" if found.partial else "")


def gap_label(start: int, stop: int, everything: bool) -> str:
    """The text of a row standing for children [start, stop) not shown yet."""
    left = stop - start
    if everything:
        return f"… show all {left:,}" if left <= MAX_AT_ONCE else \
            f"… show {MAX_AT_ONCE:,} more ({left:,} left)"
    return f"… show {PAGE} more ({left:,} left)" if left > PAGE else f"… show {left:,} more"


def _plain(value: Any, depth: int = 0, seen: frozenset[int] = frozenset()) -> Any:
    # json.dumps refuses keys that are not scalars and cycles; the copy then uses this.
    if id(value) in seen or depth > SEARCH_DEPTH:
        return f"<{'cycle' if id(value) in seen else 'too deep'}: {type(value).__name__}>"
    if isinstance(value, Mapping):
        inner = seen | {id(value)}
        return {k if isinstance(k, str | int | float | bool) or k is None else repr(k):
                _plain(v, depth + 1, inner) for k, v in value.items()}
    if isinstance(value, list | tuple):
        inner = seen | {id(value)}
        return [_plain(v, depth + 1, inner) for v in value]
    return value


def json_text(value: Any) -> str:
    """What "Copy value" puts on the clipboard: a string's raw text, else pretty JSON."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, indent=2, ensure_ascii=False, default=repr)
    except (TypeError, ValueError, RecursionError):
        try:
            return json.dumps(_plain(value), indent=2, ensure_ascii=False, default=repr)
        except (TypeError, ValueError, RecursionError):
            return scalar_text(value)


def full_text(value: Any) -> str:
    """The text of "Show full value": nothing cut."""
    if isinstance(value, bytes | bytearray):
        return hex_dump(value)
    if is_container(value) or isinstance(value, str):
        return json_text(value)
    if value is None or isinstance(value, int | float):
        return scalar_text(value)
    try:
        return repr(value)
    except Exception:  # a broken __repr__ must not break the view
        return scalar_text(value)


class SearchResult(NamedTuple):
    matches: list[Position]  # in display order, at most MAX_MATCHES
    more: bool  # over MAX_MATCHES were found
    partial: bool  # the walk stopped at SEARCH_BUDGET values (or SEARCH_DEPTH levels)


NOT_FOUND = SearchResult([], False, False)
PARTIAL_NOTE = (f"The search stopped early (after {SEARCH_BUDGET:,} values or {SEARCH_DEPTH} "
                "levels down): the rest was not searched")


def _entries(value: Any) -> Iterator[tuple[int, Any, Any]]:
    """(position, key or None, child) of a container, in display order."""
    if isinstance(value, Mapping):
        for i, (k, v) in enumerate(value.items()):
            yield i, k, v
    else:
        for i, v in enumerate(value):
            yield i, None, v


def search(value: Any, needle: str, *, max_matches: int = MAX_MATCHES,
           budget: int = SEARCH_BUDGET) -> SearchResult:
    """Rows whose key or scalar value holds `needle` (any case), depth first in the
    tree's order; a container matches only by its key."""
    needle = needle.lower()
    matches: list[Position] = []
    if not is_container(value):
        hit = needle in scalar_text(value).lower()
        return SearchResult([()] if hit else [], False, False)
    stack: list[tuple[Iterator[tuple[int, Any, Any]], Position]] = [(_entries(value), ())]
    visited, partial = 0, False
    while stack:
        entries, where = stack[-1]
        step = next(entries, None)
        if step is None:
            stack.pop()
            continue
        visited += 1
        if visited > budget:
            return SearchResult(matches, False, True)
        i, key, child = step
        pos = (*where, i)
        container = is_container(child)
        if ((key is not None and needle in (key if isinstance(key, str) else str(key)).lower())
                or (not container and needle in scalar_text(child).lower())):
            if len(matches) == max_matches:
                return SearchResult(matches, True, False)
            matches.append(pos)
        if container and len(pos) < SEARCH_DEPTH:
            stack.append((_entries(child), pos))
        elif container:
            partial = True
    return SearchResult(matches, False, partial)
