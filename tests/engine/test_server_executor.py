"""`flowserver --executor`: the API's runs with their node bodies on a Dask cluster (a
real LocalCluster of worker processes started by the server), and an unreachable
scheduler refused before the server listens."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.engine.flowserver import FLOWSERVER, delays, start

pytest.importorskip("distributed", reason="the dask extra (installed by make test)")


def test_runs_go_to_the_workers(tmp_path: Path) -> None:
    server = start(tmp_path, "--executor", "dask:local[1]")
    try:
        with server.client() as c:
            answer = c.post("/runs", json={"workflow": delays(2, 0.01)})
            assert answer.status_code == 202, answer.text
            run_id = answer.json()["run_id"]
            detail = server.wait_run(run_id, timeout=60)
            assert detail["status"] == "completed", detail
            events = c.get(f"/runs/{run_id}/events").json()["events"]
        done = [e for e in events if e["event"] == "node_completed"
                and e["node_id"].startswith("d")]
        assert len(done) == 2 and all(e.get("worker") for e in done), done
        assert "node bodies run on dask:local[1]" in server.err()
    finally:
        assert server.stop() == 0


def test_an_unreachable_scheduler_is_refused_before_listening(tmp_path: Path) -> None:
    p = subprocess.run([str(FLOWSERVER), "--workflows", str(tmp_path), "--port", "0",
                        "--no-token", "--store", str(tmp_path / "runs.db"),
                        "--executor", "dask://127.0.0.1:9"], capture_output=True, text=True,
                       timeout=60, env={"FLOWUI_DASK_CONNECT_TIMEOUT_S": "2",
                                        **__import__("os").environ})
    assert p.returncode == 2, p.stderr
    assert "127.0.0.1:9" in p.stderr and "listening" not in p.stderr
    assert "Traceback" not in p.stderr
