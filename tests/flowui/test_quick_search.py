"""Quick search and the palette rank what was typed by where each word matches: a title
word first, then the title, the type id, the category, and only then the description
(issue 11, fix 5: "json parse" listed HTTP request first)."""

from __future__ import annotations

import pytest

from engine import Registry
from flowui.palette import matches, rank

REGISTRY = Registry.discover(plugins=False)


def first(query: str) -> str:
    found = [c for c in REGISTRY if matches(c, query)]
    return min(found, key=lambda c: rank(c, query)).type


@pytest.mark.parametrize("query,expected", [
    ("json parse", "transform.json_parse"), ("parse json", "transform.json_parse"),
    ("Parse", "transform.json_parse"), ("to json", "transform.json_stringify"),
    ("read file", "file.read"), ("file write", "file.write"), ("log", "debug.log"),
    ("if", "control.if"), ("request", "http.request"), ("for each", "control.for_each"),
    ("sub workflow", "flow.subworkflow"), ("debug", "debug.inspect"),
])
def test_the_type_whose_title_holds_the_words_comes_first(query, expected):
    assert first(query) == expected


def test_a_description_mention_ranks_below_every_title_match():
    # http.request's description mentions JSON and parsing; the title match wins.
    found = sorted((c for c in REGISTRY if matches(c, "json parse")),
                   key=lambda c: rank(c, "json parse"))
    assert [c.type for c in found].index("transform.json_parse") == 0
    assert rank(found[0], "json parse") < rank(REGISTRY.get("http.request"), "json parse")
