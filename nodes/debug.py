"""Looking inside a run: logging values as they pass, and summarising their shape."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field

from engine import Node, NodeConfig, NodeContext, Port, preview, template_text, type_name

SHAPE_DEPTH = 4
SHAPE_KEYS = 50
SHAPE_VARIANTS = 5  # distinct item shapes listed for an array


class Log(Node):
    type = "debug.log"
    cacheable = False  # its log line is its purpose
    remote_capable = True
    summary_fields = ("format",)
    inline = True  # run() never waits
    title = "Log"
    category = "Debug"
    icon = "log"
    description = "Logs a message (as a node_log event) and passes it on unchanged."
    inputs = (Port("message", "any"),)
    outputs = (Port("value", "any"),)

    class Config(NodeConfig):
        level: Literal["debug", "info", "warning", "error"] = "info"
        format: str | None = template_text(
            None, description="Template of the logged text, e.g. 'got {{ ports.message.id }}'; "
                              "default: the message itself (JSON unless it is text)")

    async def run(self, ctx: NodeContext, message: Any) -> dict[str, Any]:
        if self.config.format is not None:
            text = ctx.render(self.config.format)
        elif isinstance(message, str):
            text = message
        else:
            text = json.dumps(message, ensure_ascii=False, default=str)
        ctx.log(text, self.config.level)
        return {"value": message}


class Inspect(Node):
    type = "debug.inspect"
    cacheable = False  # its record of the value is its purpose
    remote_capable = True
    inline = True  # run() never waits
    title = "Inspect"
    category = "Debug"
    icon = "inspect"
    description = (
        "Passes its value on unchanged and describes it: the `summary` output (shown in "
        "the node_completed event, the editor and `--events jsonl`) holds {type, size, "
        "bytes, shape, preview}: size counts characters, items or keys; bytes is the size "
        "as JSON; shape maps keys to their types and lists the item shapes of arrays. "
        "It also logs a one-line summary.")
    inputs = (Port("value", "any"),)
    outputs = (Port("value", "any"),
               Port("summary", "object", description="{type, size, bytes, shape, preview}"))

    class Config(NodeConfig):
        log: bool = Field(True, description="Also log a one-line summary")

    async def run(self, ctx: NodeContext, value: Any) -> dict[str, Any]:
        summary = summarize(value, ctx.redactor)
        if self.config.log:
            ctx.info(describe(summary))
        return {"value": value, "summary": summary}


def shape(value: Any, depth: int = SHAPE_DEPTH) -> Any:
    """A type skeleton: {"id": "integer", "tags": ["string"]}; arrays list the distinct
    shapes of their items."""
    k = type_name(value)
    if k == "object":
        if depth <= 0:
            return "object"
        out = {}
        for n, (key, v) in enumerate(value.items()):
            if n == SHAPE_KEYS:
                out["…"] = f"{len(value) - SHAPE_KEYS} more keys"
                break
            out[str(key)] = shape(v, depth - 1)
        return out
    if k == "array":
        if depth <= 0:
            return "array"
        variants: dict[str, Any] = {}
        for item in value:
            s = shape(item, depth - 1)
            variants.setdefault(json.dumps(s, sort_keys=True), s)
            if len(variants) > SHAPE_VARIANTS:
                break
        items = list(variants.values())[:SHAPE_VARIANTS]
        return items + (["…"] if len(variants) > SHAPE_VARIANTS else [])
    return k


def summarize(value: Any, redactor: Any = None) -> dict[str, Any]:
    """`redactor`: the run's (ctx.redactor), so that the preview is masked before it
    is cut."""
    k = type_name(value)
    size = len(value) if k in ("string", "array", "object") else None
    try:
        size_bytes: int | None = len(json.dumps(value, ensure_ascii=False,
                                                default=str).encode("utf-8"))
    except (TypeError, ValueError):  # e.g. a circular value from a custom node
        size_bytes = None
    return {"type": k, "size": size, "bytes": size_bytes, "shape": shape(value),
            "preview": preview(value, depth=2, redactor=redactor)}


def describe(summary: dict[str, Any]) -> str:
    """'array of 3 items, 42 bytes as JSON'"""
    k, size = summary["type"], summary["size"]
    unit = {"string": "characters", "array": "items", "object": "keys"}.get(k)
    text = f"{k} of {size} {unit}" if unit else k
    if k == "object" and size:
        keys = list(summary["shape"])[:8]
        text += f" ({', '.join(keys)}{', …' if size > len(keys) else ''})"
    if summary["bytes"] is not None:
        text += f", {summary['bytes']} bytes as JSON"
    return text
