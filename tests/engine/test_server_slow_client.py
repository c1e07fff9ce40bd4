"""A WebSocket client that stops reading is disconnected with close code 4008, and the
run it watched takes as long as without it (a real flowserver process)."""

from __future__ import annotations

import json
import socket
import sys
import time
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.engine.flowserver import flow, start

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")


def burst(n: int = 2000) -> dict:
    """A 1 s delay (the client connects meanwhile), then n fast nodes: ~2n events."""
    nodes = [{"id": "start", "type": "flow.constant", "config": {"value": 0}},
             {"id": "wait", "type": "time.delay", "config": {"seconds": 1.0}}]
    nodes += [{"id": f"t{i}", "type": "transform.template", "config": {"template": "{{ value }}"}}
              for i in range(n)]
    links = [("start.value", "wait.value"), ("wait.value", "t0.value")]
    links += [(f"t{i}.text", f"t{i + 1}.value") for i in range(n - 1)]
    return flow("burst", nodes, links)


def test_slow_websocket_client_is_disconnected_and_the_run_is_not_slowed(
        tmp_path: Path) -> None:
    srv = start(tmp_path, "--max-client-lag", "200", "--client-send-timeout", "1",
                env={"FLOWUI_DATA_DIR": str(tmp_path / "data")})
    try:
        srv.put_workflow("burst", burst())
        with srv.client() as c:
            alone = c.post("/runs", json={"workflow": "burst"}).json()["run_id"]
        base = srv.wait_run(alone)
        assert base["status"] == "completed", base
        with srv.client() as c:
            watched = c.post("/runs", json={"workflow": "burst"}).json()["run_id"]
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # stops reading soon
        host, port = srv.url.removeprefix("http://").split(":")
        sock.connect((host, int(port)))
        with connect(f"{srv.ws_url}/runs/{watched}/events", sock=sock,
                     additional_headers=srv.auth, max_size=None) as ws:
            detail = srv.wait_run(watched)  # never reading meanwhile
            assert detail["status"] == "completed"
            time.sleep(1.5)  # past the send timeout
            got: list[dict] = []
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    got += json.loads(ws.recv(timeout=10))
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4008, closed.value
        assert "reconnect with after_seq" in closed.value.rcvd.reason
        assert not got or got[-1]["event"] != "run_completed"  # cut off before the end
        # The run did not wait for the client: its time is that of the run alone.
        assert detail["duration_ms"] < base["duration_ms"] * 1.5 + 300, (detail, base)
        # A client that reconnects from where it was cut gets the rest from the store.
        after = got[-1]["seq"] if got else 0
        with connect(f"{srv.ws_url}/runs/{watched}/events?after_seq={after}",
                     additional_headers=srv.auth, max_size=None) as ws:
            rest: list[dict] = []
            with pytest.raises(ConnectionClosed):
                while True:
                    rest += json.loads(ws.recv(timeout=10))
        seqs = [e["seq"] for e in got + rest]
        assert seqs == list(range(1, len(seqs) + 1)) and rest[-1]["event"] == "run_completed"
    finally:
        assert srv.stop() == 0, srv.err()
