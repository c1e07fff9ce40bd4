"""View > Minimap: the overlay shows the graph and the visible rectangle, navigates by
click, drag and wheel, keeps its picture through a pan and hides on an empty graph."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

from flowui.canvas.minimap import RENDER_DELAY_MS, SETTINGS_KEY


def _grid(window, n: int = 60) -> list[str]:
    """n nodes spread wide enough that the view shows only part of them at 100%."""
    ids = []
    for i in range(n):
        node = window.editor.add_node("debug.log", QPointF((i % 10) * 400, (i // 10) * 300))
        assert node is not None
        ids.append(node)
    window.view.set_zoom(1.0)
    return ids


def _press(widget, pos: QPointF, kind=QMouseEvent.Type.MouseButtonPress,
           buttons=Qt.MouseButton.LeftButton) -> None:
    button = Qt.MouseButton.NoButton if kind == QMouseEvent.Type.MouseMove \
        else Qt.MouseButton.LeftButton
    event = QMouseEvent(kind, pos, QPointF(widget.mapToGlobal(pos.toPoint())), button,
                        buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def _view_centre(window) -> QPointF:
    view = window.view
    return view.mapToScene(view.viewport().rect().center())


def _shown(window, qtbot) -> None:
    window.actions_by_name["minimap"].trigger()
    qtbot.wait(RENDER_DELAY_MS + 50)
    assert window.minimap.isVisible()


def test_the_action_toggles_the_overlay_and_the_settings_remember_it(window, qtbot, tmp_path):
    _grid(window, 12)
    action, minimap = window.actions_by_name["minimap"], window.minimap
    assert action.isCheckable() and not action.isChecked() and not minimap.isVisible()
    assert action.shortcut().toString() == "Ctrl+M"
    action.trigger()
    assert action.isChecked() and minimap.isVisible()
    # In the canvas's bottom-right corner, inside the viewport.
    viewport = window.view.viewport().rect()  # (the overlay is the viewport's child)
    assert viewport.contains(minimap.geometry())
    assert viewport.right() - minimap.geometry().right() < 20
    assert viewport.bottom() - minimap.geometry().bottom() < 20
    assert QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat).value(
        SETTINGS_KEY, type=bool) is True
    action.trigger()
    assert not minimap.isVisible()
    assert window.settings.value(SETTINGS_KEY, type=bool) is False


def test_a_click_centres_the_view_on_the_point_clicked(window, qtbot):
    _grid(window)
    _shown(window, qtbot)
    minimap = window.minimap
    # A point far from the view's rectangle: the picture's bottom-right part.
    pos = QPointF(minimap.width() - 30, minimap.height() - 20)
    target = minimap.to_scene(pos)
    assert not minimap.visible_scene_rect().contains(target)
    before = _view_centre(window)
    _press(minimap, pos)
    _press(minimap, pos, QMouseEvent.Type.MouseButtonRelease, Qt.MouseButton.NoButton)
    after = _view_centre(window)
    assert (after - before).manhattanLength() > 500
    assert abs(after.x() - target.x()) < 3 and abs(after.y() - target.y()) < 3


def test_dragging_pans_the_view_by_the_scene_distance_dragged(window, qtbot):
    _grid(window)
    _shown(window, qtbot)
    minimap = window.minimap
    shown = minimap.from_scene(minimap.visible_scene_rect())
    start = shown.center()  # held inside the rectangle: no jump on the press
    before = _view_centre(window)
    _press(minimap, start)
    assert (_view_centre(window) - before).manhattanLength() < 2
    end = start + QPointF(40, 25)
    for k in range(1, 5):
        _press(minimap, start + (end - start) * (k / 4), QMouseEvent.Type.MouseMove)
    _press(minimap, end, QMouseEvent.Type.MouseButtonRelease, Qt.MouseButton.NoButton)
    moved = _view_centre(window) - before
    expected = minimap.to_scene(end) - minimap.to_scene(start)
    assert expected.x() > 300 and expected.y() > 200
    assert abs(moved.x() - expected.x()) < 3 and abs(moved.y() - expected.y()) < 3


def test_the_wheel_over_it_zooms_the_view(window, qtbot):
    _grid(window)
    _shown(window, qtbot)
    minimap = window.minimap
    pos = QPointF(minimap.rect().center())
    event = QWheelEvent(pos, QPointF(minimap.mapToGlobal(pos.toPoint())), QPoint(),
                        QPoint(0, -120), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(minimap, event)
    assert abs(window.view.zoom() - 1 / 1.2) < 1e-6


def test_a_pan_repaints_the_rectangle_not_the_picture(window, qtbot):
    _grid(window)
    _shown(window, qtbot)
    minimap = window.minimap
    renders = minimap.renders
    first = minimap.from_scene(minimap.visible_scene_rect())
    for _ in range(10):
        window.view.scroll_by(QPointF(-37, -11))
        window.view.repaint()
        QApplication.processEvents()
    qtbot.wait(RENDER_DELAY_MS + 50)
    assert minimap.from_scene(minimap.visible_scene_rect()).left() > first.left() + 10
    assert minimap.renders == renders
    # Still in the corner: the viewport's scroll moved it along with its pixels.
    corner = window.view.viewport().rect().bottomRight() - minimap.geometry().bottomRight()
    assert 0 < corner.x() < 20 and 0 < corner.y() < 20
    # An edit does render it again, once for a burst.
    moves = {node_id: (window.doc.node(None, node_id).position, (-2000.0 - i * 300, -2000.0))
             for i, node_id in enumerate(list(window.scene.nodes)[:5])}
    window.editor.move_nodes(moves)
    qtbot.wait(RENDER_DELAY_MS + 80)
    assert minimap.renders == renders + 1


def test_hidden_on_an_empty_graph_and_back_when_nodes_come(window, qtbot):
    window.actions_by_name["minimap"].trigger()
    minimap = window.minimap
    assert window.actions_by_name["minimap"].isChecked()
    assert not minimap.isVisible()  # nothing to show
    ids = _grid(window, 3)
    qtbot.wait(RENDER_DELAY_MS + 50)
    assert minimap.isVisible()
    window.editor.select(ids)
    window.editor.delete_selection()
    qtbot.wait(RENDER_DELAY_MS + 50)
    assert not minimap.isVisible()
    window.stack.undo()
    qtbot.wait(RENDER_DELAY_MS + 50)
    assert minimap.isVisible()


def test_a_theme_switch_draws_the_picture_again(window, qtbot):
    _grid(window, 5)
    _shown(window, qtbot)
    renders = window.minimap.renders
    window.theme.use("light")
    try:
        QApplication.processEvents()
        assert window.minimap.renders > renders
    finally:
        window.theme.use("dark")
