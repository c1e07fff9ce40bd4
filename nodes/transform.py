"""Reshaping data: JSON text to values and back."""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field

from engine.context import NodeContext
from engine.errors import NodeError
from engine.sdk import Node, NodeConfig, Port


class JsonParse(Node):
    type = "transform.json_parse"
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
            excerpt = json[:80] + ("..." if len(json) > 80 else "")
            raise NodeError(f"input is not valid JSON ({e}); it starts {excerpt!r}",
                            retryable=False) from None


_loads = json.loads


class JsonStringify(Node):
    type = "transform.json_stringify"
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


NODES = [JsonParse, JsonStringify]
