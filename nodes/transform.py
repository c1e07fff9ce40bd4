"""Reshaping data: JSON text to values and back, text from templates, JMESPath queries."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.functions import Functions
from pydantic import Field

from engine import Node, NodeConfig, NodeContext, NodeError, Port, parse_json, template_text

if TYPE_CHECKING:
    from engine import Graph


class JsonParse(Node):
    type = "transform.json_parse"
    remote_capable = True  # pure: may run on a Dask worker
    inline = True  # run() never waits
    title = "Parse JSON"
    category = "Transform"
    icon = "json"
    description = "Parses JSON text into a value."
    inputs = (Port("json", "string"),)
    outputs = (Port("parsed", "any"),)

    async def run(self, ctx: NodeContext, json: str) -> dict[str, Any]:
        try:
            return {"parsed": _loads(json)}
        except ValueError as e:
            # masked before the cut, which could leave the start of a secret
            excerpt = ctx.redact(json, 80) + ("..." if len(json) > 80 else "")
            raise NodeError(f"input is not valid JSON ({e}); it starts {excerpt!r}",
                            retryable=False) from None


_loads = parse_json  # within the limits of every JSON FlowUI reads (no NaN, depth 64)


class JsonStringify(Node):
    type = "transform.json_stringify"
    remote_capable = True  # pure: may run on a Dask worker
    inline = True  # run() never waits
    title = "To JSON"
    category = "Transform"
    icon = "json"
    description = "Turns a value into JSON text."
    inputs = (Port("value", "any"),)
    outputs = (Port("json", "string"),)

    class Config(NodeConfig):
        indent: int | None = Field(None, ge=0, le=16, description="Spaces per level; none: compact")
        sort_keys: bool = Field(False, description="Sort object keys")

    async def run(self, ctx: NodeContext, value: Any) -> dict[str, Any]:
        try:
            text = json.dumps(value, indent=self.config.indent, sort_keys=self.config.sort_keys,
                              ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise NodeError(f"value cannot be written as JSON: {e}", retryable=False) from None
        return {"json": text}


class Template(Node):
    type = "transform.template"
    remote_capable = True  # pure: may run on a Dask worker
    summary_fields = ("template",)
    inline = True  # run() never waits
    title = "Template"
    category = "Transform"
    icon = "template"
    description = ("Renders a text template once, e.g. 'Hello {{ ports.value.name }}' "
                   "(`value` alone works too); statements such as "
                   "{% for x in value %}…{% endfor %} are allowed.")
    inputs = (Port("value", "any"),)
    outputs = (Port("text", "string"),)

    class Config(NodeConfig):
        template: str = template_text(description="Jinja template; `ports.value` (or `value`) "
                                                  "is the input, `inputs` the workflow's")

    async def run(self, ctx: NodeContext, value: Any) -> dict[str, Any]:
        return {"text": ctx.render(self.config.template, value=value)}


class Select(Node):
    type = "transform.select"
    remote_capable = True  # pure: may run on a Dask worker
    summary_fields = ("query",)
    inline = True  # run() never waits
    title = "Select"
    category = "Transform"
    icon = "select"
    description = ("Picks or reshapes part of a value with a JMESPath query, e.g. "
                   "'items[?price > `10`].name'; a path that does not exist gives null.")
    inputs = (Port("value", "any"),)
    outputs = (Port("result", "any"),)

    class Config(NodeConfig):
        query: str = Field(min_length=1, description="JMESPath query (jmespath.org)")

    @classmethod
    def check(cls, config: Mapping[str, Any], graph: Graph, *,
              top_level: bool) -> list[tuple[str, str]]:
        query = config.get("query")
        if not isinstance(query, str) or "{{" in query:
            return []  # the schema reports a wrong type; a template is checked once rendered
        try:
            parsed = jmespath.compile(query).parsed
        except JMESPathError as e:
            return [("query", f"not a valid JMESPath query: {_one_line(e)}")]
        unknown = sorted(_function_names(parsed) - _KNOWN_FUNCTIONS)
        if unknown:
            return [("query", f"unknown JMESPath function(s) {', '.join(unknown)}")]
        return []

    async def run(self, ctx: NodeContext, value: Any) -> dict[str, Any]:
        query = self.config.query
        try:
            return {"result": jmespath.search(query, value)}
        except JMESPathError as e:
            raise NodeError(f"JMESPath query {query!r} failed: {_one_line(e)}",
                            retryable=False) from None


_KNOWN_FUNCTIONS = frozenset(Functions.FUNCTION_TABLE)


def _function_names(tree: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if node.get("type") == "function_expression":
            names.add(node["value"])
        stack.extend(c for c in node.get("children", ()) if isinstance(c, dict))
    return names


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())
