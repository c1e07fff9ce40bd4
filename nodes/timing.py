"""Time: waiting."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from engine import Node, NodeConfig, NodeContext, Port


class Delay(Node):
    type = "time.delay"
    cacheable = False  # a delay is the point of the node: never skipped
    remote_capable = True
    summary_fields = ("seconds",)
    title = "Delay"
    category = "Time"
    icon = "delay"
    description = "Waits, then passes its value on unchanged."
    inputs = (Port("value", "any", required=False),)
    outputs = (Port("value", "any"),)

    class Config(NodeConfig):
        seconds: float = Field(1.0, ge=0, le=86400, description="How long to wait")

    async def run(self, ctx: NodeContext, value: Any = None) -> dict[str, Any]:
        await ctx.sleep(self.config.seconds)
        return {"value": value}
