"""Run values written as JSON any reader can parse, whatever a node produced.

A run may hold values JSON cannot carry: NaN and infinities (`{{ 1e308 * 10 }}`), strings
with lone UTF-16 surrogates, dict keys that are tuples, objects, values nested past
Python's recursion limit. `json.dumps` writes the first as `NaN` (not JSON), refuses the
next ones with an exception, and the surrogates fail only when the text is encoded.
`dumps` writes them the way JavaScript's `JSON.stringify` does where it has a rule
(NaN and infinities become null) and as readable text otherwise (a lone surrogate
becomes U+FFFD, a tuple key its `str`), so the result object, the events and the dead
letters are always valid UTF-8 JSON.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

MAX_DEPTH = 200  # deeper values are cut with a marker rather than end in RecursionError


def dumps(value: Any, *, indent: int | None = None) -> str:
    """`json.dumps(value, ensure_ascii=False, default=str)`, made valid JSON and UTF-8."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, default=str,
                          indent=indent)
        text.encode("utf-8")
        return text
    except (ValueError, TypeError, RecursionError):  # the rare case: walk and repair
        return json.dumps(jsonable(value), ensure_ascii=False, allow_nan=False, indent=indent)


_FAST = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def compact(value: Any) -> str:
    """`dumps(value)` without spaces, written by orjson (5-10x the json module's speed):
    what the run store writes thousands of times a run. Values orjson refuses (lone
    surrogates, keys that are not strings, integers past 64 bits, nesting past 254)
    take `dumps`'s repairing path; others are written as `dumps` writes them (a
    datetime or dataclass as its `str`, a named tuple as an array)."""
    try:
        return orjson.dumps(value, default=_plain, option=_FAST).decode("utf-8")
    except TypeError:  # orjson.JSONEncodeError is one
        return json.dumps(jsonable(value), ensure_ascii=False, allow_nan=False,
                          separators=(",", ":"))


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else str(value)


def jsonable(value: Any, depth: int = 0) -> Any:
    """`value` as plain JSON data: NaN and infinities as None, text valid Unicode, keys
    strings, anything else its `str`."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):  # Python will not write an int of over 4,300 digits
        bits = value.bit_length()
        if bits < 14_000:
            return value
        return f"<an integer of about {bits * 30103 // 100000:,} digits>"
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return _text(value)
    if depth >= MAX_DEPTH:
        return f"<nested deeper than {MAX_DEPTH} levels>"
    if isinstance(value, dict):
        return {_key(k): jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v, depth + 1) for v in value]
    return _text(str(value))


def _text(text: str) -> str:
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:  # pairs stay pairs; a lone surrogate becomes U+FFFD
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _key(key: Any) -> str:
    if isinstance(key, str):
        return _text(key)
    if key is None or isinstance(key, bool | int | float):
        return json.dumps(jsonable(key))  # as json.dumps would write the key
    return _text(str(key))
