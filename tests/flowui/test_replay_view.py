"""A run that is over, on the canvas: the same views as a live run (states, the Run
tab's values), the replay bar setting the canvas to any moment and playing it back,
and two runs compared node by node. The runs are real engine runs; their records
are what the run store keeps (events and full outputs)."""

from __future__ import annotations

import asyncio
from typing import Any

from engine import Runner
from engine.core.events import NodeCompleted, NodeStarted
from engine.workflow import file as workflow_file
from flowui.history.compare_view import CompareView
from flowui.history.replay import Replay, in_order
from flowui.history.timeline import ReplayBar
from tests.engine.toy import toy_registry
from tests.flowui.test_run_live import item_states, open_file, select, write

NODES = [{"id": "src", "type": "toy.source", "config": {"value": 1}, "position": [0, 0]},
         {"id": "a", "type": "toy.add", "config": {"b": 10}, "position": [300, 0]},
         {"id": "nap", "type": "toy.sleep", "config": {"seconds": 0.2}, "position": [0, 200]}]
WIRES = [("src.value", "a.a")]


def _recorded(path) -> Replay:
    wf = workflow_file.load(path)
    events: list[Any] = []
    outputs: list[Any] = []
    result = asyncio.run(Runner(toy_registry()).run(
        wf, subscribers=(events.append,), on_outputs=outputs.append))
    assert result.status == "completed"
    return Replay(wf, in_order(events, outputs))


def _shown(window, replay: Replay) -> ReplayBar:
    bar = ReplayBar(window)

    def on_seeked(rebuilt: bool) -> None:
        if rebuilt:
            window.runs.show_stored(replay.session, "stored run")
        else:
            window.runs.stored_advanced()

    bar.seeked.connect(on_seeked)
    replay.seek(len(replay.records))
    assert window.runs.show_stored(replay.session, "stored run")
    bar.show_replay(replay)
    return bar


def test_a_stored_run_shows_like_a_live_one_and_scrubs_to_any_moment(
        qtbot, make_window, tmp_path):
    window = make_window(toy_registry())
    path = write(tmp_path, "replayed", NODES, WIRES)
    open_file(window, path)
    replay = _recorded(path)
    bar = _shown(window, replay)
    assert item_states(window) == dict.fromkeys(["src", "a", "nap"], "completed")
    select(qtbot, window, ["a"])
    assert window.run_panels.node_view.outputs.value == {"sum": 11.0}
    assert not window.stack.count() and window.stack.isClean()  # not an edit
    for ms in (0, 50, 100, 150, 199, 200, 250, bar.slider.maximum()):
        bar.seek_ms(ms)
        seen = replay.records[:replay.position]
        started = {r.node_id for r in seen if type(r) is NodeStarted}
        completed = {r.node_id for r in seen if type(r) is NodeCompleted}
        for node_id, status in item_states(window).items():
            expected = "completed" if node_id in completed else \
                "running" if node_id in started else "queued"
            assert status == expected, (ms, node_id, status)
    bar.seek_ms(100)  # mid-way: the sleep is running, the rest done
    assert item_states(window)["nap"] == "running"
    assert item_states(window)["a"] == "completed"


def test_playing_back_reaches_the_end_and_stops(qtbot, make_window, tmp_path):
    window = make_window(toy_registry())
    path = write(tmp_path, "played", NODES, WIRES)
    open_file(window, path)
    bar = _shown(window, _recorded(path))
    seen: list[str | None] = []
    bar.seeked.connect(lambda _rebuilt: seen.append(item_states(window)["nap"]))
    bar.speed.setCurrentIndex(bar.speed.findData(2))
    bar.play()  # from the end: starts again from the beginning
    assert bar.slider.value() == 0 and bar.playing
    qtbot.waitUntil(lambda: not bar.playing and bool(seen) and seen[-1] == "completed",
                    timeout=3000)  # (the last seek comes on the loop's next turn)
    assert "running" in seen  # the canvas went through it
    assert bar.slider.value() == bar.slider.maximum()
    assert item_states(window) == dict.fromkeys(["src", "a", "nap"], "completed")
    bar.finish()
    assert bar.isHidden()


def test_comparing_two_runs_lists_what_differs_and_marks_the_lines(qtbot, tmp_path):
    first = _recorded(write(tmp_path, "one", NODES, WIRES))
    changed = [dict(n, config={"value": 5}) if n["id"] == "src" else n for n in NODES]
    second = _recorded(write(tmp_path, "two", changed, WIRES))
    for r in (first, second):
        r.seek(len(r.records))
    view = CompareView()
    qtbot.addWidget(view)
    view.show_runs(first.session, second.session, "run 1", "run 2")
    rows = [view.tree.topLevelItem(i).text(0) for i in range(view.tree.topLevelItemCount())]
    assert rows == ["src", "a"]
    assert "2 nodes differ" in view.title.text()
    view.tree.setCurrentItem(view.tree.topLevelItem(1))
    assert '"sum": 11.0' in view.left.toPlainText()
    assert '"sum": 15.0' in view.right.toPlainText()
    tinted = _tinted_lines(view.right)
    assert tinted == [False, True, False]  # the changed line only, not the braces
    activated: list[str] = []
    view.node_activated.connect(activated.append)
    view.tree.itemActivated.emit(view.tree.topLevelItem(0), 0)
    assert activated == ["src"]


def _tinted_lines(edit) -> list[bool]:
    from PySide6.QtCore import Qt

    found, block = [], edit.document().begin()
    while block.isValid():
        fragment = block.begin().fragment()
        found.append(fragment.isValid() and
                     fragment.charFormat().background().style() != Qt.BrushStyle.NoBrush)
        block = block.next()
    return found


def test_the_slider_end_reaches_the_last_record_whatever_the_duration(qtbot):
    """A run of 204.13 ms: its slider ends at 205, not 204, where the run's last records
    (the node and the run completing) would never be shown by playing to the end."""

    class Timed:
        duration_s, position, records = 0.20413, 0, ()

    bar = ReplayBar()
    qtbot.addWidget(bar)
    bar.show_replay(Timed())  # type: ignore[arg-type]
    assert bar.slider.maximum() / 1000 >= Timed.duration_s
