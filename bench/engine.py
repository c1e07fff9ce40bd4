"""Engine benchmark: orchestration overhead of the real executor on no-op graphs.

    .venv/bin/python bench/engine.py            # everything (about a minute)
    .venv/bin/python bench/engine.py --quick    # fewer repetitions

For each 10,000-node shape (a chain; a fan-out of 9,998 joined by one sink; 100
layers of 100 with two random inputs each) it prints microseconds per node for
the real runner (validation + plan + execution, events on, one subscriber) and
for execution alone, each with its ratio to a bare asyncio dependency-counter
loop over the same graph measured in the same process (and to dask's synchronous
scheduler when dask is installed). Then the peak memory of a 100,000-node
layered run (in a fresh process) and runs per second of a 3-node workflow.
Machines are noisy: read the ratios, not the absolute times.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import EventBus, Node, NodeContext, Port, Registry, Runner
from engine.core.executor import GraphExecution
from engine.core.plan import compile_plan
from engine.core.run_context import RunContext
from engine.templates.engine import default_engine
from engine.workflow.file import from_data
from engine.workflow.model import Workflow


class Noop(Node):
    type = "bench.noop"
    inputs = (Port("in", "any", required=False, multiple=True),)
    outputs = (Port("out", "any"),)

    async def run(self, ctx: NodeContext, **inputs: Any) -> dict[str, Any]:
        return {"out": None}


REGISTRY = Registry([Noop], origin="bench")
TARGET_RATIO = 2.0


# --- graph shapes: predecessor lists, edges only from lower to higher index -------------


def chain(n: int) -> list[list[int]]:
    return [[] if i == 0 else [i - 1] for i in range(n)]


def fanout(n: int) -> list[list[int]]:
    preds: list[list[int]] = [[] for _ in range(n)]
    for i in range(1, n - 1):
        preds[i] = [0]
    preds[n - 1] = list(range(1, n - 1))
    return preds


def layered(n: int, width: int = 100, seed: int = 42) -> list[list[int]]:
    rnd = random.Random(seed)
    preds: list[list[int]] = [[] for _ in range(n)]
    for i in range(width, n):
        start = (i // width) * width
        preds[i] = sorted(rnd.sample(range(start - width, start), 2))
    return preds


SHAPES = {"chain": chain, "fanout": fanout, "layered": layered}


def as_workflow(preds: list[list[int]]) -> Workflow:
    return from_data({
        "format": "flowui-workflow", "version": 1,
        "settings": {"max_parallel": len(preds)},  # no cap, like the bare loop
        "nodes": [{"id": f"n{i}", "type": "bench.noop"} for i in range(len(preds))],
        "connections": [{"from": f"n{p}.out", "to": f"n{i}.in"}
                        for i, ps in enumerate(preds) for p in ps],
    })


# --- the baseline: a bare ready-set counter loop --------------------------------------------


async def bare_counter(preds: list[list[int]]) -> None:
    n = len(preds)
    succs: list[list[int]] = [[] for _ in range(n)]
    for i, ps in enumerate(preds):
        for p in ps:
            succs[p].append(i)
    remaining = [len(ps) for ps in preds]
    results: list[Any] = [None] * n
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    left = n
    tasks: set[asyncio.Task[None]] = set()

    async def noop(i: int, args: list[Any]) -> None:
        return None

    async def run(i: int) -> None:
        # As research/enginebench.py's reference counter loop: inputs gathered from the
        # predecessors' results, the result stored for the successors.
        nonlocal left
        results[i] = await noop(i, [results[p] for p in preds[i]])
        for s in succs[i]:
            remaining[s] -= 1
            if remaining[s] == 0:
                launch(s)
        left -= 1
        if left == 0:
            done.set_result(None)

    def launch(i: int) -> None:
        t = loop.create_task(run(i))
        tasks.add(t)
        t.add_done_callback(tasks.discard)

    for i in range(n):
        if not preds[i]:
            launch(i)
    await done


# --- measurements ------------------------------------------------------------------------------


def best_of(reps: int, fn: Any) -> float:
    times = []
    for _ in range(reps):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def run_full(wf: Workflow) -> None:
    count = [0]

    def subscriber(event: Any) -> None:
        count[0] += 1

    result = asyncio.run(Runner(REGISTRY).run(wf, subscribers=(subscriber,)))
    assert result.status == "completed", result.error
    assert count[0] == 2 * len(wf.nodes) + 2, count[0]


def run_execute_only(wf: Workflow) -> float:
    plan = compile_plan(wf, REGISTRY)
    # The compile step leaves ~10 objects per node to the cyclic GC; collect them
    # here so this column measures the executor alone (the run column pays for both).
    gc.collect()

    async def main() -> float:
        bus = EventBus()
        bus.subscribe(lambda e: None)
        ctx = RunContext("bench", bus, default_engine, REGISTRY)
        t0 = time.perf_counter()
        ex = GraphExecution(ctx, plan, {})
        await ex.execute()
        return time.perf_counter() - t0

    return asyncio.run(main())


def dask_time(preds: list[list[int]], reps: int) -> float | None:
    try:
        import dask
    except ImportError:
        return None

    def noop(*args: Any) -> None:
        return None

    graph = {f"n{i}": (noop, *[f"n{p}" for p in ps]) for i, ps in enumerate(preds)}
    keys = [f"n{len(preds) - 1}"]
    return best_of(reps, lambda: dask.get(graph, keys))


def shapes_report(n: int, reps: int) -> list[dict[str, Any]]:
    rows = []
    for name, make in SHAPES.items():
        preds = make(n)
        wf = as_workflow(preds)
        bare = best_of(reps, lambda p=preds: asyncio.run(bare_counter(p)))
        full = best_of(reps, lambda w=wf: run_full(w))
        execute = min(run_execute_only(wf) for _ in range(reps))
        compile_s = best_of(reps, lambda w=wf: compile_plan(w, REGISTRY))
        dask_s = dask_time(preds, max(1, reps // 2))
        rows.append({"shape": name, "nodes": n, "bare_us": bare / n * 1e6,
                     "run_us": full / n * 1e6, "execute_us": execute / n * 1e6,
                     "compile_us": compile_s / n * 1e6,
                     "dask_us": dask_s / n * 1e6 if dask_s else None})
    return rows


def peak_memory_mb(n: int) -> dict[str, float]:
    """Peak RSS of a fresh process that builds, validates and runs an n-node layered graph."""
    out = subprocess.run([sys.executable, __file__, "--memory-probe", str(n)],
                         capture_output=True, text=True, check=True, timeout=600).stdout
    return json.loads(out.strip().splitlines()[-1])


def memory_probe(n: int) -> None:
    start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    wf = as_workflow(layered(n))
    t0 = time.perf_counter()
    run_full(wf)
    print(json.dumps({"seconds": time.perf_counter() - t0,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "start_mb": start / 1024}))


def runs_per_second(count: int) -> tuple[float, float]:
    wf = from_data({
        "format": "flowui-workflow", "version": 1,
        "nodes": [{"id": "a", "type": "bench.noop"}, {"id": "b", "type": "bench.noop"},
                  {"id": "c", "type": "bench.noop"}],
        "connections": [{"from": "a.out", "to": "b.in"}, {"from": "b.out", "to": "c.in"}],
    })
    runner = Runner(REGISTRY)

    async def many() -> float:
        t0 = time.perf_counter()
        for _ in range(count):
            result = await runner.run(wf, subscribers=(lambda e: None,))
            assert result.status == "completed"
        return time.perf_counter() - t0

    async def bare_many() -> float:
        t0 = time.perf_counter()
        for _ in range(count):
            await bare_counter([[], [0], [1]])
        return time.perf_counter() - t0

    elapsed = asyncio.run(many())
    bare = asyncio.run(bare_many())
    return count / elapsed, count / bare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--memory-probe", type=int, metavar="N", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_probe:
        return memory_probe(args.memory_probe)
    reps = 3 if args.quick else 7
    print(f"Python {sys.version.split()[0]}; best of {reps}; no-op nodes, events on, "
          "one subscriber\n")
    rows = shapes_report(10_000, reps)
    print(f"{'shape':<9}{'bare µs/node':>14}{'run µs/node':>13}{'ratio':>7}"
          f"{'execute µs':>12}{'ratio':>7}{'compile µs':>12}{'dask µs':>10}")
    ok = True
    for r in rows:
        ratio_run = r["run_us"] / r["bare_us"]
        ratio_exec = r["execute_us"] / r["bare_us"]
        ok &= ratio_exec <= TARGET_RATIO
        dask = f"{r['dask_us']:>10.1f}" if r["dask_us"] else f"{'-':>10}"
        print(f"{r['shape']:<9}{r['bare_us']:>14.2f}{r['run_us']:>13.2f}{ratio_run:>7.2f}"
              f"{r['execute_us']:>12.2f}{ratio_exec:>7.2f}{r['compile_us']:>12.2f}{dask}")
        r["ratio_run"], r["ratio_execute"] = ratio_run, ratio_exec
    print(f"\ntarget: execution at most {TARGET_RATIO:g}x the bare loop: "
          f"{'met' if ok else 'NOT met'}")
    mem = peak_memory_mb(100_000)
    print(f"\n100,000-node layered run: {mem['seconds']:.2f} s, peak RSS {mem['peak_mb']:.0f} MB "
          f"(interpreter and imports alone: {mem['start_mb']:.0f} MB); target < 1024 MB: "
          f"{'met' if mem['peak_mb'] < 1024 else 'NOT met'}")
    rps, bare_rps = runs_per_second(1000)
    print(f"\n1,000 runs of a 3-node workflow (validate + plan + run, events on): "
          f"{rps:,.0f} runs/s; bare loop {bare_rps:,.0f} runs/s (ratio "
          f"{bare_rps / rps:.1f}); target 1,000+: {'met' if rps >= 1000 else 'NOT met'}")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"shapes": rows, "memory": mem, "runs_per_s": rps, "bare_runs_per_s": bare_rps,
             "median_ratio": statistics.median(r["ratio_execute"] for r in rows)}, indent=2))


if __name__ == "__main__":
    main()
