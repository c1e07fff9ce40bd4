"""Run ▸ Serve Triggers: the open workflow's webhook served on 127.0.0.1 inside the
editor; a real HTTP request starts a run that is answered, shown live on the canvas
and listed in the Runs panel from the run store; stopping closes the port."""

from __future__ import annotations

import json
import threading
import urllib.request

from PySide6.QtWidgets import QInputDialog

from tests.engine.test_serve import free_port
from tests.flowui.test_run_live import EXAMPLES, item_states, open_file


def _post(url: str, body: dict, answers: list) -> None:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        answers.append((response.status, json.loads(response.read())))


def test_a_request_to_the_served_webhook_runs_shows_and_is_listed(
        qtbot, make_window, qloop, monkeypatch):
    window = make_window()
    open_file(window, EXAMPLES / "webhook_echo.flow.json")
    port = free_port()
    monkeypatch.setattr(QInputDialog, "getInt", staticmethod(lambda *a, **k: (port, True)))
    window.actions_by_name["serve_triggers"].trigger()  # asks for the port
    triggers = window.triggers
    assert triggers.serving and window.actions_by_name["serve_triggers"].isChecked()
    qtbot.waitUntil(lambda: bool(triggers.server and triggers.server.addresses), timeout=5000)
    answers: list = []
    sender = threading.Thread(target=_post, args=(f"http://127.0.0.1:{port}/echo",
                                                  {"hello": "editor"}, answers))
    sender.start()  # from a thread: the editor's loop must stay free to answer
    qtbot.waitUntil(lambda: bool(answers), timeout=10000)
    sender.join()
    assert answers == [(200, {"hello": "editor"})]
    qtbot.waitUntil(lambda: item_states(window) == {"hook": "completed", "reply": "completed"},
                    timeout=5000)
    assert window.runs.session.nodes["reply"].inputs.value["body"] == {"hello": "editor"}
    qtbot.waitUntil(lambda: len(window.runs_panel.model.runs) == 1, timeout=5000)
    assert window.runs_panel.model.runs[0].source == "serve"
    triggers.stop()
    qtbot.waitUntil(lambda: not triggers.serving, timeout=15000)
    assert not window.actions_by_name["serve_triggers"].isChecked()
    refused = []
    failed = threading.Thread(target=lambda: refused.append(_refused(port)))
    failed.start()
    failed.join()
    assert refused == [True]  # the port is closed


def _refused(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/echo", timeout=3)
    except OSError:
        return True
    return False


def test_an_interval_trigger_ticks_runs_until_its_count_then_serving_ends(
        qtbot, make_window, qloop, tmp_path):
    from tests.flowui.test_run_live import write

    window = make_window()
    open_file(window, write(tmp_path, "ticks", [
        {"id": "tick", "type": "time.interval", "config": {"every_s": 0.05, "count": 3}},
        {"id": "log", "type": "debug.log", "config": {}, "position": [300, 0]}],
        [("tick.tick", "log.message")]))
    assert window.triggers.start()  # no webhook: no port to ask for
    qtbot.waitUntil(lambda: not window.triggers.serving, timeout=10000)  # 3 ticks, done
    qtbot.waitUntil(lambda: len(window.runs_panel.model.runs) == 3, timeout=5000)
    assert item_states(window) == {"tick": "completed", "log": "completed"}
    assert window.runs.session.nodes["tick"].outputs.value["tick"] == 2  # the last one
