"""Compiling in steps (engine.core.plan.compile_steps, Runner.prepare_async): the same
plan and the same problems as compiling at once, with the event loop running between
steps, so an editor or a server never freezes on a large workflow."""

from __future__ import annotations

import asyncio
import gc
import time

import pytest

from engine import Runner, WorkflowInvalidError
from engine.core.plan import compile_steps, compile_workflow
from tests.engine.toy import toy_registry, workflow


def _layered(n: int, *, broken: int | None = None) -> object:
    nodes = [{"id": f"n{i}", "type": "toy.add" if i else "toy.source",
              "config": {"b": 1} if i else {"value": 1}} for i in range(n)]
    wires = [(f"n{i - 1}.{'sum' if i > 1 else 'value'}", f"n{i}.a") for i in range(1, n)]
    if broken is not None:
        nodes[broken]["type"] = "toy.nope"
    return workflow(nodes, wires)


def _shape(plan) -> list[tuple]:
    return [(n.id, n.in_edges, n.deliveries, n.is_sink) for n in plan.nodes]


def test_steps_build_the_same_plan_as_one_pass_and_yield_between():
    wf, registry = _layered(3000), toy_registry()
    steps = compile_steps(wf, registry, slice_s=0.0)  # yield at every chance
    yielded = 0
    while True:
        try:
            next(steps)
            yielded += 1
        except StopIteration as done:
            plan = done.value
            break
    assert yielded >= 3000 // 512
    whole = compile_workflow(wf, registry)
    assert _shape(plan) == _shape(whole)
    assert plan.roots == whole.roots == (0,)


def test_steps_report_every_problem_as_one_pass_does():
    wf, registry = _layered(1500, broken=700), toy_registry()
    with pytest.raises(WorkflowInvalidError) as whole:
        compile_workflow(wf, registry)
    with pytest.raises(WorkflowInvalidError) as stepped:
        for _ in compile_steps(wf, registry, slice_s=0.0):
            pass
    assert [str(p) for p in stepped.value.problems] == [str(p) for p in whole.value.problems]
    assert any("toy.nope" in str(p) for p in whole.value.problems)


def test_prepare_async_lets_the_loop_run_and_the_plan_runs():
    runner = Runner(toy_registry())
    wf = _layered(4000)

    async def main() -> tuple[int, float, object]:
        ticks = 0
        longest = 0.0
        stop = False

        async def probe() -> None:
            nonlocal ticks, longest
            last = time.perf_counter()
            while not stop:
                await asyncio.sleep(0)
                now = time.perf_counter()
                longest = max(longest, now - last)
                last = now
                ticks += 1

        # What a process does once (importing the template engine) is not a step's.
        await runner.prepare_async(_layered(2))
        task = asyncio.create_task(probe())
        await asyncio.sleep(0)
        prepared = await runner.prepare_async(wf, slice_s=0.002)
        stop = True
        await task
        result = await runner.run(prepared)
        return ticks, longest, result

    # Measured without the cyclic collector: a full collection of the test process's
    # heap (every test module imported) takes ~0.2 s wherever it falls, and is not a
    # step's doing (the editor holds full collections off during a run).
    gc.disable()
    try:
        ticks, longest, result = asyncio.run(main())
    finally:
        gc.enable()
    assert ticks >= 5  # the loop ran between steps
    assert longest < 0.1  # no step held it for long (0.002 s asked; a loaded CI machine)
    assert result.status == "completed"
