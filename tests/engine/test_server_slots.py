"""flowserver's run slots, queue and stop, with a real server process: runs beyond
--max-concurrent-runs wait (and can be cancelled while they wait), beyond
--queue-size they are refused with 503, and a stop lets runs end within the grace."""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.engine.flowserver import delays, start

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")


def test_queue_503_and_cancelling_a_waiting_run(tmp_path: Path) -> None:
    srv = start(tmp_path, "--max-concurrent-runs", "1", "--queue-size", "1",
                env={"FLOWUI_DATA_DIR": str(tmp_path / "data")})
    try:
        srv.put_workflow("slow", delays(20, 0.05))
        with srv.client() as c:
            running = c.post("/runs", json={"workflow": "slow"}).json()["run_id"]
            waiting = c.post("/runs", json={"workflow": "slow"}).json()["run_id"]
            refused = c.post("/runs", json={"workflow": "slow"})
            assert refused.status_code == 503, refused.text
            assert refused.json()["error"]["type"] == "busy"
            assert refused.headers["retry-after"] == "1"
            assert "flowui_queue_depth 1" in c.get("/metrics").text
            assert c.get(f"/runs/{waiting}").json()["status"] == "queued"
            assert c.post(f"/runs/{waiting}/cancel").status_code == 202
        with connect(f"{srv.ws_url}/runs/{waiting}/events", additional_headers=srv.auth) as ws:
            got: list[dict] = []
            with pytest.raises(ConnectionClosed):
                while True:
                    got += json.loads(ws.recv(timeout=10))
        assert [e["event"] for e in got] == ["run_completed"]
        assert got[0]["status"] == "cancelled"
        assert srv.wait_run(waiting)["status"] == "cancelled"
        assert srv.wait_run(running)["status"] == "completed"  # the slot's run went on
        with srv.client() as c:  # the queue has room again
            again = c.post("/runs", json={"workflow": "slow"})
            assert again.status_code == 202
        assert srv.wait_run(again.json()["run_id"])["status"] == "completed"
    finally:
        assert srv.stop() == 0, srv.err()


def test_stop_lets_runs_end_and_records_them(tmp_path: Path) -> None:
    srv = start(tmp_path, env={"FLOWUI_DATA_DIR": str(tmp_path / "data")})
    srv.put_workflow("short", delays(5, 0.1))  # 0.5 s, within the 2 s grace
    srv.put_workflow("long", delays(100, 0.1))  # 10 s: cancelled after the grace
    with srv.client() as c:
        short = c.post("/runs", json={"workflow": "short"}).json()["run_id"]
        long = c.post("/runs", json={"workflow": "long"}).json()["run_id"]
    time.sleep(0.2)
    started = time.monotonic()
    assert srv.stop() == 0, srv.err()
    assert time.monotonic() - started < 8  # grace (2 s) + winding down, not the 10 s run
    with sqlite3.connect(srv.store) as db:
        status = dict(db.execute("SELECT id, status FROM runs").fetchall())
    assert status[short] == "completed"
    assert status[long] == "cancelled"


def test_an_accepted_run_survives_a_sigkill(tmp_path: Path) -> None:
    """A 202 is kept: the run is in the store's journal before the answer, and reads as
    interrupted once its server is gone (not lost, not `running` for ever)."""
    from engine.store.store import RunStore

    srv = start(tmp_path, env={"FLOWUI_DATA_DIR": str(tmp_path / "data")})
    srv.put_workflow("long", delays(100, 0.1))
    with srv.client() as c:
        run_id = c.post("/runs", json={"workflow": "long"}).json()["run_id"]
    srv.proc.kill()  # at once: no commit after the answer
    srv.proc.wait(10)
    with RunStore(srv.store) as store:
        assert store.get(run_id).summary.status == "interrupted"
