"""Gestures on the canvas with real mouse and key events: panning (middle button, Space +
drag), Space tapped for the node search, a wire given up with Esc, a rubber band that
adds to the selection, each ending without leaving a gesture behind."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QGraphicsPathItem

from engine.workflow import file as workflow_file
from tests.flowui.conftest import drag, mouse

FLOW = {"format": "flowui-workflow", "version": 1, "nodes": [
    {"id": "src", "type": "flow.constant", "position": [0, 0], "config": {"value": "x"}},
    {"id": "log", "type": "debug.log", "position": [320, 0]},
    {"id": "num", "type": "time.delay", "position": [320, 200]}]}


def open_flow(window, tmp_path):
    path = tmp_path / "g.flow.json"
    workflow_file.save(workflow_file.from_data(FLOW), path)
    assert window.files.open_path(path, ask=False)
    window.view.resetTransform()
    window.view.centerOn(QPointF(300, 100))
    window.view.setFocus()


def centre(window) -> QPointF:
    return window.view.mapToScene(window.view.viewport().rect().center())


def pan_drag(view, start: QPointF, moves: list[QPointF], button: Qt.MouseButton) -> None:
    """Press `button` at `start`, move through `moves`, release: in viewport pixels (the
    scene slides under the mouse while panning)."""
    def send(kind, at, pressed, held):
        glob = QPointF(view.viewport().mapToGlobal(at.toPoint()))
        QApplication.sendEvent(view.viewport(), QMouseEvent(
            kind, at, glob, pressed, held, Qt.KeyboardModifier.NoModifier))

    send(QMouseEvent.Type.MouseButtonPress, start, button, button)
    for at in moves:
        send(QMouseEvent.Type.MouseMove, at, Qt.MouseButton.NoButton, button)
    send(QMouseEvent.Type.MouseButtonRelease, moves[-1], button, Qt.MouseButton.NoButton)


def test_middle_drag_pans_and_changes_nothing(window, tmp_path):
    open_flow(window, tmp_path)
    before, snapshot = centre(window), window.doc.snapshot()
    title = window.scene.nodes["log"].mapToScene(QPointF(60, 10))  # even over a node
    start = QPointF(window.view.mapFromScene(title))
    pan_drag(window.view, start, [start + QPointF(-20 * i, -10 * i) for i in range(1, 5)],
             Qt.MouseButton.MiddleButton)
    moved = centre(window) - before
    assert abs(moved.x() - 80) <= 2 and abs(moved.y() - 40) <= 2
    assert window.doc.snapshot() == snapshot and window.scene.selected_node_ids() == []
    assert window.view.cursor().shape() == Qt.CursorShape.ArrowCursor


def test_space_tapped_opens_the_search_and_space_drag_pans_instead(window, tmp_path, qtbot):
    open_flow(window, tmp_path)
    search = window.placement.search
    qtbot.keyClick(window.view, Qt.Key.Key_Space)
    assert search.isVisible()
    search.hide()
    window.view.setFocus()
    before = centre(window)
    qtbot.keyPress(window.view, Qt.Key.Key_Space)
    assert window.view.cursor().shape() == Qt.CursorShape.OpenHandCursor
    start = QPointF(window.view.mapFromScene(QPointF(100, 400)))  # empty canvas: no band
    pan_drag(window.view, start, [start - QPointF(30, 20), start - QPointF(60, 40)],
             Qt.MouseButton.LeftButton)
    qtbot.keyRelease(window.view, Qt.Key.Key_Space)
    assert not search.isVisible()
    moved = centre(window) - before
    assert abs(moved.x() - 60) <= 2 and abs(moved.y() - 40) <= 2
    assert window.view.cursor().shape() == Qt.CursorShape.ArrowCursor
    assert window.scene.selected_node_ids() == []
    drag(window.view, QPointF(250, -60), QPointF(700, 120))  # Space up: boxes select again
    assert set(window.scene.selected_node_ids()) == {"log"}


def test_esc_gives_up_a_wire(window, tmp_path, qtbot):
    open_flow(window, tmp_path)
    snapshot = window.doc.snapshot()
    start = window.scene.nodes["src"].port_pos("value", True)
    mouse(window.view, QMouseEvent.Type.MouseButtonPress, start)
    mouse(window.view, QMouseEvent.Type.MouseMove, start + QPointF(60, 30),
          button=Qt.MouseButton.NoButton)
    assert window.scene.nodes["log"].port_hint
    assert any(isinstance(i, QGraphicsPathItem) for i in window.scene.items())
    qtbot.keyClick(window.view, Qt.Key.Key_Escape)
    assert not window.scene.nodes["log"].port_hint
    assert not any(isinstance(i, QGraphicsPathItem) for i in window.scene.items())
    target = window.scene.nodes["log"].port_pos("message", False)
    mouse(window.view, QMouseEvent.Type.MouseButtonRelease, target,
          buttons=Qt.MouseButton.NoButton)
    assert window.doc.snapshot() == snapshot and not window.placement.search.isVisible()


def test_a_rubber_band_with_ctrl_or_shift_adds_to_the_selection(window, tmp_path):
    open_flow(window, tmp_path)
    window.editor.select(["src"])
    for mods in (Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier):
        start, end = QPointF(250, 150), QPointF(700, 320)
        mouse(window.view, QMouseEvent.Type.MouseButtonPress, start, mods=mods)
        mouse(window.view, QMouseEvent.Type.MouseMove, end, button=Qt.MouseButton.NoButton,
              mods=mods)
        mouse(window.view, QMouseEvent.Type.MouseButtonRelease, end,
              buttons=Qt.MouseButton.NoButton, mods=mods)
        assert set(window.scene.selected_node_ids()) == {"src", "num"}
    drag(window.view, QPointF(250, 150), QPointF(700, 320))  # without: replaces
    assert window.scene.selected_node_ids() == ["num"]
    mouse(window.view, QMouseEvent.Type.MouseButtonPress, QPointF(100, 500))
    mouse(window.view, QMouseEvent.Type.MouseButtonRelease, QPointF(100, 500),
          buttons=Qt.MouseButton.NoButton)
    assert window.scene.selected_node_ids() == []  # a click on empty canvas clears
