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
