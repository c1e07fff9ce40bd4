"""Triggers: nodes that start runs in serve mode (`http.webhook`, `time.interval`), and
`http.respond`, which answers the webhook request that started the run.

In serve mode each request or tick starts one run whose trigger payload names the node
that fired (`"node"`); the other triggers of the workflow skip their outputs. In a plain
`flowcli run` every trigger fires once, from `--trigger-payload` or with defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field

from engine import Graph, Node, NodeConfig, NodeContext, Port

TOP_LEVEL_ONLY = ("a trigger starts runs only at the top level of a workflow; "
                  "move it out of the subgraph")


def _overlap(method: str, other: str) -> bool:
    return method == other or "ANY" in (method, other)


def _fired_elsewhere(ctx: NodeContext) -> bool:
    """True when serve mode started this run from another trigger node."""
    trigger = ctx.trigger
    return trigger is not None and trigger.get("node") not in (None, ctx.node_id)


class Webhook(Node):
    type = "http.webhook"
    summary_fields = ("method", "path")
    inline = True  # run() never waits
    title = "Webhook"
    category = "Triggers"
    icon = "webhook"
    description = ("Starts a run for each HTTP request (`flowcli serve`). body is the parsed "
                   "JSON when the request's Content-Type is JSON, else the text.")
    outputs = (Port("body", "any"), Port("headers", "object", description="lower-case names"),
               Port("query", "object"), Port("method", "string"))
    trigger_kind = "http"  # serve mode routes requests to it (engine/server/serve_mode.py)

    class Config(NodeConfig):
        path: str = Field("/", pattern=r"^/", description="URL path, e.g. /hooks/github")
        method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "ANY"] = Field(
            "POST", description="HTTP method answered; ANY answers every method")
        host: str = Field("127.0.0.1", min_length=1,
                          description="Address to listen on; 0.0.0.0 exposes it to the network")
        port: int = Field(8080, ge=0, le=65535, description="TCP port (0: any free port)")

    @classmethod
    def check(cls, config: Mapping[str, Any], graph: Graph, *,
              top_level: bool) -> list[tuple[str, str]]:
        if not top_level:
            return [("", TOP_LEVEL_ONLY)]
        path, method = config.get("path", "/"), str(config.get("method", "POST")).upper()
        clashes = sum(
            1 for spec in graph.nodes
            if spec.type in (cls.type, *cls.legacy_types) and not spec.disabled
            and spec.config.get("path", "/") == path
            and _overlap(method, str(spec.config.get("method", "POST")).upper()))
        if clashes > 1:  # this node is one of them
            return [("path", f"{clashes} webhooks answer {method} {path}; give each its own "
                             "path or method")]
        return []

    async def run(self, ctx: NodeContext) -> dict[str, Any]:
        if _fired_elsewhere(ctx):
            return {}
        trigger = ctx.trigger or {}
        default_method = "POST" if self.config.method == "ANY" else self.config.method
        return {"body": trigger.get("body", ""), "headers": dict(trigger.get("headers") or {}),
                "query": dict(trigger.get("query") or {}),
                "method": str(trigger.get("method") or default_method)}


class Respond(Node):
    type = "http.respond"
    cacheable = False  # answers the request that started this run
    summary_fields = ("status",)
    inline = True  # run() never waits
    title = "Respond"
    category = "Triggers"
    icon = "respond"
    description = ("Answers the webhook request that started the run: text as text, anything "
                   "else as JSON. The answer is sent when the run completes.")
    inputs = (Port("body", "any", required=False),)

    class Config(NodeConfig):
        status: int = Field(200, ge=100, le=599, description="HTTP status code")
        headers: dict[str, str] = Field(default_factory=dict,
                                        description="Response headers, e.g. Content-Type")

    async def run(self, ctx: NodeContext, body: Any = None) -> dict[str, Any]:
        ctx.respond(self.config.status, self.config.headers, body)
        return {}


class Interval(Node):
    type = "time.interval"
    summary_fields = ("every_s",)
    inline = True  # run() never waits
    title = "Interval"
    category = "Triggers"
    icon = "interval"
    description = ("Starts a run every every_s seconds in serve mode, the first at once; tick "
                   "counts from 0, time is the tick's UTC time.")
    outputs = (Port("tick", "integer"), Port("time", "string"))
    trigger_kind = "interval"

    class Config(NodeConfig):
        every_s: float = Field(60.0, gt=0, le=31_536_000, description="Seconds between ticks")
        count: int | None = Field(None, ge=1, description="Ticks in all; empty: until stopped")

    @classmethod
    def check(cls, config: Mapping[str, Any], graph: Graph, *,
              top_level: bool) -> list[tuple[str, str]]:
        return [] if top_level else [("", TOP_LEVEL_ONLY)]

    async def run(self, ctx: NodeContext) -> dict[str, Any]:
        if _fired_elsewhere(ctx):
            return {}
        trigger = ctx.trigger or {}
        when = trigger.get("time") or datetime.now(UTC).isoformat(timespec="milliseconds")
        return {"tick": int(trigger.get("tick", 0)), "time": str(when).replace("+00:00", "Z")}
