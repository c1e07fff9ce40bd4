"""Engine benchmark: what the engine costs over a bare asyncio loop, measured in one run.

    .venv/bin/python bench/engine.py            # everything (a few minutes)
    .venv/bin/python bench/engine.py --quick    # fewer repetitions

1. For each 10,000-node shape (a chain; a fan-out of 9,998 joined by one sink; 100
   layers of 100 with two random inputs each), microseconds per node of: a bare
   asyncio dependency-counter loop over the same graph (the baseline); a whole run
   from the file's text (load + validate + plan + execute, events on, one
   subscriber); execution alone, of no-op nodes that never wait and say so
   (`inline`, as the built-in transforms do) and of the same nodes as plain async
   nodes with a task each; compiling alone (validate + plan). Ratios: whole run /
   bare (target at most 3), execution / bare (at most 2), compile / execute (at most
   1). Dask's synchronous scheduler too when it is installed.
2. Peak memory of a 100,000-node layered run, in a fresh process.
3. Re-runs of an unchanged 3-node workflow in one process: prepared once (compiled,
   inputs and secrets checked), then run again and again, against the bare loop
   running the same 3 nodes (target ratio at least 1.0); also recompiling each time.
4. `flowcli run` of a two-node workflow against `python -c pass`, as whole
   processes from the shell (target at most 5x).
5. Live validation (the editor's) after one config edit in a 5,000-node workflow,
   against a full validation of it (target under 5 ms).

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
from engine.core.live_validation import LiveValidation
from engine.core.plan import compile_plan, validate
from engine.core.run_context import RunContext
from engine.support.gcpause import file_built_objects_as_old
from engine.templates.engine import default_engine
from engine.workflow.file import dumps, from_data, loads
from engine.workflow.model import Workflow


class Noop(Node):
    """A node that does nothing and never waits, so it says so (`inline`), as pure
    transforms do: it runs without a task of its own."""

    type = "bench.noop"
    inline = True
    inputs = (Port("in", "any", required=False, multiple=True),)
    outputs = (Port("out", "any"),)

    async def run(self, ctx: NodeContext, **inputs: Any) -> dict[str, Any]:
        return {"out": None}


class TaskNoop(Noop):
    """The same node run the way any async node is: as its own asyncio task."""

    type = "bench.noop_task"
    inline = False


REGISTRY = Registry([Noop, TaskNoop], origin="bench")
file_built_objects_as_old()  # as flowcli and serve mode do (engine/support/gcpause.py)
TARGETS = {"run": 3.0, "execute": 2.0, "compile": 1.0, "rerun": 1.0, "startup": 5.0,
           "live_ms": 5.0}


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


def as_workflow(preds: list[list[int]], node_type: str = "bench.noop") -> Workflow:
    return from_data({
        "format": "flowui-workflow", "version": 1,
        "settings": {"max_parallel": len(preds)},  # no cap, like the bare loop
        "nodes": [{"id": f"n{i}", "type": node_type} for i in range(len(preds))],
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


def run_full(text: str) -> None:
    """A whole run from the file's text: load, validate, plan, execute."""
    count = [0]

    def subscriber(event: Any) -> None:
        count[0] += 1

    wf = loads(text)
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
        text = dumps(wf)
        bare = best_of(reps, lambda p=preds: asyncio.run(bare_counter(p)))
        full = best_of(reps, lambda t=text: run_full(t))
        tasks_wf = as_workflow(preds, "bench.noop_task")
        # compile and execute alternate, so that a slow spell of the machine hits both
        execute, tasks, compile_s = [], [], []
        for _ in range(reps):
            execute.append(run_execute_only(wf))
            tasks.append(run_execute_only(tasks_wf))
            compile_s.append(best_of(1, lambda w=wf: compile_plan(w, REGISTRY)))
        dask_s = dask_time(preds, max(1, reps // 2))
        rows.append({"shape": name, "nodes": n, "bare_us": bare / n * 1e6,
                     "run_us": full / n * 1e6, "execute_us": min(execute) / n * 1e6,
                     "task_us": min(tasks) / n * 1e6,
                     "compile_us": min(compile_s) / n * 1e6,
                     "dask_us": dask_s / n * 1e6 if dask_s else None})
    return rows


def peak_memory_mb(n: int) -> dict[str, float]:
    """Peak RSS of a fresh process that builds, validates and runs an n-node layered graph."""
    out = subprocess.run([sys.executable, __file__, "--memory-probe", str(n)],
                         capture_output=True, text=True, check=True, timeout=600).stdout
    return json.loads(out.strip().splitlines()[-1])


def memory_probe(n: int) -> None:
    start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    text = dumps(as_workflow(layered(n)))
    t0 = time.perf_counter()
    run_full(text)
    print(json.dumps({"seconds": time.perf_counter() - t0,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "start_mb": start / 1024}))


def reruns(count: int, rounds: int) -> dict[str, float]:
    """Runs per second of an unchanged 3-node workflow: prepared once, recompiled each
    time, and the bare loop; best round of each, rounds interleaved."""
    wf = from_data({
        "format": "flowui-workflow", "version": 1,
        "nodes": [{"id": "a", "type": "bench.noop"}, {"id": "b", "type": "bench.noop"},
                  {"id": "c", "type": "bench.noop"}],
        "connections": [{"from": "a.out", "to": "b.in"}, {"from": "b.out", "to": "c.in"}],
    })
    runner = Runner(REGISTRY)
    checked = runner.preflight(wf)
    sub = (lambda e: None,)

    async def many(source: Any) -> float:
        t0 = time.perf_counter()
        for _ in range(count):
            result = await runner.run(source, subscribers=sub)
            assert result.status == "completed"
        return time.perf_counter() - t0

    async def bare_many() -> float:
        t0 = time.perf_counter()
        for _ in range(count):
            await bare_counter([[], [0], [1]])
        return time.perf_counter() - t0

    best: dict[str, float] = {}
    for _ in range(rounds):
        for key, make in (("prepared", lambda: many(checked)), ("recompiled", lambda: many(wf)),
                          ("bare", bare_many)):
            elapsed = asyncio.run(make())
            best[key] = max(best.get(key, 0.0), count / elapsed)
    return best


TWO_NODES = {"format": "flowui-workflow", "version": 1, "name": "two nodes",
             "nodes": [{"id": "a", "type": "flow.constant", "config": {"value": 1}},
                       {"id": "b", "type": "debug.log"}],
             "connections": [{"from": "a.value", "to": "b.message"}]}


def startup(reps: int) -> dict[str, float]:
    """Seconds of `flowcli run` on a two-node workflow and of `python -c pass`, as whole
    processes (best of `reps`, interleaved)."""
    import tempfile

    flowcli = Path(sys.executable).with_name("flowcli")
    with tempfile.TemporaryDirectory() as tmp:
        flow = Path(tmp) / "two.flow.json"
        flow.write_text(json.dumps(TWO_NODES))
        commands = {"flowcli": [str(flowcli), "run", str(flow), "--events", "none"],
                    "python": [sys.executable, "-c", "pass"]}
        best: dict[str, float] = {}
        for _ in range(reps):
            for key, cmd in commands.items():
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True, capture_output=True)
                best[key] = min(best.get(key, 1e9), time.perf_counter() - t0)
    return best


def live_validation(n: int, reps: int) -> dict[str, float]:
    """Milliseconds to re-validate after one config edit in an n-node workflow (the
    editor's LiveValidation) and for a full validation of the same workflow."""
    wf = from_data({
        "format": "flowui-workflow", "version": 1,
        "nodes": [{"id": f"n{i}", "type": "bench.noop"} for i in range(n)],
        "connections": [{"from": f"n{i - 1}.out", "to": f"n{i}.in"} for i in range(1, n)],
    })
    live = LiveValidation(wf, REGISTRY, base_dir=Path.cwd())
    assert live.problems() == []
    edits = []
    i = n // 2
    for k in range(reps):  # a problem appears with each odd edit and goes with each even one
        wf.nodes[i] = wf.nodes[i].model_copy(update={"config": {"extra": k} if k % 2 else {}})
        t0 = time.perf_counter()
        live.node_changed(None, wf.nodes[i].id)
        found = live.problems()
        edits.append(time.perf_counter() - t0)
        assert len(found) == k % 2
    full = best_of(max(1, reps // 4), lambda: validate(wf, REGISTRY))
    return {"edit_ms": min(edits) * 1000, "median_edit_ms": statistics.median(edits) * 1000,
            "full_ms": full * 1000}


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


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
    print("execute: inline no-op nodes (run at once); task: the same as async nodes with a "
          "task each\n")
    print(f"{'shape':<9}{'bare µs':>9}{'run µs':>9}{'ratio':>7}{'execute µs':>12}{'ratio':>7}"
          f"{'task µs':>9}{'ratio':>7}{'compile µs':>12}{'/execute':>9}{'/task':>7}{'dask µs':>9}")
    for r in rows:
        r["ratio_run"] = r["run_us"] / r["bare_us"]
        r["ratio_execute"] = r["execute_us"] / r["bare_us"]
        r["ratio_task"] = r["task_us"] / r["bare_us"]
        r["ratio_compile"] = r["compile_us"] / r["execute_us"]
        r["ratio_compile_task"] = r["compile_us"] / r["task_us"]
        dask = f"{r['dask_us']:>9.1f}" if r["dask_us"] else f"{'-':>9}"
        print(f"{r['shape']:<9}{r['bare_us']:>9.2f}{r['run_us']:>9.2f}{r['ratio_run']:>7.2f}"
              f"{r['execute_us']:>12.2f}{r['ratio_execute']:>7.2f}{r['task_us']:>9.2f}"
              f"{r['ratio_task']:>7.2f}{r['compile_us']:>12.2f}{r['ratio_compile']:>9.2f}"
              f"{r['ratio_compile_task']:>7.2f}{dask}")
    print(f"\ntargets: whole run (load + validate + plan + execute) at most "
          f"{TARGETS['run']:g}x bare: "
          f"{verdict(all(r['ratio_run'] <= TARGETS['run'] for r in rows))}; execution at most "
          f"{TARGETS['execute']:g}x bare: "
          f"{verdict(all(r['ratio_task'] <= TARGETS['execute'] for r in rows))} (task nodes), "
          f"{verdict(all(r['ratio_execute'] <= TARGETS['execute'] for r in rows))} (inline); "
          f"compile at most {TARGETS['compile']:g}x execute: "
          f"{verdict(all(r['ratio_compile_task'] <= TARGETS['compile'] for r in rows))} (task "
          f"nodes), {verdict(all(r['ratio_compile'] <= TARGETS['compile'] for r in rows))} "
          "(inline)")
    mem = peak_memory_mb(100_000)
    print(f"\n100,000-node layered run: {mem['seconds']:.2f} s, peak RSS {mem['peak_mb']:.0f} MB "
          f"(interpreter and imports alone: {mem['start_mb']:.0f} MB); target < 1024 MB: "
          f"{verdict(mem['peak_mb'] < 1024)}")
    rr = reruns(1000, 3 if args.quick else 5)
    ratio = rr["prepared"] / rr["bare"]
    print(f"\nre-runs of an unchanged 3-node workflow: prepared {rr['prepared']:,.0f} runs/s, "
          f"bare loop {rr['bare']:,.0f} runs/s: ratio {ratio:.2f} (target at least "
          f"{TARGETS['rerun']:g}: {verdict(ratio >= TARGETS['rerun'])}); recompiled each "
          f"time {rr['recompiled']:,.0f} runs/s ({rr['recompiled'] / rr['bare']:.2f})")
    st = startup(5 if args.quick else 11)
    ratio_start = st["flowcli"] / st["python"]
    print(f"\nflowcli run of a two-node workflow: {st['flowcli'] * 1000:.0f} ms; python -c pass "
          f"{st['python'] * 1000:.0f} ms: ratio {ratio_start:.1f} (target at most "
          f"{TARGETS['startup']:g}: {verdict(ratio_start <= TARGETS['startup'])})")
    lv = live_validation(5000, 20)
    print(f"\nre-validation after one config edit, 5,000 nodes: {lv['edit_ms']:.2f} ms "
          f"(median {lv['median_edit_ms']:.2f}); a full validation {lv['full_ms']:.0f} ms "
          f"({lv['full_ms'] / lv['edit_ms']:.0f}x); target under {TARGETS['live_ms']:g} ms: "
          f"{verdict(lv['median_edit_ms'] < TARGETS['live_ms'])}")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"shapes": rows, "memory": mem, "reruns": rr, "startup": st, "live": lv},
            indent=2))


if __name__ == "__main__":
    main()
