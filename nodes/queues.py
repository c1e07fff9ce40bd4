"""Queues between production loops: `queue.push` puts a value on a named queue and
`queue.trigger` starts one run per item in serve mode (`flowcli serve`, flowserver).

The queue is the run store's (SQLite) unless the server was started with
`--queue redis://HOST:PORT` (engine/server/queues). An item is acknowledged only
when the run it started completes; a failed run's item is taken again, up to
`max_deliveries`, then dead-lettered (kept in the queue's dead letters, never lost).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from engine import (
    FlowError,
    Graph,
    Node,
    NodeConfig,
    NodeContext,
    NodeError,
    Port,
    current_queue,
    in_thread,
)

_NAME = r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$"
TOP_LEVEL_ONLY = ("a trigger starts runs only at the top level of a workflow; "
                  "move it out of the subgraph")


class Push(Node):
    type = "queue.push"
    cacheable = False  # putting an item is the point: a cached run would put nothing
    summary_fields = ("queue",)
    title = "Push to queue"
    category = "Queues"
    icon = "queue"
    description = ("Puts value on the named queue (at most 1 MB as JSON); a queue.trigger "
                   "in a served workflow starts one run per item. id is the item's id.")
    inputs = (Port("value", "any"),)
    outputs = (Port("id", "string"), Port("value", "any"))

    class Config(NodeConfig):
        queue: str = Field(..., min_length=1, max_length=200, pattern=_NAME,
                           description="Queue name, e.g. orders")

    async def run(self, ctx: NodeContext, value: Any = None) -> dict[str, Any]:
        redactor = ctx.redactor
        if redactor and redactor.scrub(value) != value:
            # An item is kept as it is (in the run store or Redis) and handed to another
            # run whole; masking it would hand that run "***": refuse, say which way out.
            raise NodeError("the value holds the value of a secret; queue items are stored "
                            "as they are, and a secret never is: push a value without it "
                            "(the consuming workflow can read the secret itself)",
                            retryable=False)
        try:
            item_id = await in_thread(lambda: current_queue().put(self.config.queue, value))
        except FlowError as e:  # QueueError; StoreError when the store stays locked
            raise NodeError(str(e), retryable=False) from None
        return {"id": item_id, "value": value}


class Trigger(Node):
    type = "queue.trigger"
    summary_fields = ("queue",)
    inline = True  # run() never waits
    title = "Queue trigger"
    category = "Triggers"
    icon = "queue"
    description = ("Starts a run for each item taken from the named queue (`flowcli serve`, "
                   "flowserver). The item is acknowledged when the run completes; a failed "
                   "run's item is taken again, up to max_deliveries, then dead-lettered.")
    outputs = (Port("value", "any"), Port("id", "string"),
               Port("delivery", "integer", description="1 on the first delivery"))
    trigger_kind = "queue"  # serve mode consumes it (engine/server/queues/consumer.py)

    class Config(NodeConfig):
        queue: str = Field(..., min_length=1, max_length=200, pattern=_NAME,
                           description="Queue name, e.g. orders")
        visibility_s: float = Field(
            60.0, ge=0.5, le=86400, description="Seconds an item taken stays invisible to "
            "other consumers; renewed while its run goes on, so it matters only when a "
            "server dies mid-run: the item is taken again this long after")
        max_deliveries: int = Field(5, ge=1, le=1000, description="Deliveries before a "
                                    "failing item is dead-lettered")

    @classmethod
    def check(cls, config: Mapping[str, Any], graph: Graph, *,
              top_level: bool) -> list[tuple[str, str]]:
        return [] if top_level else [("", TOP_LEVEL_ONLY)]

    async def run(self, ctx: NodeContext) -> dict[str, Any]:
        trigger = ctx.trigger
        if trigger is not None and trigger.get("node") not in (None, ctx.node_id):
            return {}  # another trigger started this run
        trigger = trigger or {}
        return {"value": trigger.get("value"), "id": str(trigger.get("item", "")),
                "delivery": int(trigger.get("delivery", 1))}
