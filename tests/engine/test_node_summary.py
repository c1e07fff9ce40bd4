"""A node's summary: the line the editor shows under its title, from the config
fields its type names (`Node.summary_fields`)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from engine import Node, NodeConfig
from engine.core.registry import Registry
from engine.core.sdk import SUMMARY_LIMIT


class Fetch(Node):
    type = "test.fetch"
    summary_fields = ("method", "url", "timeout_s", "extra")

    class Config(NodeConfig):
        method: str = "GET"
        url: str = ""
        timeout_s: float | None = None
        extra: Any = None


def test_the_fields_values_in_order_with_defaults_and_units():
    assert Fetch.summary({"url": "https://example.com/a"}) == "GET https://example.com/a"
    assert Fetch.summary({"method": "POST", "url": "u", "timeout_s": 2.5}) == "POST u 2.5 s"
    assert Fetch.summary({"extra": {"k": [1, "two"]}}) == 'GET {"k": [1, "two"]}'
    assert Fetch.summary({"url": "a\n  b\tc"}) == "GET a b c"  # one line


def test_a_long_summary_is_cut_and_a_type_without_fields_has_none():
    long = Fetch.summary({"url": "x" * 500})
    assert len(long) == SUMMARY_LIMIT and long.endswith("…")

    class Plain(Node):
        type = "test.plain"

        class Config(NodeConfig):
            value: int = Field(1)

    assert Plain.summary({"value": 3}) == ""


def test_the_built_in_types_say_what_they_do():
    registry = Registry.discover(plugins=False)
    cases = {
        ("http.request", '{"url": "https://h/x"}'): "GET https://h/x",
        ("control.if", '{"condition": "value > 3"}'): "value > 3",
        ("flow.constant", '{"value": [1, 2]}'): "[1, 2]",
        ("time.delay", "{}"): "1 s",
        ("http.webhook", '{"path": "/hook"}'): "POST /hook",
        ("transform.select", '{"query": "items[0]"}'): "items[0]",
    }
    import json

    for (type_id, config), expected in cases.items():
        assert registry.get(type_id).summary(json.loads(config)) == expected, type_id
