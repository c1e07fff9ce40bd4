"""JSON from outside (files, `--input`, request bodies, typed fields) parsed within
explicit limits, so hostile or broken input gets a clear message instead of a
traceback, a hang or a process out of memory.

The limits (docs/limits.md lists them with the settings that change them):

- nesting depth: `MAX_DEPTH` objects/arrays inside each other. Python's C parser
  recurses once per level and would end in RecursionError near 1,000; pydantic
  and `json.dumps` fail earlier still on values several hundred levels deep;
- integers: `MAX_INT_DIGITS` digits (Python refuses ints of over 4,300 digits, and
  big-int arithmetic is quadratic);
- `NaN`, `Infinity`, `-Infinity`, and literals that overflow to an infinity
  (`1e999`): refused. They are not JSON (RFC 8259), and a value holding one cannot
  be saved or sent back as JSON afterwards;
- values: `MAX_VALUES` in one document, counted before anything is built;
- lone UTF-16 surrogates (`"\\ud800"`): refused; they cannot be encoded as UTF-8,
  so a run holding one fails only when its result is written.

`JsonLimitError` (a ValueError) carries the place: line and column for what the
parser sees, the path of the value (`nodes[3].config.body`) for what it built.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64
# Each value costs 30-100 bytes once built, and a run copies and writes them again: a
# 60 MB file of `{},` took 1.7 GB; 2,000,000 deep lists or digit strings still ~1 GB.
MAX_VALUES = 1_000_000
MAX_INT_DIGITS = 100
_BIG = 10 ** MAX_INT_DIGITS
_TOO_LONG = (f"an integer of more than {MAX_INT_DIGITS} digits is not accepted; write big "
             "values as strings")
_HUGE_INT = re.compile(r"-?\d{4300,}")

# A `\uD800`-`\uDFFF` escape; only when one occurs (or, see `_raw_surrogate`, such a
# character itself, as a command-line argument that was not UTF-8 arrives) is every
# string walked.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


class JsonLimitError(ValueError):
    """Input that is not acceptable JSON; the message names the place and the fix.
    `kind` says which rule: "syntax" (not JSON at all), "depth", "size" (too many
    values), "integer" (too many digits), "number" (NaN, infinite) or "text" (not
    Unicode); `reason` is the
    message without its place."""

    def __init__(self, message: str, kind: str, *, reason: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.reason = reason or message

    @property
    def syntax(self) -> bool:
        return self.kind == "syntax"


class _Refused(Exception):
    def __init__(self, message: str, token: str) -> None:
        super().__init__(message)
        self.token = token


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not allowed (it is not JSON); write a number or null", name)


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """`json.loads` within the limits above. Raises JsonLimitError (every message
    starts with the place: "line L, column C: ..." or "at PATH: ...")."""
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise JsonLimitError(f"byte {e.start}: not UTF-8 text", "syntax") from None
    _check_count(text)
    try:
        # No parse_int/parse_float hooks: a Python call per number doubled the parse
        # time of a workflow file. Numbers are checked on the built value instead.
        value = json.loads(text, parse_constant=_constant)
    except json.JSONDecodeError as e:
        raise _syntax_error(e) from None
    except _Refused as e:
        try:  # "Infinity and beyond" is not JSON at all: say that, not "Infinity"
            json.loads(text, parse_int=str, parse_float=str, parse_constant=str)
        except json.JSONDecodeError as syntax:
            raise _syntax_error(syntax) from None
        except RecursionError:
            pass
        raise JsonLimitError(f"{_place(text, text.find(e.token))}: {e}", "number",
                             reason=str(e)) from None
    except RecursionError:
        raise JsonLimitError(_too_deep_in_text(text, max_depth), "depth") from None
    except ValueError:  # an integer past Python's own limit of 4,300 digits
        found = _HUGE_INT.search(text)
        raise JsonLimitError(
            f"{_place(text, found.start() if found else -1)}: {_TOO_LONG}", "integer",
            reason=_TOO_LONG) from None
    if _SURROGATE_ESCAPE.search(text) or _raw_surrogate(text) or not _plain(value, max_depth):
        check(value, max_depth=max_depth)  # the slow walk that names the place
    return value


parse_json = loads  # the name node code imports from `engine`


def _raw_surrogate(text: str) -> bool:
    # A character class search costs 12 ms a 3.6 MB file; encoding it, 0.1 ms.
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check_count(text: str) -> None:
    """Refuse more than MAX_VALUES values before parsing: every value but one follows a
    comma or opens a container. Commas inside strings inflate the quick count; only a
    text that fails it is counted again without its strings."""
    quick = text.count(",") + text.count("[") + text.count("{")
    if quick <= MAX_VALUES:
        return
    bare = _STRING.sub('""', text)
    count = bare.count(",") + bare.count("[") + bare.count("{")
    if count > MAX_VALUES:
        raise JsonLimitError(f"it holds more than {MAX_VALUES:,} values ({count:,}), the "
                             "limit; split the data or pass it as a file to read", "size")


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


def _syntax_error(e: json.JSONDecodeError) -> JsonLimitError:
    return JsonLimitError(f"line {e.lineno}, column {e.colno}: invalid JSON: {e.msg}", "syntax",
                          reason=f"{e.msg} (line {e.lineno}, column {e.colno})")


def _plain(value: Any, max_depth: int) -> bool:
    """Whether no container nests deeper than `max_depth` and every number is within
    the limits: one pass per level, the cheap test every parsed value takes."""
    if type(value) is not dict and type(value) is not list:
        return _number_ok(value)
    level = [value]
    for _ in range(max_depth):
        if not level:
            return True
        below: list[Any] = []
        keep = below.append
        for item in level:
            for child in item.values() if type(item) is dict else item:
                kind = type(child)  # `type is`: 3x faster than isinstance here
                if kind is dict or kind is list:
                    keep(child)
                elif kind is int:
                    if not -_BIG < child < _BIG:
                        return False
                elif kind is float and child - child != 0.0:  # inf - inf and nan are nan
                    return False
        level = below
    return not level


def _number_ok(value: Any) -> bool:
    if type(value) is int:
        return -_BIG < value < _BIG
    return type(value) is not float or value - value == 0.0


def check(value: Any, *, max_depth: int = MAX_DEPTH, surrogates: bool = True,
          where: str = "") -> None:
    """Refuse a value built in Python that JSON could not carry: nested deeper than
    `max_depth`, a NaN or infinity, or (when `surrogates`) a string that is not valid
    Unicode. Walks iteratively; raises JsonLimitError naming the path."""
    # Only what can be wrong is visited: containers, floats and (when asked) strings;
    # a big workflow file is mostly short strings and ints.
    wanted = (dict, list, tuple, float, int, str) if surrogates else (dict, list, tuple, float,
                                                                       int)
    stack: list[tuple[Any, int, tuple[Any, ...]]] = [(value, 0, ())]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, dict | list | tuple):
            if depth >= max_depth:
                raise JsonLimitError(f"at {_path(where, path)}: nested deeper than the limit "
                                     f"of {max_depth} levels of objects and arrays", "depth")
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                if surrogates and isinstance(key, str):
                    _check_text(key, where, (*path, key))
                if isinstance(child, wanted):
                    stack.append((child, depth + 1, (*path, key)))
        elif isinstance(item, float):
            if item - item != 0.0:  # NaN, or an infinity (1e999 in a file becomes one)
                raise JsonLimitError(f"at {_path(where, path)}: {json.dumps(item)} is not "
                                     "allowed (it is not JSON; a literal such as 1e999 "
                                     "overflows to it); write a number or null", "number")
        elif isinstance(item, int) and not isinstance(item, bool):
            if not -_BIG < item < _BIG:
                raise JsonLimitError(f"at {_path(where, path)}: {_TOO_LONG}", "integer",
                                     reason=_TOO_LONG)
        elif surrogates and isinstance(item, str):
            _check_text(item, where, path)


def _check_text(text: str, where: str, path: tuple[Any, ...]) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise JsonLimitError(
            f"at {_path(where, path)}: character {e.start} is a lone UTF-16 surrogate "
            f"({text[e.start]!r}), which is not text; remove it or pair it", "text") from None


def _path(where: str, path: tuple[Any, ...]) -> str:
    out = where
    for key in path[:12]:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    if len(path) > 12:
        out += f"... ({len(path) - 12} more levels)"
    return out or "the top level"


def _place(text: str, offset: int) -> str:
    if offset < 0:
        return "the input"
    line = text.count("\n", 0, offset) + 1
    return f"line {line}, column {offset - (text.rfind(chr(10), 0, offset) + 1) + 1}"


def _too_deep_in_text(text: str, max_depth: int) -> str:
    """Where the text first nests past `max_depth` (only on the error path: it scans)."""
    depth = 0
    for m in _TOKEN.finditer(text):
        token = m.group()
        if token in "[{":
            depth += 1
            if depth > max_depth:
                return (f"{_place(text, m.start())}: nested deeper than the limit of "
                        f"{max_depth} levels of objects and arrays")
        elif token in "]}":
            depth -= 1
    return f"nested deeper than the limit of {max_depth} levels of objects and arrays"
