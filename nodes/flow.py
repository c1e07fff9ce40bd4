"""Workflow plumbing: constants, the workflow's inputs and its named results."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from engine import BODY_INPUT_TYPE, BODY_OUTPUT_TYPE, Graph, Node, NodeConfig, NodeContext, Port


class Constant(Node):
    type = "flow.constant"
    remote_capable = True
    summary_fields = ("value",)
    inline = True  # run() never waits
    title = "Constant"
    category = "Flow"
    icon = "constant"
    description = "A fixed value (any JSON; templates allowed, e.g. {{ inputs.name }})."
    outputs = (Port("value", "any"),)

    class Config(NodeConfig):
        value: Any = Field(None, description="Any JSON value; strings may be templates")

    async def run(self, ctx: NodeContext) -> dict[str, Any]:
        return {"value": self.config.value}


class NameConfig(NodeConfig):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_-]*$",
                      description="Name of the workflow input / result")


class Input(Node):
    type = BODY_INPUT_TYPE
    reads_run_inputs = True
    remote_capable = True
    summary_fields = ("name",)
    inline = True  # run() never waits
    title = "Workflow input"
    category = "Flow"
    icon = "input"
    description = ("Outputs the workflow input of this name (inside a body: the value the "
                   "calling node passes in).")
    outputs = (Port("value", "any"),)
    Config = NameConfig

    @classmethod
    def check(cls, config: Mapping[str, Any], graph: Graph, *,
              top_level: bool) -> list[tuple[str, str]]:
        name = config.get("name")
        if top_level and isinstance(name, str) and name not in graph.inputs:
            declared = ", ".join(graph.inputs) or "none"
            return [("name", f"there is no workflow input {name!r} (declared: {declared}); "
                             "add it to the workflow's inputs")]
        return []

    async def run(self, ctx: NodeContext) -> dict[str, Any]:
        return {"value": ctx.inputs.get(self.config.name)}


class Output(Node):
    type = BODY_OUTPUT_TYPE
    cacheable = False  # sets the run's result as it runs
    remote_capable = True
    summary_fields = ("name",)
    inline = True  # run() never waits
    title = "Workflow output"
    category = "Flow"
    icon = "output"
    description = "Makes its value a named result of the workflow (or of a body)."
    inputs = (Port("value", "any"),)
    Config = NameConfig
    collects_result = True

    async def run(self, ctx: NodeContext, value: Any) -> dict[str, Any]:
        ctx.set_result(self.config.name, value)
        return {}
