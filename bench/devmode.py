"""Development-mode benchmark: fixing one node of a slow workflow, each figure beside
a baseline measured in the same run.

    .venv/bin/python bench/devmode.py            # everything (about half a minute)
    .venv/bin/python bench/devmode.py --quick    # fewer repetitions

1. A 1,000-node layered workflow whose nodes each wait 20 ms (an HTTP call's worth
   of I/O), max_parallel 10: a full run recorded in a store, then one leaf's config
   changed and (a) `--only LEAF` and (b) a whole run with `--cache`. Executions and
   wall time as a ratio to the full run. Target: one execution, ratio under 0.05.
   Measured in one process (the engine's share) and as `flowcli` processes from the
   shell (what a person waits for: the interpreter's start-up included).
2. What computing cache keys costs per node, against the executor's own per-node cost
   (a 2,000-node run of instant nodes, no store). Target: under 10%. The key plan's
   one-off part per compiled plan is shown too.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["PYTHONPATH"] = str(ROOT)  # subprocesses run this tree's code

from engine import EventBus, Registry, Runner  # noqa: E402
from engine.core.cache_keys import KeyPlan  # noqa: E402
from engine.core.executor import GraphExecution  # noqa: E402
from engine.core.output_cache import (  # noqa: E402
    CacheEntry,
    CachePolicy,
    NodeRecord,
    RunCache,
    topological,
)
from engine.core.partial import partial_run  # noqa: E402
from engine.core.plan import compile_workflow  # noqa: E402
from engine.core.run_context import RunContext  # noqa: E402
from engine.secrets.redactor import Redactor  # noqa: E402
from engine.store.recording import start_recorded  # noqa: E402
from engine.store.writer import StoreWriter  # noqa: E402
from engine.templates.engine import default_engine  # noqa: E402
from engine.workflow.file import from_data  # noqa: E402
from engine.workflow.model import Workflow  # noqa: E402

PLUGIN = '''
import asyncio
from typing import Any
from engine import Node, NodeConfig, NodeContext, Port


class Slow(Node):
    """Waits like an HTTP call would, then passes a value on."""
    type = "bench.slow"
    inputs = (Port("value", "any", required=False, multiple=True),)
    outputs = (Port("value", "any"),)

    class Config(NodeConfig):
        wait_s: float = 0.02
        n: int = 0

    async def run(self, ctx: NodeContext, value: Any = None) -> dict[str, Any]:
        await asyncio.sleep(self.config.wait_s)
        return {"value": self.config.n + len(value or [])}
'''
TARGETS = {"executions": 1, "ratio": 0.05, "key_share": 0.10}
CLI = [sys.executable, "-m", "engine.cli"]


def layered(n: int, width: int, node_type: str, config: dict[str, Any]) -> dict[str, Any]:
    """`n` nodes in layers of `width`, each fed by two nodes of the layer before."""
    nodes, wires = [], []
    for i in range(n):
        nodes.append({"id": f"n{i}", "type": node_type, "config": {**config, "n": i}})
        if i >= width:
            layer_start = (i // width - 1) * width
            for k in (i % width, (i + 1) % width):
                wires.append({"from": f"n{layer_start + k}.value", "to": f"n{i}.value"})
    return {"format": "flowui-workflow", "version": 1, "name": "devmode bench",
            "settings": {"max_parallel": 10}, "nodes": nodes, "connections": wires}


def edit_leaf(data: dict[str, Any]) -> tuple[dict[str, Any], str]:
    leaf = data["nodes"][-1]
    changed = json.loads(json.dumps(data))
    changed["nodes"][-1]["config"]["n"] += 1000
    return changed, leaf["id"]


class Counter:
    def __init__(self) -> None:
        self.started = 0

    def __call__(self, event: Any) -> None:
        if event.name == "node_started":
            self.started += 1


async def run_in_process(registry: Registry, store: Path, wf: Workflow,
                         policy: CachePolicy) -> tuple[float, int]:
    counter = Counter()
    started = time.perf_counter()
    writer = StoreWriter(store)
    cache = RunCache(writer.output_cache, policy, wf.name)
    run = start_recorded(Runner(registry), writer, wf, {}, path=None, base_dir=store.parent,
                         subscribers=(counter,), cache=cache)
    result = await run.wait()
    await writer.close()
    assert result.status == "completed", result.error
    return time.perf_counter() - started, counter.started


def in_process(folder: Path, repeat: int) -> dict[str, Any]:
    os.environ["FLOWUI_PLUGINS"] = str(folder / "plugins")
    registry = Registry.discover()
    data = layered(1000, 50, "bench.slow", {"wait_s": 0.02})
    changed_data, leaf = edit_leaf(data)
    wf, changed = from_data(data), from_data(changed_data)
    figures: dict[str, list[float]] = {"full": [], "only": [], "cache": []}
    runs: dict[str, int] = {}
    for r in range(repeat):
        store = folder / f"in-process-{r}.db"
        full, runs["full"] = asyncio.run(run_in_process(registry, store, wf, CachePolicy()))
        part = partial_run(changed, "only", leaf)
        only, runs["only"] = asyncio.run(run_in_process(registry, store, part.workflow,
                                                        part.policy(reuse=False)))
        again = folder / f"in-process-{r}b.db"
        asyncio.run(run_in_process(registry, again, wf, CachePolicy()))
        cached, runs["cache"] = asyncio.run(run_in_process(registry, again, changed,
                                                           CachePolicy(reuse=True)))
        figures["full"].append(full)
        figures["only"].append(only)
        figures["cache"].append(cached)
    return {k: statistics.median(v) for k, v in figures.items()} | {
        f"{k}_executions": v for k, v in runs.items()}


def from_shell(folder: Path, repeat: int) -> dict[str, Any]:
    env = {**os.environ, "FLOWUI_PLUGINS": str(folder / "plugins")}
    data = layered(1000, 50, "bench.slow", {"wait_s": 0.02})
    changed_data, leaf = edit_leaf(data)
    flow = folder / "shell.flow.json"
    figures: dict[str, list[float]] = {"full": [], "only": [], "cache": []}
    executions: dict[str, int] = {}

    def flowcli(*args: str, key: str) -> None:
        started = time.perf_counter()
        p = subprocess.run([*CLI, "run", str(flow), "--events", "jsonl", *args],
                           capture_output=True, text=True, env=env, timeout=600)
        figures[key].append(time.perf_counter() - started)
        assert p.returncode == 0, p.stderr
        executions[key] = sum('"event": "node_started"' in line or
                              '"event":"node_started"' in line
                              for line in p.stdout.splitlines())

    figures["floor"] = []
    for r in range(repeat):
        env["FLOWUI_DATA_DIR"] = str(folder / f"shell-{r}")
        flow.write_text(json.dumps(layered(1, 1, "bench.slow", {"wait_s": 0})))
        flowcli(key="floor")  # start-up and one instant node: the shell's floor
        flow.write_text(json.dumps(data))
        flowcli(key="full")
        flow.write_text(json.dumps(changed_data))
        flowcli("--only", leaf, key="only")
        flow.write_text(json.dumps(data))
        env["FLOWUI_DATA_DIR"] = str(folder / f"shell-{r}b")
        flowcli(key="full")
        flow.write_text(json.dumps(changed_data))
        flowcli("--cache", key="cache")
    figures["full"] = figures["full"][::2]
    return {k: statistics.median(v) for k, v in figures.items()} | {
        f"{k}_executions": v for k, v in executions.items()}


class NoStore:
    """An OutputStore that keeps nothing: the run computes keys and records, no SQLite."""

    def get(self, key: bytes) -> CacheEntry | None:
        return None

    def put(self, entry: CacheEntry | None, record: NodeRecord) -> None:
        pass

    def touch(self, key: bytes, record: NodeRecord) -> None:
        pass

    def recipe(self, workflow: str, node: str) -> None:
        return None

    def current(self, workflow: str, node: str, key: bytes) -> None:
        return None


def _bench_engine() -> Any:
    spec = importlib.util.spec_from_file_location("bench_engine", ROOT / "bench" / "engine.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def key_cost(repeat: int) -> dict[str, float]:
    """Per node: the executor running instant nodes (bench/engine.py's layered no-ops),
    without a cache and with one that keeps nothing; and computing the keys alone."""
    bench = _bench_engine()
    wf = bench.as_workflow(bench.layered(2000, 100))
    plan = compile_workflow(wf, bench.REGISTRY)
    n = len(plan.nodes)
    redactor = Redactor(())

    async def execute(cache: RunCache | None) -> float:
        bus = EventBus()
        bus.subscribe(lambda e: None)
        ctx = RunContext("bench", bus, default_engine, bench.REGISTRY, cache=cache)
        gc.collect()
        started = time.perf_counter()
        await GraphExecution(ctx, plan, {}).execute()
        return time.perf_counter() - started

    plain = min(asyncio.run(execute(None)) for _ in range(repeat)) / n
    cached = min(asyncio.run(execute(RunCache(NoStore(), CachePolicy(reuse=True), "bench")))
                 for _ in range(repeat)) / n
    started = time.perf_counter()
    for _ in range(repeat):
        KeyPlan(plan, redactor)
    key_plan = (time.perf_counter() - started) / repeat / n
    cache = RunCache(NoStore(), CachePolicy(reuse=True), wf.name)
    order = list(topological(plan))
    best = float("inf")
    for _ in range(repeat):
        cache.bind(plan, {}, redactor)
        started = time.perf_counter()
        for i in order:
            cache.ident[i] = cache.key_of(i)
        best = min(best, time.perf_counter() - started)
    return {"executor_us": plain * 1e6, "with_cache_us": cached * 1e6,
            "key_us": best / n * 1e6, "key_plan_us": key_plan * 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeat = 1 if args.quick else 3
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "plugins").mkdir()
        (folder / "plugins" / "bench_slow.py").write_text(PLUGIN)
        print("1. fix one leaf of a 1,000-node workflow (nodes wait 20 ms, max_parallel 10)")
        for where, figures in (("in one process", in_process(folder, repeat)),
                               ("flowcli from the shell", from_shell(folder, repeat))):
            full = figures["full"]
            print(f"   {where}: full run {full:.2f} s ({figures['full_executions']} executions)")
            floor = figures.get("floor")
            if floor is not None:
                print(f"     (a one-node run from the shell takes {floor:.3f} s: interpreter, "
                      "imports, store; above it the partial runs cost "
                      + ", ".join(f"{(figures[k] - floor) / (full - floor):.3f}"
                                  for k in ("only", "cache")) + " of the full run's)")
            for key, label in (("only", "--only LEAF"), ("cache", "--cache, whole run")):
                ratio = figures[key] / full
                ok = figures[f"{key}_executions"] <= TARGETS["executions"] \
                    and ratio < TARGETS["ratio"]
                print(f"     {label:18} {figures[key]:.3f} s  ratio {ratio:.3f}  "
                      f"executions {figures[f'{key}_executions']}  "
                      f"(target 1 and < {TARGETS['ratio']}) {'ok' if ok else 'MISSED'}")
        cost = key_cost(3 if args.quick else 7)
        share = cost["key_us"] / cost["executor_us"]
        print("2. cache keys per node, 2,000 instant nodes (layered, no store)")
        print(f"   executor {cost['executor_us']:.1f} us/node; keys {cost['key_us']:.2f} us/node"
              f" = {share:.3f} of it (target < {TARGETS['key_share']}) "
              f"{'ok' if share < TARGETS['key_share'] else 'MISSED'}")
        print(f"   executor with the cache's whole per-node work (keys, lookups, outputs "
              f"encoded for recording): {cost['with_cache_us']:.1f} us/node = "
              f"{cost['with_cache_us'] / cost['executor_us']:.2f}x")
        print(f"   the key plan, once per compiled plan: {cost['key_plan_us']:.1f} us/node "
              f"= {cost['key_plan_us'] / cost['executor_us']:.2f} of one run's executor cost")


if __name__ == "__main__":
    main()
