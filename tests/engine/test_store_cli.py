"""The run store end to end, as users meet it: `flowcli run` and `flowcli serve` in real
subprocesses writing one store, killed with SIGKILL, read with `flowcli runs`.

Subprocesses run this tree's code (`python -m engine.cli` with PYTHONPATH), whatever
the installed `flowcli` points at."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from engine.store.store import RunStore

ROOT = Path(__file__).parents[2]
LOSS_WINDOW_S = 0.1  # docs/notes.md: what a SIGKILL may lose, measured well below this

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="sends SIGKILL")


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def cli(*args: object, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env=env())


def popen(*args: object, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "engine.cli", *map(str, args)],
                            env=env(), text=True, **kw)


def write_flow(path: Path, nodes: list, connections: list = (), name: str = "t", **extra):
    path.write_text(json.dumps({
        "format": "flowui-workflow", "version": 1, "name": name, "nodes": nodes,
        "connections": [{"from": a, "to": b} for a, b in connections], **extra}))
    return path


def delay_chain(path: Path, n: int, seconds: float) -> Path:
    nodes = [{"id": f"d{i}", "type": "time.delay", "config": {"seconds": seconds}}
             for i in range(n)]
    nodes[0]["config"]["value"] = 1
    return write_flow(path, nodes, [(f"d{i}.value", f"d{i + 1}.value") for i in range(n - 1)],
                      name="chain")


def ts(event: dict) -> float:
    return datetime.fromisoformat(event["ts"].replace("Z", "+00:00")).timestamp()


def test_sigkill_mid_run_keeps_every_event_finished_before_it(tmp_path):
    store = tmp_path / "runs.db"
    flow = delay_chain(tmp_path / "long.flow.json", 40, 0.03)
    proc = popen("run", flow, "--events", "jsonl", "--store", store, stdout=subprocess.PIPE,
                 stderr=subprocess.DEVNULL)
    seen = []
    for line in proc.stdout:  # the events as they happen
        seen.append(json.loads(line))
        if sum(e["event"] == "node_completed" for e in seen) == 15:
            killed_at = time.time()
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(10)
    with RunStore(store) as s:
        run_id = seen[0]["run_id"]
        stored = [e.to_dict() for e in s.events(run_id)]
        summary = s.get(run_id).summary
    must = [e for e in seen if ts(e) < killed_at - LOSS_WINDOW_S]
    assert must and stored[:len(must)] == must
    assert summary.status == "interrupted" and "running" in summary.times


def test_eight_concurrent_runs_and_a_reader_share_one_store(tmp_path):
    store = tmp_path / "runs.db"
    flow = delay_chain(tmp_path / "c.flow.json", 5, 0.01)
    script = ("import sys, time\nfrom engine.store.store import RunStore\n"
              "s = RunStore(sys.argv[1]); end = time.time() + 4\n"
              "while time.time() < end:\n    for r in s.list_runs().runs: s.events(r.id)\n")
    reader = subprocess.Popen([sys.executable, "-c", script, str(store)], env=env(),
                              stderr=subprocess.PIPE, text=True)
    runs = [popen("run", flow, "--events", "none", "--store", store, stdout=subprocess.PIPE,
                  stderr=subprocess.PIPE) for _ in range(8)]
    results = [p.communicate(timeout=60) for p in runs]
    assert all(p.returncode == 0 for p in runs), results
    assert not any("locked" in err or "error" in err for _, err in results)
    ids = {json.loads(out)["run_id"] for out, _ in results}
    _, reader_err = reader.communicate(timeout=30)
    assert reader.returncode == 0, reader_err
    with RunStore(store) as s:
        page = s.list_runs(limit=100)
        assert {r.id for r in page.runs} == ids
        assert {r.status for r in page.runs} == {"completed"}
        assert all(len(s.events(i)) == 12 for i in ids)


def test_runs_commands(tmp_path):
    store = tmp_path / "runs.db"
    ok = write_flow(tmp_path / "ok.flow.json", [
        {"id": "a", "type": "flow.constant", "config": {"value": "{{ inputs.x }}"}},
        {"id": "log", "type": "debug.log", "config": {}}], [("a.value", "log.message")],
        name="ok", inputs={"x": {"type": "string"}})
    bad = write_flow(tmp_path / "bad.flow.json", [
        {"id": "parse", "type": "transform.json_parse", "config": {"json": "{nope"}}],
        name="bad")
    first = json.loads(cli("run", ok, "--input", "x=one", "--store", store,
                           "--events", "none").stdout)["run_id"]
    failed = cli("run", bad, "--store", store, "--events", "none")
    assert failed.returncode == 1
    assert cli("run", ok, "--input", "x=two", "--no-store", "--store", store).returncode == 0

    listed = json.loads(cli("runs", "list", "--json", "--store", store).stdout)
    assert [r["workflow"] for r in listed] == ["bad", "ok"]  # newest first; no --no-store run
    assert listed[0]["status"] == "failed" and listed[0]["failed_node"] == "parse"
    only = json.loads(cli("runs", "list", "--json", "--status", "failed", "--since", "1h",
                          "--store", store).stdout)
    assert [r["workflow"] for r in only] == ["bad"]
    assert json.loads(cli("runs", "list", "--json", "--workflow", ok, "--store",
                          store).stdout)[0]["run_id"] == first
    assert json.loads(cli("runs", "list", "--json", "--since", "2999-01-01", "--store",
                          store).stdout) == []
    table = cli("runs", "list", "--store", store).stdout
    assert table.startswith("RUN ID") and first in table
    bad_since = cli("runs", "list", "--since", "yesterday", "--store", store)
    assert bad_since.returncode == 2 and "30d" in bad_since.stderr

    shown = cli("runs", "show", listed[0]["run_id"][:-1], "--store", store)
    assert shown.returncode == 0, shown.stderr
    assert "failed" in shown.stdout and "(node parse)" in shown.stdout
    assert "parse" in shown.stdout and "NODE" in shown.stdout
    unknown = cli("runs", "show", "zzzz", "--store", store)
    assert unknown.returncode == 2 and "no run 'zzzz'" in unknown.stderr
    ambiguous = cli("runs", "show", first[:2], "--store", store)
    assert ambiguous.returncode == 2 and "ambiguous" in ambiguous.stderr
    assert "Traceback" not in unknown.stderr + ambiguous.stderr

    out = tmp_path / "export"
    assert cli("runs", "export", first, out, "--store", store).returncode == 0
    assert sorted(p.name for p in out.iterdir()) == ["logs.txt", "metadata.json",
                                                     "outputs.json", "trace.json"]
    trace = json.loads((out / "trace.json").read_text())
    assert trace[0]["event"] == "run_started" and trace[-1]["event"] == "run_completed"
    assert [e["seq"] for e in trace] == list(range(1, len(trace) + 1))
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["inputs"] == {"x": "one"} and meta["status"] == "completed"
    assert set(meta["times"]) == {"queued", "validating", "running", "finished"}
    assert meta["workflow"]["snapshot"]["name"] == "ok" and meta["versions"]["python"]
    outputs = json.loads((out / "outputs.json").read_text())
    assert {n["node_id"]: n["outputs"] for n in outputs["nodes"]}["a"] == {"value": "one"}
    assert "INFO    log: one" in (out / "logs.txt").read_text()

    retried = cli("runs", "retry", first[:-1], "--events", "none", "--store", store)
    assert retried.returncode == 0, retried.stderr
    again = json.loads(cli("runs", "show", json.loads(retried.stdout)["run_id"], "--json",
                           "--store", store).stdout)
    assert again["inputs"] == {"x": "one"} and again["retry_of"] == first

    assert cli("runs", "delete", first, "--store", store).returncode == 0
    assert cli("runs", "show", first, "--store", store).returncode == 2
    pruned = cli("runs", "prune", "--keep", "1", "--store", store)
    assert pruned.returncode == 0 and "deleted 1 run" in pruned.stderr
    assert len(json.loads(cli("runs", "list", "--json", "--store", store).stdout)) == 1
    assert cli("runs", "prune", "--store", store).returncode == 2


def test_damaged_and_newer_stores_on_the_command_line(tmp_path):
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(b"\x00garbage" * 500)
    r = cli("runs", "list", "--store", damaged)
    assert r.returncode == 0 and "damaged" in r.stderr and "corrupt-" in r.stderr
    assert "Traceback" not in r.stderr
    newer = tmp_path / "newer.db"
    db = sqlite3.connect(newer)
    db.execute("PRAGMA user_version = 999")
    db.close()
    r = cli("runs", "list", "--store", newer)
    assert r.returncode == 2 and "newer FlowUI" in r.stderr and str(newer) in r.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_requests_are_stored_before_they_run_and_survive_sigkill(tmp_path):
    store = tmp_path / "runs.db"
    flow = write_flow(tmp_path / "hook.flow.json", [
        {"id": "hook", "type": "http.webhook", "config": {"path": "/in"}},
        {"id": "wait", "type": "time.delay", "config": {"seconds": "{{ ports.value.wait }}"}},
        {"id": "reply", "type": "http.respond"}],
        [("hook.body", "wait.value"), ("wait.value", "reply.body")], name="hooked")
    port = free_port()
    proc = popen("serve", flow, "--port", port, "--max-concurrent-runs", "1", "--store", store,
                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
        url = f"http://127.0.0.1:{port}/in"
        fast = httpx.post(url, json={"wait": 0}, headers={"Authorization": "Bearer tok-12345"})
        assert fast.status_code == 200

        def post(wait: float) -> None:
            with contextlib.suppress(httpx.HTTPError):  # the server is killed under it
                httpx.post(url, json={"wait": wait}, timeout=30,
                           headers={"Authorization": "Bearer tok-12345"})

        threads = [threading.Thread(target=post, args=(w,), daemon=True) for w in (30, 0, 0)]
        for t in threads:
            t.start()
            time.sleep(0.2)  # in this order: the 30 s run holds the only slot
        with RunStore(store) as s:
            deadline = time.monotonic() + 10
            while len(s.list_runs().runs) < 4:  # stored while one runs and two wait
                assert time.monotonic() < deadline, "accepted requests not stored"
                time.sleep(0.05)
            statuses = sorted(r.status for r in s.list_runs().runs)
        assert statuses == ["completed", "queued", "queued", "running"]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    dead = json.loads(cli("runs", "list", "--status", "dead_letter", "--json", "--store",
                          store).stdout)
    assert len(dead) == 3 and {d["status"] for d in dead} == {"interrupted"}
    assert all(d["dead_letter"] and d["workflow"] == "hooked" for d in dead)
    with RunStore(store) as s:
        payloads = {r["run_id"]: s.get(r["run_id"]).trigger for r in dead}
    assert all(p["headers"]["authorization"] == "***" for p in payloads.values())
    quick = next(i for i, p in payloads.items() if p["body"] == {"wait": 0})
    retried = cli("runs", "retry", quick, "--events", "none", "--store", store)
    assert retried.returncode == 0, retried.stderr
    assert json.loads(retried.stdout)["status"] == "completed"
    assert b"tok-12345" not in store.read_bytes()
