"""A small toy node registry for engine tests: sources, arithmetic, flaky and slow nodes."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import Field

from engine import Node, NodeConfig, NodeContext, NodeError, Port, Registry, function_node
from engine.workflow.file import from_data
from engine.workflow.model import Workflow


class Source(Node):
    type = "toy.source"
    outputs = (Port("value", "any"),)

    class Config(NodeConfig):
        value: Any = None

    async def run(self, ctx: NodeContext) -> dict[str, Any]:
        return {"value": self.config.value}


class Add(Node):
    type = "toy.add"
    inputs = (Port("a", "number"), Port("b", "number", required=False))
    outputs = (Port("sum", "number"),)

    class Config(NodeConfig):
        b: float = 0

    async def run(self, ctx: NodeContext, a: float, b: float = 0) -> dict[str, Any]:
        return {"sum": a + b}


class Text(Node):
    type = "toy.text"
    inputs = (Port("text", "string"),)
    outputs = (Port("text", "string"), Port("length", "integer"))

    async def run(self, ctx: NodeContext, text: str) -> dict[str, Any]:
        return {"text": text, "length": len(text)}


# Attempts per node id across a test, for flaky nodes; tests reset it.
ATTEMPTS: dict[str, int] = {}


class Flaky(Node):
    type = "toy.flaky"
    inputs = (Port("value", "any", required=False),)
    outputs = (Port("value", "any"),)

    class Config(NodeConfig):
        fail_times: int = 1_000_000
        retryable: bool | None = None
        message: str = "boom"
        retry_after_s: float | None = None

    async def run(self, ctx: NodeContext, value: Any = None) -> dict[str, Any]:
        n = ATTEMPTS[ctx.node_id] = ATTEMPTS.get(ctx.node_id, 0) + 1
        if n <= self.config.fail_times:
            raise NodeError(self.config.message, retryable=self.config.retryable,
                            retry_after_s=self.config.retry_after_s)
        return {"value": value}


class Sleep(Node):
    type = "toy.sleep"
    inputs = (Port("value", "any", required=False),)
    outputs = (Port("value", "any"),)

    class Config(NodeConfig):
        seconds: float = Field(0.05, ge=0)

    async def run(self, ctx: NodeContext, value: Any = None) -> dict[str, Any]:
        await asyncio.sleep(self.config.seconds)
        return {"value": value}


class Crash(Node):
    type = "toy.crash"
    inputs = (Port("value", "any", required=False),)
    outputs = (Port("value", "any"),)

    async def run(self, ctx: NodeContext, value: Any = None) -> dict[str, Any]:
        raise ValueError("unclassified failure")


class Gather(Node):
    type = "toy.gather"
    inputs = (Port("items", "any", multiple=True),)
    outputs = (Port("items", "array"),)

    async def run(self, ctx: NodeContext, items: list[Any]) -> dict[str, Any]:
        return {"items": items}


class Branch(Node):
    """Emits only the output named by `take` (skips the other)."""

    type = "toy.branch"
    inputs = (Port("value", "any", required=False),)
    outputs = (Port("a", "any"), Port("b", "any"))

    class Config(NodeConfig):
        take: str = "a"

    async def run(self, ctx: NodeContext, value: Any = None) -> dict[str, Any]:
        return {self.config.take: value}


@function_node("toy.multiply", title="Multiply")
def multiply(x: float, factor: float = 2.0) -> float:
    """Multiplies in a worker thread."""
    return x * factor


TOY_TYPES = [Source, Add, Text, Flaky, Sleep, Crash, Gather, Branch, multiply]


def toy_registry() -> Registry:
    return Registry(TOY_TYPES, origin="tests")


def workflow(nodes: list[dict[str, Any]], connections: list[tuple[str, str]] = (),
             **extra: Any) -> Workflow:
    """A Workflow from compact test data: connections as ("a.out", "b.in") pairs."""
    data = {"format": "flowui-workflow", "version": 1, "nodes": nodes,
            "connections": [{"from": a, "to": b} for a, b in connections], **extra}
    return from_data(data)
