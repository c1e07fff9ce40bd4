"""The Runs panel on a real run store (a SQLite file in the test's data folder): runs
from the editor and from `flowcli` in another process appear as they finish, a
stored run opens on the canvas with every node's state and values, the panel is
the same after the app restarts, runs compare, export and delete."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox

from tests.engine.toy import toy_registry
from tests.flowui.test_run_live import item_states, open_file, run_to_end, write

NODES = [{"id": "src", "type": "toy.source", "config": {"value": 1}, "position": [0, 0]},
         {"id": "a", "type": "toy.add", "config": {"b": 10}, "position": [300, 0]}]
WIRES = [("src.value", "a.a")]
ROOT = Path(__file__).parents[2]


def listed(window) -> list[str]:
    return [r.id for r in window.runs_panel.model.runs]


def test_a_run_in_the_editor_is_listed_opened_and_survives_a_restart(
        qtbot, make_window, qloop, tmp_path):
    window = make_window(toy_registry())
    open_file(window, write(tmp_path, "stored", NODES, WIRES))
    first = run_to_end(qtbot, window)
    qtbot.waitUntil(lambda: listed(window) == [first.run_id], timeout=3000)
    changed = [dict(n, config={"value": 5}) if n["id"] == "src" else n for n in NODES]
    (tmp_path / "stored.flow.json").write_text(json.dumps({
        "format": "flowui-workflow", "version": 1, "name": "stored", "nodes": changed,
        "connections": [{"from": a, "to": b} for a, b in WIRES]}))
    window.files.open_path(tmp_path / "stored.flow.json", ask=False)
    second = run_to_end(qtbot, window)
    qtbot.waitUntil(lambda: listed(window) == [second.run_id, first.run_id], timeout=3000)
    window.runs.clear()
    # Opened: the canvas shows the stored run, values and all, read-only.
    assert window.run_history.open_run(first.run_id)
    assert item_states(window) == {"src": "completed", "a": "completed"}
    assert window.runs.session.nodes["a"].outputs.value == {"sum": 11.0}
    assert "1 node changed since" in window.runs.label.text()
    assert window.scene.nodes["src"].edited and not window.scene.nodes["a"].edited
    assert window.replay_bar.isVisible() and window.stack.isClean()
    # The replay bar sets the canvas to the start: nothing had run yet.
    window.replay_bar.seek_ms(0)
    assert item_states(window) == {"src": "queued", "a": "queued"}
    # A new window on the same store (the app restarted) lists the same runs.
    again = make_window(toy_registry())
    open_file(again, tmp_path / "stored.flow.json")
    qtbot.waitUntil(lambda: listed(again) == [second.run_id, first.run_id], timeout=3000)


def test_runs_from_flowcli_elsewhere_appear_and_compare_export_delete_work(
        qtbot, make_window, qloop, tmp_path, monkeypatch):
    window = make_window()
    path = tmp_path / "cli.flow.json"
    nodes = [{"id": "c", "type": "flow.constant", "config": {"value": "x"}},
             {"id": "log", "type": "debug.log", "config": {}}]
    path.write_text(json.dumps({"format": "flowui-workflow", "version": 1, "name": "cli",
                                "nodes": nodes, "connections": [
                                    {"from": "c.value", "to": "log.message"}]}))
    open_file(window, path)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for value in ("x", "y"):
        nodes[0]["config"]["value"] = value
        path.write_text(json.dumps({"format": "flowui-workflow", "version": 1, "name": "cli",
                                    "nodes": nodes, "connections": [
                                        {"from": "c.value", "to": "log.message"}]}))
        done = subprocess.run([sys.executable, "-m", "engine.cli", "run", str(path),
                               "--events", "none"], env=env, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr
    qtbot.waitUntil(lambda: len(listed(window)) == 2, timeout=5000)  # by polling the store
    newer, older = listed(window)
    window.run_history.compare(older, newer)
    view = window.run_history.compare_view
    rows = {view.tree.topLevelItem(i).text(0) for i in range(view.tree.topLevelItemCount())}
    assert rows == {"c", "log"}  # the constant's value changed, and what was logged
    out = tmp_path / "exported"
    out.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *a, **k: str(out)))
    window.run_history.export(newer)
    files = sorted(p.name for p in (out / newer).iterdir())
    assert files == ["logs.txt", "metadata.json", "outputs.json", "trace.json"]
    window.answers = [QMessageBox.StandardButton.Yes]
    window.runs_panel._select([older])
    window.runs_panel.act("delete")
    assert listed(window) == [newer]
