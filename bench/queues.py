"""Queue benchmark: items per second through the run store's SQLite queue, end to end.

    .venv/bin/python bench/queues.py               # 500 items
    .venv/bin/python bench/queues.py --items 2000

A `flowcli serve` process consumes a queue.trigger -> transform.template workflow
(8 runs at once, each recorded in the run store); this process puts N items on the
queue and times until every one is acknowledged. The baseline, measured in the same
run on the same kind of file: the queue alone, put + take + ack of N items in one
thread, no runs. The ratio says what a run per item costs on top of the queue.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FLOWCLI = Path(sys.executable).with_name("flowcli")

from engine.server.queues import open_queue  # noqa: E402

WORKFLOW = {
    "format": "flowui-workflow", "version": 1, "name": "queue bench",
    "settings": {"max_concurrent_runs": 8},
    "nodes": [{"id": "q", "type": "queue.trigger", "config": {"queue": "bench"}},
              {"id": "t", "type": "transform.template",
               "config": {"template": "got {{ ports.value.n }}"}}],
    "connections": [{"from": "q.value", "to": "t.value"}]}


def queue_alone(folder: Path, n: int) -> float:
    q = open_queue(None, folder / "alone.db")
    started = time.perf_counter()
    for i in range(n):
        q.put("bench", {"n": i})
    for _ in range(n):
        item = q.take("bench", visibility_s=60, max_deliveries=5)
        assert item is not None
        q.ack(item)
    elapsed = time.perf_counter() - started
    q.close()
    return n / elapsed


def end_to_end(folder: Path, n: int) -> float:
    flow = folder / "bench.flow.json"
    flow.write_text(json.dumps(WORKFLOW))
    store = folder / "runs.db"
    err = folder / "serve.err"
    q = open_queue(None, store)
    with err.open("w") as e:
        proc = subprocess.Popen([str(FLOWCLI), "serve", str(flow), "--store", str(store)],
                                stdout=subprocess.DEVNULL, stderr=e)
    try:
        deadline = time.monotonic() + 60
        while "consuming queue" not in err.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, err.read_text()
            time.sleep(0.05)
        started = time.perf_counter()
        for i in range(n):
            q.put("bench", {"n": i})
        while True:
            c = q.counts("bench")
            if c["ready"] == 0 and c["leased"] == 0:
                break
            assert time.monotonic() < deadline + 600, c
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
        q.close()
    done = err.read_text().count(" completed acked ")
    assert done == n, f"{done} of {n} acked: {err.read_text()[-2000:]}"
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        alone = queue_alone(folder, args.items)
        e2e = end_to_end(folder, args.items)
    print(f"queue alone (put+take+ack, SQLite):  {alone:8.0f} items/s  (baseline)")
    print(f"end to end (flowcli serve, a run each): {e2e:6.0f} items/s  "
          f"ratio {e2e / alone:.2f} x the queue alone")


if __name__ == "__main__":
    main()
