"""The editor runs a workflow where its `settings.executor` says, as `flowcli run` does:
node bodies on a real Dask LocalCluster (worker processes), or a clear failure when the
scheduler cannot be reached."""

from __future__ import annotations

import asyncio

import pytest

from engine.store.store import RunStore
from tests.flowui.test_run_live import item_states, open_file, run_to_end, write

pytest.importorskip("distributed", reason="the dask extra (installed by make test)")

DELAYS = [{"id": "c", "type": "flow.constant", "config": {"value": 7}},
          {"id": "d", "type": "time.delay", "config": {"seconds": 0.01}}]


def test_node_bodies_run_on_the_cluster_the_file_names(qtbot, make_window, qloop, tmp_path):
    window = make_window()
    open_file(window, write(tmp_path, "dask", DELAYS, [("c.value", "d.value")],
                            settings={"executor": "dask:local[1]"}))
    try:
        session = run_to_end(qtbot, window, timeout=60000)
        assert session.status == "completed", session.result
        assert item_states(window) == {"c": "completed", "d": "completed"}
        assert window.runs.clusters.connected == ["dask:local[1]"]
        with RunStore(window.runs.store_path) as store:
            events = store.events(session.run_id)
        done = [e for e in events if e.name == "node_completed" and e.node_id == "d"]
        assert done and done[0].worker, done  # the body ran on a worker
        session = run_to_end(qtbot, window, timeout=60000)  # the cluster is kept
        assert session.status in ("completed",) and len(window.runs.clusters.connected) == 1
    finally:
        closing = asyncio.ensure_future(window.runs.clusters.close())
        qtbot.waitUntil(closing.done, timeout=60000)
        closing.result()
        # Dask's own tasks wind down on the loop's next turns
        qtbot.waitUntil(lambda: not [t for t in asyncio.all_tasks(qloop) if not t.done()],
                        timeout=30000)


def test_an_unreachable_scheduler_fails_the_run_clearly(qtbot, make_window, qloop, tmp_path,
                                                        monkeypatch):
    monkeypatch.setenv("FLOWUI_DASK_CONNECT_TIMEOUT_S", "1")
    window = make_window()
    open_file(window, write(tmp_path, "nowhere", DELAYS, [("c.value", "d.value")],
                            settings={"executor": "dask://127.0.0.1:9"}))
    session = run_to_end(qtbot, window, timeout=30000)
    assert session.status == "failed"
    assert "could not start" in window.runs.label.text() or \
        "127.0.0.1:9" in str(session.result)
    assert "127.0.0.1:9" in session.result["error"]["message"]
    assert not window.runs.running and window.runs.clusters.connected == []
