"""The run store's fast JSON (`json_out.compact`, orjson) writes the same values as
the general path (`json_out.dumps`), including every value orjson itself refuses."""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
from collections import namedtuple
from typing import Any

import pytest

from engine.support import json_out

Pair = namedtuple("Pair", "a b")


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Thing:
    def __str__(self) -> str:
        return "a thing"


VALUES: list[Any] = [
    {"a": 1, "b": [1.5, "two", None, True]},
    {"nan": math.nan, "inf": math.inf, "-inf": -math.inf},  # JSON.stringify's null
    "lone \ud800 surrogate",  # orjson refuses: repaired as U+FFFD
    {"\udfff key": 1},
    {1: "int key", None: "none key", 2.5: "float key"},  # orjson refuses non-str keys
    {(1, 2): "tuple key"},
    2**70,  # past 64 bits: orjson refuses
    10**5000,  # past Python's own digit limit for str(int)
    Pair(1, [2]),  # a named tuple is an array, as json writes it
    ("plain", "tuple"),
    datetime.datetime(2026, 12, 4, 11, 0, 0),  # its str, as json's default=str
    datetime.date(2026, 12, 4),
    Point(1, 2),  # a dataclass is its str too
    Thing(),
    {"deep": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["x"]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]},
    "é ü 中文 😀",  # written as UTF-8, not escaped
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_compact_writes_what_dumps_writes(value: Any) -> None:
    fast = json_out.compact(value)
    assert json.loads(fast) == json.loads(json_out.dumps(value))
    fast.encode("utf-8")  # always valid UTF-8


def test_compact_has_no_spaces_and_keeps_unicode() -> None:
    assert json_out.compact({"a": [1, "é"]}) == '{"a":[1,"é"]}'


def test_compact_cuts_nesting_deeper_than_orjson_allows() -> None:
    value: Any = "leaf"
    for _ in range(400):  # orjson stops at 254 levels, json_out cuts at MAX_DEPTH
        value = [value]
    text = json_out.compact(value)
    assert f"nested deeper than {json_out.MAX_DEPTH} levels" in text
