"""Edit ▸ Arrange: align and distribute the selected nodes, one undo step each; the
geometry alone (flowui.arrange), then through the window's menu actions."""

from __future__ import annotations

from PySide6.QtCore import QPointF

from flowui.arrange import align, distribute
from tests.flowui.test_run_live import select

BOXES = {"a": (0.0, 0.0, 200.0, 100.0), "b": (300.0, 50.0, 100.0, 60.0),
         "c": (120.0, 400.0, 150.0, 80.0)}


def test_alignments_put_every_node_on_the_same_line():
    assert {k: p[0] for k, p in align(BOXES, "left").items()} == dict.fromkeys("abc", 0.0)
    right = align(BOXES, "right")
    assert {k: right[k][0] + BOXES[k][2] for k in BOXES} == dict.fromkeys("abc", 400.0)
    bottom = align(BOXES, "bottom")
    assert {k: bottom[k][1] + BOXES[k][3] for k in BOXES} == dict.fromkeys("abc", 480.0)
    centre = align(BOXES, "centre")
    assert len({round(centre[k][0] + BOXES[k][2] / 2, 1) for k in BOXES}) == 1
    assert all(align(BOXES, "top")[k][1] == 0.0 for k in BOXES)


def test_distributing_leaves_the_outermost_and_evens_the_gaps():
    placed = distribute(BOXES, "vertical")
    assert placed["a"] == (0.0, 0.0) and placed["c"] == (120.0, 400.0)  # kept
    tops = sorted((placed[k][1], k) for k in BOXES)
    gaps = [placed[tops[i + 1][1]][1] - (placed[tops[i][1]][1] + BOXES[tops[i][1]][3])
            for i in range(2)]
    assert abs(gaps[0] - gaps[1]) < 0.2


def test_the_menu_aligns_the_selection_in_one_undo_step(window, qtbot):
    for x, y in ((0, 0), (400, 130), (150, 320)):
        window.editor.add_node("debug.log", QPointF(x, y))
    ids = list(window.scene.nodes)
    before = {i: window.doc.node(None, i).position for i in ids}
    select(qtbot, window, ids)
    steps = window.stack.count()
    window.actions_by_name["arrange_left"].trigger()
    assert {window.doc.node(None, i).position[0] for i in ids} == {0.0}
    assert window.stack.count() == steps + 1
    window.stack.undo()
    assert {i: window.doc.node(None, i).position for i in ids} == before
    select(qtbot, window, ids[:2])
    window.actions_by_name["arrange_vertical"].trigger()  # needs three
    assert "at least 3 nodes" in window.statusBar().currentMessage()
    assert window.stack.count() == steps + 1  # (the undone step is still there to redo)
