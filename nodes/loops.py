"""Loops: control.for_each runs a subgraph once per item, control.loop runs one again
while a condition holds. The engine runs the bodies (NodeContext.run_body)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from engine import (
    BodyError,
    BodySpec,
    Graph,
    Node,
    NodeConfig,
    NodeContext,
    NodeError,
    Port,
    PortContext,
    RemoteBody,
    expression,
)
from nodes.subworkflow import body_problems, enter_body


class ForEach(Node):
    type = "control.for_each"
    summary_fields = ("body",)
    title = "For each"
    category = "Control"
    icon = "for_each"
    description = ("Runs a subgraph once per item (its flow.input nodes `item` and `index` "
                   "receive them), up to max_parallel at once; `results` lists each run's "
                   "`result` output, in the order of the items.")
    inputs = (Port("items", "array"),)
    outputs = (Port("results", "array"),)
    body = BodySpec("body", inputs=("item", "index"), outputs=("result",))

    class Config(NodeConfig):
        body: str = Field(description="The subgraph run for each item")
        max_parallel: int = Field(1, ge=1, le=1000, description="Items run at once")
        fail_fast: bool = Field(True, description="Stop at the first failing item; otherwise "
                                                  "a failed item gives null and a warning")

    @classmethod
    def check(cls, config: Mapping[str, Any], graph: Graph, *, top_level: bool,
              context: PortContext | None = None) -> list[tuple[str, str]]:
        return body_problems("body", config.get("body"), graph, context,
                             needs_output="result")

    async def run(self, ctx: NodeContext, items: list[Any]) -> dict[str, Any]:
        enter_body(ctx)
        plan = ctx.body_plan(self.config.body)
        total = len(items)
        results: list[Any] = [None] * total
        if not total:
            return {"results": results}
        remote = ctx.remote_body(plan)  # a cluster's executor runs all-remote bodies there
        if remote is not None:
            return {"results": await self._run_remote(ctx, remote, items, results)}
        unstarted = iter(range(total))  # shared by the workers: each index is taken once
        fail_fast = self.config.fail_fast
        finished = 0
        first_failure: BodyError | None = None

        async def worker() -> None:
            nonlocal finished, first_failure
            for i in unstarted:
                item = items[i]
                try:
                    out = await ctx.run_body(plan, {"item": item, "index": i},
                                             loop={"item": item, "index": i}, index=i)
                    results[i] = out.get("result")
                except BodyError as e:
                    if fail_fast:
                        first_failure = first_failure or e
                        raise
                    ctx.warning(f"item {i} failed ({e.type} at {e.node}): {e}; "
                                "its result is null")
                finished += 1
                ctx.progress(finished / total, f"{finished} of {total} items")

        workers = [asyncio.ensure_future(worker())
                   for _ in range(min(self.config.max_parallel, total))]
        try:
            await asyncio.wait(workers, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            # After the first failure, or when this node is cancelled: the items still
            # running are cancelled (their inner nodes report node_cancelled).
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
        if first_failure is not None:
            raise first_failure
        for w in workers:  # anything but a body failure is a fault worth seeing as it is
            error = None if w.cancelled() else w.exception()
            if error is not None:
                raise error
        return {"results": results}

    async def _run_remote(self, ctx: NodeContext, remote: RemoteBody, items: list[Any],
                          results: list[Any]) -> list[Any]:
        """The items on the executor's workers (engine.distributed): the same results,
        warnings and progress as the local path; closing the map cancels what runs."""
        total, finished = len(items), 0
        fail_fast = self.config.fail_fast
        async with contextlib.aclosing(remote.map(items, max_parallel=self.config.max_parallel,
                                                  fail_fast=fail_fast)) as outcomes:
            async for i, out in outcomes:
                if isinstance(out, BodyError):
                    if fail_fast:
                        raise out
                    ctx.warning(f"item {i} failed ({out.type} at {out.node}): {out}; "
                                "its result is null")
                else:
                    results[i] = out.get("result")
                finished += 1
                ctx.progress(finished / total, f"{finished} of {total} items")
        return results


class Loop(Node):
    type = "control.loop"
    summary_fields = ("condition",)
    title = "Loop"
    category = "Control"
    icon = "loop"
    description = ("Runs a subgraph with inputs `state` (first `initial`, then what the last "
                   "run returned as `state`) and `iteration`, again while the condition "
                   "holds; stops with an error after max_iterations runs.")
    inputs = (Port("initial", "any", required=False),)
    outputs = (Port("final", "any"), Port("iterations", "integer"))
    body = BodySpec("body", inputs=("state", "iteration"), outputs=("state",))

    class Config(NodeConfig):
        body: str = Field(description="The subgraph run each iteration")
        condition: str = expression(description="Run again while true; `state` is the state "
                                                "the body just returned, `iteration` its index")
        max_iterations: int | None = Field(
            None, ge=1, description="Runs allowed; default: the workflow's "
                                    "settings.max_iterations")

    @classmethod
    def check(cls, config: Mapping[str, Any], graph: Graph, *, top_level: bool,
              context: PortContext | None = None) -> list[tuple[str, str]]:
        return body_problems("body", config.get("body"), graph, context,
                             needs_output="state")

    async def run(self, ctx: NodeContext, initial: Any = None) -> dict[str, Any]:
        enter_body(ctx)
        body, condition = self.config.body, self.config.condition
        plan = ctx.body_plan(body)
        limit = self.config.max_iterations or ctx.settings.max_iterations
        state = initial
        for iteration in range(limit):
            out = await ctx.run_body(plan, {"state": state, "iteration": iteration},
                                     loop={"state": state, "iteration": iteration},
                                     iteration=iteration)
            if "state" not in out:
                raise NodeError(f"iteration {iteration}: subgraph {body!r} returned no "
                                "'state' (its flow.output 'state' was skipped); each run "
                                "must return the next state", retryable=False)
            state = out["state"]
            ctx.progress(None, f"{iteration + 1} iteration{'s' if iteration else ''} done")
            if not ctx.evaluate(condition, state=state, iteration=iteration):
                return {"final": state, "iterations": iteration + 1}
        raise NodeError(f"the loop ran {limit} times (max_iterations) and its condition "
                        f"`{condition}` is still true; raise max_iterations or change the "
                        "condition so that it ends", retryable=False)
