"""Control flow: choosing a branch and joining branches again."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from engine import Node, NodeConfig, NodeContext, Port, expression


class If(Node):
    type = "control.if"
    remote_capable = True
    summary_fields = ("condition",)
    inline = True  # run() never waits
    title = "If"
    category = "Control"
    icon = "branch"
    description = ("Sends its value out of 'true' or 'false' by a condition such as "
                   "`value.status == 200`; the other branch is skipped.")
    inputs = (Port("value", "any", required=False),)
    outputs = (Port("true", "any"), Port("false", "any"))

    class Config(NodeConfig):
        condition: str = expression(description="Expression; `value` is the input value")

    async def run(self, ctx: NodeContext, value: Any = None) -> dict[str, Any]:
        if ctx.evaluate(self.config.condition, value=value):
            return {"true": value}
        return {"false": value}


class Merge(Node):
    type = "control.merge"
    remote_capable = True
    summary_fields = ("mode",)
    inline = True  # run() never waits
    title = "Merge"
    category = "Control"
    icon = "merge"
    description = ("Joins branches once they have all settled: the first value that was not "
                   "skipped, or the list of them all.")
    inputs = (Port("values", "any", multiple=True),)
    outputs = (Port("value", "any"),)

    class Config(NodeConfig):
        mode: Literal["first", "all"] = Field(
            "first", description="first: the first value not skipped, in wiring order; "
                                 "all: the list of values not skipped")

    async def run(self, ctx: NodeContext, values: list[Any]) -> dict[str, Any]:
        return {"value": values[0] if self.config.mode == "first" else list(values)}
