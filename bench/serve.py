"""Serve-mode benchmark: the webhook echo example under `flowcli serve` against a bare
aiohttp echo endpoint, both in subprocesses, driven over loopback from this process.

    .venv/bin/python bench/serve.py                 # 2,000 requests per level
    .venv/bin/python bench/serve.py --requests 500  # quicker

For concurrency levels 1, 8 and 32 it prints requests/s and p50/p99 latency of each
server and the ratio of their throughputs (target: serve >= 0.5 x bare), the median
of 3 rounds that alternate between the two. The client shares the machine's cores
with the server under test: read the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "resources" / "examples" / "webhook_echo.flow.json"
FLOWCLI = Path(sys.executable).with_name("flowcli")
LEVELS = (1, 8, 32)
TARGET_RATIO = 0.5
PAYLOAD = {"event": "push", "repository": {"name": "flowui", "stars": 42},
           "commits": [{"id": i, "message": f"change {i}"} for i in range(5)]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# --- the bare endpoint: what the HTTP stack alone costs ---------------------------------


def bare_server(port: int) -> None:
    """Parses the JSON body and answers it as JSON: the HTTP work serve mode does too."""
    from aiohttp import web

    async def echo(request: web.BaseRequest) -> web.Response:
        body = json.loads(await request.read())
        return web.Response(body=json.dumps(body).encode(), content_type="application/json")

    async def main() -> None:
        runner = web.ServerRunner(web.Server(echo, access_log=None))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
        await asyncio.Event().wait()

    asyncio.run(main())


# --- the client ---------------------------------------------------------------------------


async def wait_ready(url: str, timeout_s: float = 20.0) -> None:
    import aiohttp

    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.post(url, json=PAYLOAD) as r:
                    await r.read()
                    return
            except aiohttp.ClientConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{url} did not come up within {timeout_s} s") from None
                await asyncio.sleep(0.05)


async def drive(url: str, total: int, concurrency: int) -> dict[str, float]:
    """`total` POSTs by `concurrency` workers over keep-alive connections."""
    import aiohttp

    data = json.dumps(PAYLOAD).encode()
    headers = {"Content-Type": "application/json"}
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    per_worker = [total // concurrency + (i < total % concurrency) for i in range(concurrency)]
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker(n: int) -> None:
            for _ in range(n):
                t0 = time.perf_counter()
                async with session.post(url, data=data, headers=headers) as r:
                    body = await r.read()
                latencies.append(time.perf_counter() - t0)
                statuses[r.status] = statuses.get(r.status, 0) + 1
                if r.status == 200 and json.loads(body) != PAYLOAD:
                    raise AssertionError(f"echo answered {body[:200]!r}")

        await asyncio.gather(*(worker(min(n, 50)) for n in per_worker))  # warm-up
        latencies.clear()
        statuses.clear()
        started = time.perf_counter()
        await asyncio.gather(*(worker(n) for n in per_worker))
        elapsed = time.perf_counter() - started
    if set(statuses) != {200}:
        raise AssertionError(f"not every answer was 200: {statuses}")
    latencies.sort()
    return {"rps": total / elapsed, "p50_ms": statistics.median(latencies) * 1000,
            "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000}


def measure(servers: dict[str, tuple[list[str], str]], total: int, rounds: int,
            logs: Path) -> dict[str, dict[int, dict[str, float]]]:
    """Both servers up at once, driven in turn at each level, `rounds` times: noise from
    other work on the machine hits both alike. Per level, the median round by req/s."""
    procs = []
    try:
        for name, (cmd, _) in servers.items():
            with open(logs / f"{name}.log", "w") as err:
                procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err))
        for _, url in servers.values():
            asyncio.run(wait_ready(url))
        runs: dict[str, dict[int, list[dict[str, float]]]] = {
            name: {c: [] for c in LEVELS} for name in servers}
        for _ in range(rounds):
            for c in LEVELS:
                for name, (_, url) in servers.items():
                    runs[name][c].append(asyncio.run(drive(url, total, c)))
        return {name: {c: sorted(r, key=lambda m: m["rps"])[len(r) // 2]
                       for c, r in levels.items()} for name, levels in runs.items()}
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per level")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the median is shown")
    parser.add_argument("--bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        bare_server(args.bare)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        bare_port, serve_port = free_port(), free_port()
        # Runs stay at the example's max_concurrent_runs; the queue holds the rest of
        # the 32 clients, so none is refused.
        results = measure({
            "bare": ([sys.executable, __file__, "--bare", str(bare_port)],
                     f"http://127.0.0.1:{bare_port}/echo"),
            "serve": ([str(FLOWCLI), "serve", str(EXAMPLE), "--port", str(serve_port),
                       "--queue-size", "64", "--dead-letter", str(Path(tmp, "dl"))],
                      f"http://127.0.0.1:{serve_port}/echo")}, args.requests, args.rounds,
            Path(tmp))
    bare, served = results["bare"], results["serve"]
    print(f"{args.requests} POSTs per level and round, JSON echo over loopback, "
          f"median of {args.rounds} rounds\n")
    print(f"{'conc':>4}  {'bare req/s':>10} {'p50 ms':>7} {'p99 ms':>7}   "
          f"{'serve req/s':>11} {'p50 ms':>7} {'p99 ms':>7}   {'ratio':>5}")
    worst = float("inf")
    for c in LEVELS:
        b, s = bare[c], served[c]
        ratio = s["rps"] / b["rps"]
        worst = min(worst, ratio)
        print(f"{c:>4}  {b['rps']:>10.0f} {b['p50_ms']:>7.2f} {b['p99_ms']:>7.2f}   "
              f"{s['rps']:>11.0f} {s['p50_ms']:>7.2f} {s['p99_ms']:>7.2f}   {ratio:>5.2f}")
    verdict = "met" if worst >= TARGET_RATIO else "MISSED"
    print(f"\nworst ratio {worst:.2f} (target >= {TARGET_RATIO}): {verdict}")
    return 0 if worst >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
