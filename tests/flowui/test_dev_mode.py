"""Development mode in the real window: Run This Node / Up to Here / From Here with the
upstream from the cache, reuse in whole runs, stale markers with their reasons, pins.

A node that executed shows `completed`; one served from the cache or its pin shows
`cached` (it never started): the states say exactly which nodes ran.
"""

from __future__ import annotations

import json
from pathlib import Path

from engine.workflow import file as workflow_file
from flowui.run.pin_dialog import PinDialog
from tests.engine.toy import toy_registry
from tests.flowui.test_run_live import item_states, open_file, select, write

NODES = [
    {"id": "src", "type": "toy.source", "config": {"value": 10}, "position": [0, 0]},
    {"id": "a", "type": "toy.add", "config": {"b": 1}, "position": [260, 0]},
    {"id": "b", "type": "toy.add", "config": {"b": 2}, "position": [520, 0]},
    {"id": "side", "type": "toy.source", "config": {"value": 5}, "position": [0, 200]},
]
WIRES = [("src.value", "a.a"), ("a.sum", "b.a")]


def _window(make_window, tmp_path: Path, name: str = "dev"):
    window = make_window(toy_registry())
    path = write(tmp_path, name, NODES, WIRES)
    open_file(window, path)
    return window, path


def _run(qtbot, window, action: str | None = None, timeout: int = 15000):
    before = window.runs.session
    if action is None:
        window.runs.request_run()
    else:
        window.dev.actions[action].trigger()
    qtbot.waitUntil(lambda: window.runs.session is not before and not window.runs.running,
                    timeout=timeout)
    return window.runs.session


def _settle_markers(qtbot, window) -> None:
    window.dev.recompute()
    qtbot.waitUntil(lambda: not window.dev.computing, timeout=5000)


def test_run_this_node_runs_missing_upstream_first_then_only_the_node(
        qtbot, make_window, qloop, tmp_path):
    window, _ = _window(make_window, tmp_path)
    select(qtbot, window, ["b"])
    session = _run(qtbot, window, "run_node")
    assert session.status == "completed"
    assert item_states(window) == {"src": "completed", "a": "completed", "b": "completed",
                                   "side": None}  # side is not upstream of b: not run
    assert session.nodes["b"].outputs.value == {"sum": 13.0}
    session = _run(qtbot, window, "run_node")
    assert item_states(window) == {"src": "cached", "a": "cached", "b": "completed",
                                   "side": None}
    assert window.scene.nodes["a"].status_text == "cached"


def test_whole_runs_reuse_unchanged_outputs_unless_turned_off(qtbot, make_window, qloop,
                                                              tmp_path):
    window, _ = _window(make_window, tmp_path)
    _run(qtbot, window)
    assert set(item_states(window).values()) == {"completed"}
    _run(qtbot, window)
    assert set(item_states(window).values()) == {"cached"}
    reuse = window.dev.actions["reuse_cache"]
    assert reuse.isChecked()
    reuse.trigger()  # off: every node runs, as headless runs without --cache
    assert window.settings.value("run/reuse_cache") == "false"
    _run(qtbot, window)
    assert set(item_states(window).values()) == {"completed"}
    reuse.trigger()


def test_run_up_to_and_from_here(qtbot, make_window, qloop, tmp_path):
    window, _ = _window(make_window, tmp_path)
    select(qtbot, window, ["a"])
    _run(qtbot, window, "run_until")
    assert item_states(window) == {"src": "completed", "a": "completed", "b": None,
                                   "side": None}
    _run(qtbot, window, "run_from")
    assert item_states(window) == {"src": "cached", "a": "completed", "b": "completed",
                                   "side": None}


def test_stale_markers_say_why_and_a_partial_run_clears_them(qtbot, make_window, qloop,
                                                             tmp_path):
    window, _ = _window(make_window, tmp_path)
    _settle_markers(qtbot, window)
    assert all(not item.stale for item in window.scene.nodes.values())  # never run: quiet
    _run(qtbot, window)
    _settle_markers(qtbot, window)
    assert all(not item.stale for item in window.scene.nodes.values())
    window.editor.set_node_field(None, "a", "config.b", 5)
    _settle_markers(qtbot, window)
    assert window.scene.nodes["a"].stale == ("b changed",)
    assert window.scene.nodes["b"].stale == ("upstream 'a' changed",)
    assert not window.scene.nodes["src"].stale and not window.scene.nodes["side"].stale
    assert "b changed" in window.scene.nodes["a"].toolTip()
    select(qtbot, window, ["b"])
    note = window.run_panels.node_view.note
    assert note.isVisibleTo(window) and "upstream 'a' changed" in note.text()
    # the stale nodes are exactly what a partial run executes
    select(qtbot, window, ["a"])
    _run(qtbot, window, "run_from")
    assert item_states(window) == {"src": "cached", "a": "completed", "b": "completed",
                                   "side": None}
    _settle_markers(qtbot, window)
    assert all(not item.stale for item in window.scene.nodes.values())
    window.stack.undo()  # back to b = 1: those outputs are still in the cache
    _settle_markers(qtbot, window)
    assert all(not item.stale for item in window.scene.nodes.values())


def test_pin_unpin_and_save_reload(qtbot, make_window, qloop, tmp_path):
    window, path = _window(make_window, tmp_path)
    _run(qtbot, window)
    select(qtbot, window, ["a"])
    pin = window.dev.actions["toggle_pin"]
    assert pin.text() == "&Pin Output"
    pin.trigger()
    assert window.doc.node(None, "a").pinned == {"sum": 11.0}
    assert window.scene.nodes["a"].pinned
    window.dev.refresh()
    assert pin.text() == "Un&pin Output"
    assert window.files.save()
    saved = path.read_bytes()
    assert json.loads(saved)["nodes"][1]["pinned"] == {"sum": 11.0}
    window.editor.set_node_field(None, "src", "config.value", 100)  # a pin holds regardless
    session = _run(qtbot, window)
    assert item_states(window)["a"] == "cached"
    assert window.scene.nodes["a"].status_text == "pinned"
    assert session.nodes["b"].outputs.value == {"sum": 13.0}
    assert window.files.save()
    reopened = workflow_file.load(path)
    assert reopened.nodes[1].pinned == {"sum": 11.0}
    workflow_file.save(reopened, tmp_path / "again.flow.json")
    window.stack.undo()  # the config edit
    assert window.files.save() and path.read_bytes() == saved  # byte-identical
    pin.trigger()  # unpin
    assert window.doc.node(None, "a").pinned is None
    window.stack.undo()
    assert window.doc.node(None, "a").pinned == {"sum": 11.0}


def test_edit_pinned_output_checks_the_json(qtbot, make_window, qloop, tmp_path):
    window, _ = _window(make_window, tmp_path)
    select(qtbot, window, ["b"])
    window.dev.actions["edit_pin"].trigger()
    dialog = window.dev._dialog
    assert isinstance(dialog, PinDialog) and dialog.isVisible()
    assert json.loads(dialog.editor.toPlainText()) == {"sum": None}  # its ports, no run yet
    for text, words in [("{oops", "Not valid JSON"), ("[1, 2]", "JSON object of output"),
                        ('{"total": 3}', "'total' is not an output")]:
        dialog.editor.setPlainText(text)
        dialog.accept()
        assert dialog.isVisible() and words in dialog.error.text(), (text, dialog.error.text())
        assert window.doc.node(None, "b").pinned is None
    dialog.editor.setPlainText('{"sum": 42}')
    dialog.accept()
    assert not dialog.isVisible()
    assert window.doc.node(None, "b").pinned == {"sum": 42}


def test_a_pin_holding_a_secret_is_refused(qtbot, make_window, qloop, tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWUI_SECRET_TOKEN", "sk-dev-mode-4242")
    window = make_window(toy_registry())
    open_file(window, write(tmp_path, "secret", [
        {"id": "k", "type": "toy.source", "config": {"value": "{{ secrets.TOKEN }}"}}]))
    select(qtbot, window, ["k"])
    window.dev.actions["edit_pin"].trigger()
    dialog = window.dev._dialog
    dialog.editor.setPlainText('{"value": "Bearer sk-dev-mode-4242"}')
    dialog.accept()
    assert dialog.isVisible() and "secret 'TOKEN'" in dialog.error.text()
    assert "sk-dev-mode-4242" not in dialog.error.text()
    assert window.doc.node(None, "k").pinned is None
    dialog.reject()
    _run(qtbot, window)
    messages: list[str] = []
    window.dev.message.connect(messages.append)
    window.dev.actions["toggle_pin"].trigger()  # its output was masked: not pinned
    assert window.doc.node(None, "k").pinned is None
    assert messages and "secret" in messages[-1]
