"""The live view of big graphs: zoomed far out the graph is one picture kept between
frames (flowui.canvas.overview), which must follow every change whether it redraws
everything (a move, a selection, a zoom) or only what was recoloured (a run's
states); wires far out are not items; full garbage collections wait while a run is
shown; frames are paced by what painting costs (bench/live.py measures the rest)."""

from __future__ import annotations

import gc
import time

from PySide6.QtCore import QPointF

from flowui import theme
from tests.engine.toy import toy_registry
from tests.flowui.test_run_live import open_file, run_to_end, write


def _far_window(qtbot, make_window, tmp_path, n: int = 40):
    window = make_window(toy_registry())
    nodes = [{"id": f"n{i}", "type": "toy.source", "config": {"value": i},
              "position": [(i % 10) * 260, (i // 10) * 160]} for i in range(n)]
    nodes += [{"id": "sink", "type": "toy.gather", "position": [0, 900]}]
    wires = [(f"n{i}.value", "sink.items") for i in range(0, n, 3)]
    open_file(window, write(tmp_path, "far", nodes, wires))
    qtbot.wait(20)  # the opening frame (a zero-time timer) first, then our zoom
    window.view.set_zoom(0.1)
    assert window.scene.far
    return window


def _pixel(window, scene_point: QPointF, *, centre: bool = True) -> str:
    if centre:
        window.view.centerOn(scene_point)
    at = window.view.mapFromScene(scene_point)
    assert window.view.viewport().rect().contains(at)
    return window.view.grab().toImage().pixelColor(at).name()


def _centre(window, node_id: str) -> QPointF:
    return window.scene.nodes[node_id].scene_body_rect().center()


def test_a_node_moved_far_out_leaves_its_old_place_and_shows_at_the_new(
        qtbot, make_window, qloop, tmp_path):
    window = _far_window(qtbot, make_window, tmp_path)
    old = _centre(window, "n4")
    block = _pixel(window, old)
    assert block != theme.BACKGROUND.name()
    # Within the same view (no scroll, so the kept picture is not redrawn for that).
    window.scene.nodes["n4"].setPos(QPointF(old.x() - 100, old.y() + 1200))  # as a drag
    new = _centre(window, "n4")
    assert _pixel(window, old, centre=False) == theme.BACKGROUND.name()
    assert _pixel(window, new, centre=False) == block


def test_selection_far_out_recolours_the_blocks_and_back(qtbot, make_window, qloop,
                                                         tmp_path):
    window = _far_window(qtbot, make_window, tmp_path)
    point = _centre(window, "n5")
    before = _pixel(window, point)
    window.editor.select(["n5"])
    assert _pixel(window, point, centre=False) == theme.NODE_SELECTED.name() != before
    window.editor.select([])
    assert _pixel(window, point, centre=False) == before


def test_run_states_far_out_follow_the_run_and_clear(qtbot, make_window, qloop, tmp_path):
    window = _far_window(qtbot, make_window, tmp_path)
    point = _centre(window, "n7")
    category = _pixel(window, point)
    session = run_to_end(qtbot, window)
    assert session.status == "completed"
    qtbot.wait(60)  # a frame
    assert _pixel(window, point, centre=False) == theme.STATUS_COLORS["completed"]
    window.runs.clear()
    assert _pixel(window, point, centre=False) == category


def test_wires_far_out_are_not_items_but_a_selected_one_stays_selected(
        qtbot, make_window, qloop, tmp_path):
    window = make_window(toy_registry())
    nodes = [{"id": "a", "type": "toy.source", "position": [0, 0]},
             {"id": "b", "type": "toy.gather", "position": [400, 0]},
             {"id": "c", "type": "toy.source", "position": [0, 300]},
             {"id": "d", "type": "toy.gather", "position": [400, 300]}]
    open_file(window, write(tmp_path, "wires", nodes, [("a.value", "b.items"),
                                                       ("c.value", "d.items")]))
    qtbot.wait(20)
    chosen = window.scene.edges[("a.value", "b.items")]
    other = window.scene.edges[("c.value", "d.items")]
    chosen.setSelected(True)
    window.view.set_zoom(0.1)
    assert window.scene.far
    assert not other.isVisible()  # Qt's frame skips it: the overview draws it
    assert chosen.isVisible() and chosen.isSelected()
    assert window.scene.selected_edges() == [("a.value", "b.items")]
    window.view.set_zoom(1.0)
    assert other.isVisible() and chosen.isSelected()


def test_full_collections_wait_while_a_run_is_shown(qtbot, make_window, qloop, tmp_path):
    from flowui.run.collector import HELD

    qtbot.waitUntil(lambda: not HELD.held, timeout=3000)  # an earlier test's run's
    before = gc.get_threshold()
    window = make_window(toy_registry())
    open_file(window, write(tmp_path, "slow", [
        {"id": "s", "type": "toy.sleep", "config": {"seconds": 3600}}]))
    window.runs.start({})
    qtbot.waitUntil(lambda: window.scene.nodes["s"].status == "running", timeout=3000)
    assert gc.get_threshold()[:2] == before[:2] and gc.get_threshold()[2] > 10 ** 6
    window.runs.cancel()
    qtbot.waitUntil(lambda: not window.runs.running, timeout=3000)
    qtbot.waitUntil(lambda: gc.get_threshold() == before, timeout=3000)


def test_frames_are_paced_by_painting_not_by_the_size_of_a_batch(qtbot, make_window, qloop,
                                                                 tmp_path, monkeypatch):
    from flowui.run import controller as run_controller

    window = make_window(toy_registry())
    open_file(window, write(tmp_path, "slow", [
        {"id": "s", "type": "toy.sleep", "config": {"seconds": 3600}}]))
    window.runs.start({})
    qtbot.waitUntil(lambda: window.scene.nodes["s"].status == "running", timeout=3000)
    session = window.runs.session
    # A big batch (applying it takes 40 ms) with a cheap paint: the next frame comes as
    # soon as ever (a longer wait would only make the next batch bigger still).
    monkeypatch.setattr(session, "apply", lambda records: time.sleep(0.04))
    window.view.last_paint_s = 0.001
    window.runs._pending = [object()] * 5000
    window.runs.apply_pending()
    assert window.runs._frame.interval() == run_controller.FRAME_MS
    # An expensive paint (a huge graph at fit) spaces the frames out.
    window.view.last_paint_s = 0.03
    window.runs.apply_pending()
    assert window.runs._frame.interval() == round(30 / run_controller.UI_SHARE)
    window.runs.cancel()
    qtbot.waitUntil(lambda: not window.runs.running, timeout=3000)


def test_repainting_every_node_goes_in_slices_and_ends_with_all_of_them(
        qtbot, make_window, qloop, tmp_path, monkeypatch):
    from flowui.run import overlay as run_overlay

    window = make_window(toy_registry())
    nodes = [{"id": f"n{i}", "type": "toy.source", "config": {"value": i},
              "position": [(i % 30) * 260, (i // 30) * 160]} for i in range(600)]
    open_file(window, write(tmp_path, "many", nodes))
    assert run_to_end(qtbot, window).status == "completed"
    assert {item.status for item in window.scene.nodes.values()} == {"completed"}
    monkeypatch.setattr(run_overlay, "REFRESH_SLICE_S", 0.0)  # a slice per 64 nodes
    window.runs.clear()
    cleared = sum(item.status is None for item in window.scene.nodes.values())
    assert 64 <= cleared < 600  # the loop runs between slices
    window.editor.select(["n599"])
    window.editor.delete_selection()  # an edit while the repaint goes on
    qtbot.waitUntil(lambda: all(item.status is None
                                for item in window.scene.nodes.values()), timeout=3000)
    assert len(window.scene.nodes) == 599


def test_full_collections_come_back_even_when_the_window_goes_first(qtbot, make_window,
                                                                     qloop, tmp_path):
    from flowui.run.collector import HELD

    qtbot.waitUntil(lambda: not HELD.held, timeout=3000)  # an earlier test's run's
    before = gc.get_threshold()
    window = make_window(toy_registry())
    open_file(window, write(tmp_path, "quick", [{"id": "s", "type": "toy.source"}]))
    assert run_to_end(qtbot, window).status == "completed"
    assert gc.get_threshold() != before  # held until the last frame is on screen
    window.close()
    window.deleteLater()
    qtbot.waitUntil(lambda: gc.get_threshold() == before, timeout=3000)
