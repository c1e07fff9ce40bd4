"""Looking inside a run: logging values as they pass."""

from __future__ import annotations

import json
from typing import Any, Literal

from engine.context import NodeContext
from engine.sdk import Node, NodeConfig, Port, template_text


class Log(Node):
    type = "debug.log"
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


NODES = [Log]
