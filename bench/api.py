"""flowserver benchmark: POST /runs throughput and latency to run_completed seen on the
WebSocket, against the same runs in process; 200 WebSocket subscribers on one
2,000-node run; and the bare HTTP stacks (FastAPI on uvicorn vs aiohttp) that the
choice of stack rests on. Servers run in subprocesses, driven over loopback.

    .venv/bin/python bench/api.py               # 300 runs per level
    .venv/bin/python bench/api.py --runs 100    # quicker

Printed: runs/s and p50/p99 ms per concurrency level (1, 8, 32), each as a ratio to
the in-process figure; events/s delivered to 200 subscribers, the server's peak
memory and the run's wall time with them as a ratio to the run alone (target <= 1.2);
requests/s of a bare POST endpoint on each stack. The client shares the machine's
cores with the server: read the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FLOWSERVER = Path(sys.executable).with_name("flowserver")
from websockets.asyncio.client import connect as ws_connect  # noqa: E402

# The WebSocket client is `websockets` (as the tests use); aiohttp's is used for HTTP.
from engine.server.api.models import RunRequest  # noqa: E402 (after the path is set)

LEVELS = (1, 8, 32)
SUBSCRIBERS = 200
BIG_NODES = 2000
TARGET_RATIO = 1.2
BODY = {"workflow": "hello", "inputs": {}, "options": {"test_run": False}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def hello() -> dict[str, Any]:
    from tests.engine.flowserver import hello as make

    return make()


def big(n: int = BIG_NODES) -> dict[str, Any]:
    """A 2 s delay (subscribers connect meanwhile), then a chain of n template nodes."""
    from tests.engine.flowserver import flow

    nodes = [{"id": "start", "type": "flow.constant", "config": {"value": 0}},
             {"id": "wait", "type": "time.delay", "config": {"seconds": 2.0}}]
    nodes += [{"id": f"t{i}", "type": "transform.template", "config": {"template": "{{ value }}"}}
              for i in range(n)]
    links = [("start.value", "wait.value"), ("wait.value", "t0.value")]
    links += [(f"t{i}.text", f"t{i + 1}.value") for i in range(n - 1)]
    return flow("big", nodes, links)


# --- a flowserver subprocess --------------------------------------------------------------


class Server:
    def __init__(self, tmp: Path, *args: str) -> None:
        folder = tmp / "workflows"
        folder.mkdir(exist_ok=True)
        (folder / "hello.flow.json").write_text(json.dumps(hello()))
        (folder / "big.flow.json").write_text(json.dumps(big()))
        self.err = tmp / f"server{id(self)}.err"
        env = {**os.environ, "FLOWUI_DATA_DIR": str(tmp / "data")}
        with self.err.open("wb") as err:
            self.proc = subprocess.Popen(
                [str(FLOWSERVER), "--workflows", str(folder), "--port", "0", "--token-file",
                 str(tmp / "token"), "--store", str(tmp / f"runs{id(self)}.db"), *args],
                stdout=subprocess.DEVNULL, stderr=err, env=env)
        deadline = time.monotonic() + 30
        while not (found := re.search(r"listening on (http://\S+)", self.err.read_text())):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"flowserver did not start: {self.err.read_text()}")
            time.sleep(0.05)
        self.url = found.group(1)
        self.ws = self.url.replace("http://", "ws://")
        self.headers = {"Authorization": f"Bearer {(tmp / 'token').read_text().strip()}"}

    def peak_rss_mb(self) -> float:
        """The process's peak resident memory so far (Linux: VmHWM)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# --- POST /runs, then run_completed on the WebSocket ----------------------------------------


async def drive_api(srv: Server, total: int, concurrency: int) -> dict[str, float]:
    import aiohttp

    latencies: list[float] = []
    per_worker = [total // concurrency + (i < total % concurrency) for i in range(concurrency)]
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=srv.headers) as session:

        async def one() -> None:
            t0 = time.perf_counter()
            async with session.post(f"{srv.url}/runs", json=BODY) as r:
                if r.status != 202:
                    raise AssertionError(f"POST /runs answered {r.status}: {await r.text()}")
                run_id = (await r.json())["run_id"]
            last = None
            async with ws_connect(f"{srv.ws}/runs/{run_id}/events",
                                  additional_headers=srv.headers) as ws:
                async for msg in ws:
                    last = json.loads(msg)[-1]
            if last is None or last["event"] != "run_completed" or last["status"] != "completed":
                raise AssertionError(f"run {run_id} ended with {last}")
            latencies.append(time.perf_counter() - t0)

        async def worker(n: int) -> None:
            for _ in range(n):
                await one()

        await asyncio.gather(*(worker(min(n, 10)) for n in per_worker))  # warm-up
        latencies.clear()
        started = time.perf_counter()
        await asyncio.gather(*(worker(n) for n in per_worker))
        elapsed = time.perf_counter() - started
    return summary(latencies, total, elapsed)


async def drive_posts(srv: Server, total: int, concurrency: int) -> dict[str, float]:
    """POST /runs only; done when /metrics counts every run finished: the server's own
    capacity, without a WebSocket handshake per run on the client's side."""
    import aiohttp

    latencies: list[float] = []
    per_worker = [total // concurrency + (i < total % concurrency) for i in range(concurrency)]
    connector = aiohttp.TCPConnector(limit=concurrency + 1)
    async with aiohttp.ClientSession(connector=connector, headers=srv.headers) as session:

        async def finished() -> int:
            async with session.get(f"{srv.url}/metrics") as r:
                text = await r.text()
            return int(sum(float(line.split()[-1]) for line in text.splitlines()
                           if line.startswith("flowui_runs_total{")))

        async def worker(n: int) -> None:
            for _ in range(n):
                t0 = time.perf_counter()
                async with session.post(f"{srv.url}/runs", json=BODY) as r:
                    assert r.status == 202, await r.text()
                    await r.read()
                latencies.append(time.perf_counter() - t0)

        before = await finished()
        started = time.perf_counter()
        await asyncio.gather(*(worker(n) for n in per_worker))
        while await finished() < before + total:
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - started
    return summary(latencies, total, elapsed)


def summary(latencies: list[float], total: int, elapsed: float) -> dict[str, float]:
    latencies.sort()
    return {"rps": total / elapsed, "p50_ms": statistics.median(latencies) * 1000,
            "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000}


def in_process(total: int, concurrency: int, store: Path) -> dict[str, float]:
    """The same runs in this process: prepared once, each recorded in a run store, as
    the server does, with `concurrency` runs at a time."""
    from engine.core.registry import Registry
    from engine.core.runner import Runner
    from engine.store.recording import start_recorded
    from engine.store.store import RunStore
    from engine.workflow.file import from_data

    async def main() -> dict[str, float]:
        runner = Runner(Registry.discover())
        prepared = runner.prepare(from_data(hello()), base_dir=ROOT)
        with RunStore(store) as s:
            writer = s.writer()
        latencies: list[float] = []

        async def worker(n: int) -> None:
            for _ in range(n):
                t0 = time.perf_counter()
                run = start_recorded(runner, writer, prepared, {}, path=None, base_dir=ROOT,
                                     source="api")
                result = await run.wait()
                assert result.status == "completed", result
                latencies.append(time.perf_counter() - t0)

        per_worker = [total // concurrency + (i < total % concurrency)
                      for i in range(concurrency)]
        await asyncio.gather(*(worker(min(n, 10)) for n in per_worker))
        latencies.clear()
        started = time.perf_counter()
        await asyncio.gather(*(worker(n) for n in per_worker))
        elapsed = time.perf_counter() - started
        await writer.close()
        return summary(latencies, total, elapsed)

    return asyncio.run(main())


# --- 200 subscribers on a 2,000-node run ---------------------------------------------------


async def big_run(srv: Server, subscribers: int) -> dict[str, float]:
    """One run of `big`; with `subscribers` WebSocket clients reading all its events.
    The run's work time is from the delay node's end to run_completed (server clock)."""
    import aiohttp

    async with aiohttp.ClientSession(headers=srv.headers) as session:
        async with session.post(f"{srv.url}/runs", json={"workflow": "big"}) as r:
            run_id = (await r.json())["run_id"]
        delivered = [0]
        closed_at: list[float] = []
        connected_at: list[float] = []

        async def subscriber() -> None:
            async with ws_connect(f"{srv.ws}/runs/{run_id}/events", max_size=None,
                                  additional_headers=srv.headers, open_timeout=30) as ws:
                connected_at.append(time.time())
                async for msg in ws:
                    delivered[0] += len(json.loads(msg))
            closed_at.append(time.time())

        await asyncio.gather(*(subscriber() for _ in range(subscribers)))
        while True:
            async with session.get(f"{srv.url}/runs/{run_id}") as r:
                detail = await r.json()
            if detail["status"] not in ("queued", "validating", "running"):
                break
            await asyncio.sleep(0.05)
        async with session.get(f"{srv.url}/runs/{run_id}/events") as r:
            events = (await r.json())["events"]
    assert detail["status"] == "completed", detail
    from datetime import datetime

    def ts(e: dict[str, Any]) -> float:
        return datetime.fromisoformat(e["ts"].replace("Z", "+00:00")).timestamp()

    began = next(ts(e) for e in events if e["event"] == "node_completed"
                 and e["node_id"] == "wait")
    work_s = ts(events[-1]) - began
    out = {"work_s": work_s, "events": len(events)}
    if subscribers:
        if max(connected_at) > began:
            print(f"  (warning: the last subscriber connected {max(connected_at) - began:.2f} s "
                  "after the run's work began)")
        out["delivered"] = delivered[0]
        out["events_per_s"] = delivered[0] / max(1e-9, max(closed_at) - began)
        assert delivered[0] == subscribers * len(events), (delivered[0], len(events))
    return out


# --- the bare stacks ------------------------------------------------------------------------


def bare_fastapi(port: int) -> None:
    import uvicorn
    from fastapi import FastAPI

    app = FastAPI()

    @app.post("/runs", status_code=202)
    async def runs(body: RunRequest) -> dict[str, Any]:
        return {"run_id": "x", "status": "queued"}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                loop="asyncio")


def bare_aiohttp(port: int) -> None:
    from aiohttp import web

    async def runs(request: web.BaseRequest) -> web.Response:
        RunRequest.model_validate_json(await request.read())
        return web.Response(status=202, body=b'{"run_id":"x","status":"queued"}',
                            content_type="application/json")

    async def main() -> None:
        runner = web.ServerRunner(web.Server(runs, access_log=None))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
        await asyncio.Event().wait()

    asyncio.run(main())


async def drive_bare(url: str, total: int, concurrency: int) -> dict[str, float]:
    import aiohttp

    deadline = time.monotonic() + 20
    latencies: list[float] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as s:
        while True:
            try:
                async with s.post(url, json=BODY) as r:
                    assert r.status == 202, await r.text()
                    break
            except aiohttp.ClientConnectionError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)

        async def worker(n: int) -> None:
            for _ in range(n):
                t0 = time.perf_counter()
                async with s.post(url, json=BODY) as r:
                    await r.read()
                latencies.append(time.perf_counter() - t0)

        started = time.perf_counter()
        await asyncio.gather(*(worker(total // concurrency) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return summary(latencies, total // concurrency * concurrency, elapsed)


def stacks(total: int, rounds: int) -> dict[str, dict[str, float]]:
    """Both bare servers up at once, driven in turn `rounds` times; the median round."""
    ports = {name: free_port() for name in ("fastapi", "aiohttp")}
    procs = [subprocess.Popen([sys.executable, __file__, f"--{name}", str(port)])
             for name, port in ports.items()]
    try:
        found: dict[str, list[dict[str, float]]] = {name: [] for name in ports}
        for _ in range(rounds):
            for name, port in ports.items():
                found[name].append(asyncio.run(drive_bare(
                    f"http://127.0.0.1:{port}/runs", total, 32)))
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=20)
    return {name: sorted(r, key=lambda m: m["rps"])[len(r) // 2] for name, r in found.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300, help="runs per concurrency level")
    parser.add_argument("--rounds", type=int, default=3,
                        help="runs of the big workflow each way; the median is shown")
    parser.add_argument("--fastapi", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--aiohttp", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fastapi:
        bare_fastapi(args.fastapi)
        return 0
    if args.aiohttp:
        bare_aiohttp(args.aiohttp)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        print(f"POST /runs (3 nodes: constant -> template -> output) then run_completed on "
              f"the WebSocket; {args.runs} runs per level")
        print(f"{'conc':>4}  {'server runs/s':>13} {'p50 ms':>7} {'p99 ms':>7}   "
              f"{'in-process runs/s':>17} {'p50 ms':>7}   {'ratio':>5}")
        srv = Server(tmp_path)
        try:
            locals_ = {}
            for c in LEVELS:
                api = asyncio.run(drive_api(srv, args.runs, c))
                local = locals_[c] = in_process(args.runs, c, tmp_path / f"local{c}.db")
                print(f"{c:>4}  {api['rps']:>13.0f} {api['p50_ms']:>7.2f} {api['p99_ms']:>7.2f}"
                      f"   {local['rps']:>17.0f} {local['p50_ms']:>7.2f}   "
                      f"{api['rps'] / local['rps']:>5.2f}")
            print(f"\nPOST /runs alone ({args.runs * 3} runs per level, every one seen "
                  "finished in /metrics):")
            print(f"{'conc':>4}  {'server runs/s':>13} {'p50 ms':>7} {'p99 ms':>7}   "
                  f"{'ratio to in-process':>19}")
            for c in LEVELS:
                posts = asyncio.run(drive_posts(srv, args.runs * 3, c))
                print(f"{c:>4}  {posts['rps']:>13.0f} {posts['p50_ms']:>7.2f} "
                      f"{posts['p99_ms']:>7.2f}   {posts['rps'] / locals_[c]['rps']:>19.2f}")
        finally:
            srv.stop()

        srv = Server(tmp_path)
        try:
            alone = [asyncio.run(big_run(srv, 0)) for _ in range(args.rounds)]
            peak_alone = srv.peak_rss_mb()
            watched = [asyncio.run(big_run(srv, SUBSCRIBERS)) for _ in range(args.rounds)]
            peak_watched = srv.peak_rss_mb()
        finally:
            srv.stop()
        print(f"\n  each round, work ms alone: {[round(r['work_s'] * 1000) for r in alone]}, "
              f"with {SUBSCRIBERS} subscribers: {[round(r['work_s'] * 1000) for r in watched]}")
        work_alone = statistics.median(r["work_s"] for r in alone)
        work_watched = statistics.median(r["work_s"] for r in watched)
        rate = statistics.median(r["events_per_s"] for r in watched)
        ratio = work_watched / work_alone
        print(f"\n{SUBSCRIBERS} WebSocket subscribers on one {BIG_NODES}-node run "
              f"({int(alone[0]['events'])} events each; median of {args.rounds}):")
        print(f"  run wall time alone {work_alone * 1000:.0f} ms, with subscribers "
              f"{work_watched * 1000:.0f} ms: ratio {ratio:.2f} (target <= {TARGET_RATIO}: "
              f"{'met' if ratio <= TARGET_RATIO else 'NOT met'})")
        print(f"  events delivered {rate:,.0f}/s; server peak memory {peak_alone:.0f} MB "
              f"alone, {peak_watched:.0f} MB with subscribers "
              f"(x{peak_watched / peak_alone:.2f})")

    found = stacks(max(args.runs * 5, 1000), args.rounds)
    f, a = found["fastapi"], found["aiohttp"]
    print("\nbare POST endpoint (validates a RunRequest, answers 202), concurrency 32, "
          f"median of {args.rounds}:")
    print(f"  FastAPI/uvicorn {f['rps']:.0f} req/s (p50 {f['p50_ms']:.2f} ms), aiohttp "
          f"{a['rps']:.0f} req/s (p50 {a['p50_ms']:.2f} ms): ratio {f['rps'] / a['rps']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
