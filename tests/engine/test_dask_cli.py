"""`flowcli run --executor` as users run it: a real LocalCluster of worker processes
named by the workflow's settings, the flag overriding it, and the clear errors (exit 2,
before any node runs) for an unreachable scheduler or an executor it does not know."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from engine.workflow.file import dumps, load
from tests.engine.dask_processes import free_port
from tests.engine.test_cli import FLOWCLI, flowcli


def squares_flow(tmp_path: Path, **settings: object) -> Path:
    data = {
        "format": "flowui-workflow", "version": 1, "name": "squares", "settings": settings,
        "nodes": [
            {"id": "items", "type": "flow.constant", "config": {"value": [1, 2, 3, 4, 5]}},
            {"id": "each", "type": "control.for_each", "config": {"body": "b",
                                                                  "max_parallel": 2}},
            {"id": "score", "type": "code.complexity",
             "config": {"code": "def f(x):\n    if x:\n        return 1\n    return 2\n"}}],
        "connections": [{"from": "items.value", "to": "each.items"}],
        "subgraphs": {"b": {
            "nodes": [{"id": "item", "type": "flow.input", "config": {"name": "item"}},
                      {"id": "sq", "type": "transform.template",
                       "config": {"template": "{{ ports.value * ports.value }}"}},
                      {"id": "result", "type": "flow.output", "config": {"name": "result"}}],
            "connections": [{"from": "item.value", "to": "sq.value"},
                            {"from": "sq.text", "to": "result.value"}]}}}
    path = tmp_path / "squares.flow.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def events_of(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_the_settings_executor_runs_node_bodies_on_a_local_cluster(tmp_path: Path):
    flow = squares_flow(tmp_path, executor="dask:local[2]")
    r = flowcli("run", flow, "--events", "jsonl", "--no-store", timeout=90)
    assert r.returncode == 0, r.stderr
    assert "node bodies run on dask:local[2] (2 workers)" in r.stderr
    events = events_of(r.stdout)
    done = events[-1]
    assert done["event"] == "run_completed" and done["status"] == "completed"
    assert done["outputs"]["each"]["results"] == ["1", "4", "9", "16", "25"]
    assert done["outputs"]["score"]["complexity"]["max"] == 2
    where = {e["node_id"]: e.get("worker") for e in events if e["event"] == "node_completed"}
    assert where["score"].startswith("tcp://127.0.0.1:")  # a remote-capable node, remotely
    assert where["each/sq"].startswith("tcp://127.0.0.1:")  # the body, on a worker
    assert where["each"] is None and where["items"] is None  # control flow stays here

    # --executor overrides the file: the same results, no worker anywhere
    r = flowcli("run", flow, "--events", "jsonl", "--no-store", "--executor", "local")
    assert r.returncode == 0, r.stderr
    local = events_of(r.stdout)
    assert local[-1]["outputs"] == done["outputs"]
    assert not [e for e in local if "worker" in e]


def test_an_unreachable_scheduler_is_a_clear_error_before_any_node_runs(tmp_path: Path):
    flow = squares_flow(tmp_path)
    port = free_port()  # nothing listens there
    r = subprocess.run([str(FLOWCLI), "run", str(flow), "--events", "jsonl",
                        "--executor", f"dask://127.0.0.1:{port}"],
                       capture_output=True, text=True, timeout=60,
                       env={**os.environ, "FLOWUI_DASK_CONNECT_TIMEOUT_S": "1"})
    assert r.returncode == 2
    assert r.stdout == ""  # not one event: no node ran, no run was recorded
    assert f"cannot reach the Dask scheduler at dask://127.0.0.1:{port} within 1 s" in r.stderr
    assert "--executor local" in r.stderr


def test_an_unknown_executor_is_a_usage_error(tmp_path: Path):
    r = flowcli("run", squares_flow(tmp_path), "--executor", "ray://somewhere:1")
    assert r.returncode == 2 and r.stdout == ""
    assert "unknown executor 'ray://somewhere:1': use local, dask://HOST:PORT or " \
           "dask:local[N]" in r.stderr


def test_the_executor_setting_is_checked_and_saved_only_when_set(tmp_path: Path):
    flow = squares_flow(tmp_path, executor="dask:everywhere")
    r = flowcli("validate", flow)
    assert r.returncode == 2 and "executor" in r.stderr
    plain = squares_flow(tmp_path)
    assert '"executor"' not in dumps(load(plain))  # files that never set it stay as they were
    chosen = squares_flow(tmp_path, executor="dask://10.0.0.5:8786")
    assert '"executor": "dask://10.0.0.5:8786"' in dumps(load(chosen))


def test_serve_mode_runs_each_request_s_node_bodies_on_the_cluster(tmp_path: Path):
    import httpx

    from tests.engine.test_serve import served, write_flow

    flow = write_flow(tmp_path, [
        {"id": "hook", "type": "http.webhook", "config": {"path": "/score"}},
        {"id": "score", "type": "code.complexity"},
        {"id": "reply", "type": "http.respond"}],
        [("hook.body", "score.code"), ("score.complexity", "reply.body")])
    with served(tmp_path, flow, "--executor", "dask:local[1]", "--events", "jsonl") as s:
        for _ in range(2):  # one cluster for every run
            r = httpx.post(s.url + "/score", content="def f(x):\n    if x:\n        return 1\n",
                           headers={"Content-Type": "text/plain"}, timeout=30)
            assert r.status_code == 200 and r.json()["functions"] == {"f": 2}
        assert s.interrupt() == 0
    done = [e for e in s.events() if e["event"] == "node_completed" and e["node_id"] == "score"]
    assert len(done) == 2 and all(e["worker"].startswith("tcp://127.0.0.1:") for e in done)
    assert "node bodies run on dask:local[1] (1 worker)" in s.err()


def test_serve_can_send_each_triggered_run_whole_to_a_worker(tmp_path: Path):
    import httpx

    from tests.engine.test_serve import served, write_flow

    flow = write_flow(tmp_path, [
        {"id": "hook", "type": "http.webhook", "config": {"path": "/score"}},
        {"id": "log", "type": "debug.log", "config": {"format": "scoring {{ ports.message }}"}},
        {"id": "score", "type": "code.complexity"},
        {"id": "reply", "type": "http.respond"}],
        [("hook.body", "log.message"), ("log.value", "score.code"),
         ("score.complexity", "reply.body")])
    store = tmp_path / "runs.db"
    with served(tmp_path, flow, "--executor", "dask:local[1]", "--distribute", "runs",
                "--events", "jsonl", "--store", str(store)) as s:
        answers = []
        for _ in range(3):
            r = httpx.post(s.url + "/score", content="def f(x):\n    if x:\n        return 1\n",
                           headers={"Content-Type": "text/plain"}, timeout=30)
            answers.append(r)
        assert s.interrupt() == 0
    assert all(r.status_code == 200 and r.json()["functions"] == {"f": 2} for r in answers)
    events = s.events()
    run_ids = [r.headers["x-flowui-run-id"] for r in answers]
    for run_id in run_ids:  # each run's whole event stream, numbered as a local run's
        mine = [e for e in events if e["run_id"] == run_id]
        assert [e["seq"] for e in mine] == list(range(1, len(mine) + 1))
        assert mine[0]["event"] == "run_started" and mine[-1]["event"] == "run_completed"
        assert {e["node_id"] for e in mine if e["event"] == "node_completed"} == {
            "hook", "log", "score", "reply"}
        assert any(e["event"] == "node_log" and e["message"].startswith("scoring def f")
                   for e in mine)
    # the run store has them as it has local runs
    listed = flowcli("runs", "list", "--store", store, "--json")
    assert listed.returncode == 0, listed.stderr
    stored = {r["run_id"]: r for r in json.loads(listed.stdout)}
    assert all(stored[run_id]["status"] == "completed" for run_id in run_ids)
    assert all(stored[run_id]["source"] == "serve" for run_id in run_ids)
    # ...and the node events say which worker ran the run
    workers = {e.get("worker") for e in events if e["event"] == "node_completed"}
    assert len(workers) == 1 and workers.pop().startswith("tcp://127.0.0.1:")


def test_distributing_runs_needs_a_dask_executor(tmp_path: Path):
    from tests.engine.test_serve import write_flow

    flow = write_flow(tmp_path, [{"id": "hook", "type": "http.webhook",
                                  "config": {"path": "/x"}}])
    r = flowcli("serve", flow, "--distribute", "runs")
    assert r.returncode == 2 and "--distribute runs needs a Dask executor" in r.stderr


def test_a_distributed_run_s_events_arrive_while_it_runs(tmp_path: Path):
    import threading
    import time

    import httpx

    from tests.engine.test_serve import served, write_flow

    flow = write_flow(tmp_path, [
        {"id": "hook", "type": "http.webhook", "config": {"path": "/slow"}},
        {"id": "log", "type": "debug.log"},
        {"id": "wait", "type": "time.delay", "config": {"seconds": 1.5}},
        {"id": "reply", "type": "http.respond"}],
        [("hook.body", "log.message"), ("log.value", "wait.value"), ("wait.value", "reply.body")])
    with served(tmp_path, flow, "--executor", "dask:local[1]", "--distribute", "runs",
                "--events", "jsonl", "--no-store") as s:
        answer: list[httpx.Response] = []
        poster = threading.Thread(target=lambda: answer.append(httpx.post(
            s.url + "/slow", json={"n": 1}, timeout=30)))
        poster.start()
        deadline = time.monotonic() + 20
        while not any(e["event"] == "node_started" and e["node_id"] == "wait"
                      for e in s.events()):
            assert time.monotonic() < deadline, "no event came back while the run ran"
            time.sleep(0.02)
        assert not answer  # the run is still going: its events came in a batch before
        poster.join(30)
        assert s.interrupt() == 0
    assert answer[0].status_code == 200 and answer[0].json() == {"n": 1}
