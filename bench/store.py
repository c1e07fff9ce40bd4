"""Run store benchmark: what recording runs costs, each figure beside a baseline
measured in the same run.

    .venv/bin/python bench/store.py            # everything (about a minute)
    .venv/bin/python bench/store.py --quick    # fewer repetitions

1. A 2,000-node layered run of no-op nodes (bench/engine.py's shape), in one
   process: store on (events and full outputs recorded, the writer closed) against
   store off. Target: at most 1.15x.
2. `flowcli serve` of the webhook echo example with the store against `--no-store`,
   driven as bench/serve.py drives it. Target: at least 0.8x at every concurrency.
3. `runs list` (the newest 50, then filtered by workflow and by status) over
   100,000 stored runs, against the same over 1,000. Target: under 100 ms.
4. The store's size per run of resources/examples/hello.flow.json (against a local
   HTTP server), against the size of the same run's events as JSON lines.
5. The SIGKILL loss window: `flowcli run` of a chain of delays killed mid-run; the
   time between the last event it had printed and the last one the store kept.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["PYTHONPATH"] = str(ROOT)  # subprocesses run this tree's code

from engine import Registry, Runner  # noqa: E402
from engine.core.output_cache import CachePolicy, RunCache  # noqa: E402
from engine.store.recording import start_recorded  # noqa: E402
from engine.store.store import RunStore  # noqa: E402
from engine.store.writer import StoreWriter  # noqa: E402
from engine.workflow.file import load  # noqa: E402


def _bench_module(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TARGETS = {"run": 1.15, "serve": 0.8, "list_ms": 100.0}
CLI = [sys.executable, "-m", "engine.cli"]


# --- 1. a 2,000-node run, store on vs off --------------------------------------------------


def big_run(n: int, reps: int, folder: Path, *, working: bool = False,
            ) -> tuple[float, float, float]:
    """Store off vs on for `n` instant nodes (bench/engine.py's layered workflow: a
    run of ~20 ms, where the store's fixed costs show most), or with `working`, `n`
    nodes that each wait 1 ms (bench/live.py's workflow: a run of ~0.3 s)."""
    bench = _bench_module("engine")
    if working:
        from engine.workflow.file import from_data

        workflow = from_data(_bench_module("live").generate(n))
        runner = Runner(Registry.discover(plugins=False))
    else:
        workflow = bench.as_workflow(bench.layered(n))
        runner = Runner(bench.REGISTRY)

    async def off() -> None:
        await runner.run(workflow, subscribers=(lambda e: None,))

    async def on(path: Path, cached: bool) -> None:
        writer = StoreWriter(path)  # as `flowcli run` does: open, record, close
        # flowcli run records every node's output in the output cache too
        cache = RunCache(writer.output_cache, CachePolicy(), workflow.name) if cached else None
        run = start_recorded(runner, writer, workflow, path=None, base_dir=folder,
                             subscribers=(lambda e: None,), cache=cache)
        await run.wait()
        await writer.close()

    RunStore(folder / "big.db").close()  # a store that exists, as it does after a first run
    times: dict[str, list[float]] = {"off": [], "on": [], "cache": []}
    for _ in range(reps):  # alternating: noise hits both alike
        for name in ("off", "on", "cache"):
            t0 = time.perf_counter()
            asyncio.run(off() if name == "off" else on(folder / "big.db", name == "cache"))
            times[name].append(time.perf_counter() - t0)
    return (statistics.median(times["off"]), statistics.median(times["on"]),
            statistics.median(times["cache"]))


# --- 2. serve throughput ---------------------------------------------------------------------


def serve_ratio(total: int, rounds: int, folder: Path) -> dict[int, tuple[float, float]]:
    serve = _bench_module("serve")
    ports = serve.free_port(), serve.free_port()
    base = [*CLI, "serve", str(serve.EXAMPLE), "--queue-size", "64",
            "--dead-letter", str(folder / "dl")]
    results = serve.measure({
        "off": ([*base, "--port", str(ports[0]), "--no-store"],
                f"http://127.0.0.1:{ports[0]}/echo"),
        "on": ([*base, "--port", str(ports[1]), "--store", str(folder / "serve.db")],
               f"http://127.0.0.1:{ports[1]}/echo")}, total, rounds, folder)
    return {c: (results["off"][c]["rps"], results["on"][c]["rps"]) for c in serve.LEVELS}


# --- 3. runs list over many runs ---------------------------------------------------------------


def fill(path: Path, n: int) -> None:
    with RunStore(path) as store:
        now = time.time()
        rows = [(f"2026{i:010d}-{i % 4096:03x}", f"workflow {i % 20}", "cli",
                 "failed" if i % 10 == 0 else "completed", now - (n - i), now - (n - i) + 1,
                 12.5) for i in range(n)]
        store.db.execute("BEGIN")
        store.db.executemany("INSERT INTO runs (id, workflow, source, status, queued_at, "
                             "finished_at, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        store.db.execute("COMMIT")


def list_ms(path: Path, reps: int) -> dict[str, float]:
    out = {}
    with RunStore(path) as store:
        for name, kw in (("newest 50", {}), ("--workflow", {"workflow": "workflow 7"}),
                         ("--status failed", {"status": "failed"})):
            times = []
            for _ in range(reps):
                t0 = time.perf_counter()
                assert len(store.list_runs(**kw).runs) == 50
                times.append((time.perf_counter() - t0) * 1000)
            out[name] = statistics.median(times)
    return out


def cli_list_ms(path: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run([*CLI, "runs", "list", "--store", str(path)], capture_output=True,
                   check=True)
    return (time.perf_counter() - t0) * 1000


# --- 4. size per run ------------------------------------------------------------------------------


class _Json(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"slideshow": {"title": "Sample", "slides": [1, 2, 3]}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def size_per_run(runs: int, folder: Path) -> tuple[float, float]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Json)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/json"
    hello = ROOT / "resources" / "examples" / "hello.flow.json"
    workflow = load(hello)
    path = folder / "hello.db"
    events: list[Any] = []

    async def go() -> None:
        runner = Runner(Registry.discover())
        with RunStore(path) as store:
            writer = store.writer()
            for _ in range(runs):
                run = start_recorded(runner, writer, workflow, {"url": url}, path=hello,
                                     base_dir=hello.parent, subscribers=(events.append,))
                assert (await run.wait()).status == "completed"
            await writer.close()

    empty = _used_bytes(path)
    asyncio.run(go())
    server.shutdown()
    jsonl = sum(len(json.dumps(e.to_dict())) + 1 for e in events)
    return (_used_bytes(path) - empty) / runs, jsonl / runs


def _used_bytes(path: Path) -> int:
    with RunStore(path) as store:
        db = store.db
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages, free, size = (db.execute(f"PRAGMA {p}").fetchone()[0]
                             for p in ("page_count", "freelist_count", "page_size"))
    return int((pages - free) * size)


# --- 5. the SIGKILL window ------------------------------------------------------------------------


def kill_window(tries: int, folder: Path) -> list[float]:
    nodes = [{"id": f"d{i}", "type": "time.delay", "config": {"seconds": 0.01}}
             for i in range(200)]
    nodes[0]["config"]["value"] = 1
    flow = folder / "kill.flow.json"
    flow.write_text(json.dumps({"format": "flowui-workflow", "version": 1, "name": "kill",
                                "nodes": nodes, "connections": [
                                    {"from": f"d{i}.value", "to": f"d{i + 1}.value"}
                                    for i in range(199)]}))
    gaps = []
    for n in range(tries):
        store = folder / f"kill{n}.db"
        proc = subprocess.Popen([*CLI, "run", str(flow), "--events", "jsonl", "--store",
                                 str(store)], stdout=subprocess.PIPE, text=True,
                                stderr=subprocess.DEVNULL)
        assert proc.stdout is not None
        for printed, _ in enumerate(proc.stdout, start=1):
            if printed >= 150 + 20 * n:
                killed = time.time()
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait()
        db = sqlite3.connect(store)
        chunks = db.execute("SELECT data FROM events ORDER BY first_seq").fetchall()
        db.close()
        # each chunk: [[name, [seq, timestamp, *fields]], ...]
        last = json.loads(chunks[-1][0])[-1][1][1] if chunks else 0.0
        gaps.append((killed - last) * 1000)
    return gaps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    reps = 3 if args.quick else 7
    met = True
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for working, what in ((True, "nodes waiting 1 ms each"), (False, "instant nodes")):
            off, on, cached = big_run(2000, reps, folder, working=working)
            ratio = on / off
            met &= ratio <= TARGETS["run"]
            print(f"2,000-node run, {what}: store off {off * 1000:.0f} ms, on "
                  f"{on * 1000:.0f} ms, ratio {ratio:.2f} (target <= {TARGETS['run']}); "
                  f"with the output cache recorded as flowcli run does {cached * 1000:.0f} ms, "
                  f"ratio {cached / off:.2f}")

        rates = serve_ratio(300 if args.quick else 1000, 1 if args.quick else 3, folder)
        for c, (no, yes) in rates.items():
            met &= yes / no >= TARGETS["serve"]
            print(f"serve, {c:>2} concurrent: --no-store {no:.0f} req/s, store {yes:.0f} "
                  f"req/s, ratio {yes / no:.2f} (target >= {TARGETS['serve']})")

        small, big = folder / "small.db", folder / "big.db"
        fill(small, 1_000)
        fill(big, 100_000)
        base, many = list_ms(small, reps * 3), list_ms(big, reps * 3)
        for name, ms in many.items():
            met &= ms < TARGETS["list_ms"]
            print(f"runs list ({name}) over 100,000 runs: {ms:.2f} ms; over 1,000: "
                  f"{base[name]:.2f} ms; ratio {ms / base[name]:.2f} (target < "
                  f"{TARGETS['list_ms']:.0f} ms)")
        print(f"`flowcli runs list` over 100,000 runs, whole process: {cli_list_ms(big):.0f} ms"
              f" (over 1,000: {cli_list_ms(small):.0f} ms)")

        per_run, jsonl = size_per_run(20, folder)
        print(f"store size per hello.flow.json run: {per_run / 1000:.1f} kB; its events as "
              f"JSON lines: {jsonl / 1000:.1f} kB; ratio {per_run / jsonl:.2f}")

        gaps = kill_window(3 if args.quick else 6, folder)
        print("SIGKILL: last stored event before the kill by "
              + ", ".join(f"{g:.0f}" for g in gaps) + f" ms (worst {max(gaps):.0f} ms; a "
              "10 ms-per-node chain, so events stop arriving about that often)")
    print("\ntargets " + ("met" if met else "MISSED"))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
