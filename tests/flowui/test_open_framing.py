"""A workflow opens readable (issue 11, fix 4): all of it when that keeps titles and port
labels readable, else at a readable zoom on where it starts; Fit All still shows all."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRectF

from flowui import resources
from flowui.canvas.view import READABLE_ZOOM

EXAMPLES = sorted(p.name for p in resources.examples_dir().glob("*.flow.json"))


def visible(window) -> QRectF:
    return window.view.mapToScene(window.view.viewport().rect()).boundingRect()


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_opens_readable_and_starting_at_its_start(window, qtbot, name):
    assert window.files.open_path(resources.examples_dir() / name, ask=False)
    qtbot.wait(20)  # the framing waits for the scene to be built
    assert window.view.zoom() >= READABLE_ZOOM - 1e-6, name
    items = list(window.scene.nodes.values())
    leftmost = min(items, key=lambda i: i.sceneBoundingRect().left())
    assert visible(window).contains(leftmost.sceneBoundingRect()), name


def test_a_big_graph_opens_at_the_readable_zoom_and_fit_all_shows_everything(window, qtbot):
    from PySide6.QtCore import QPointF

    for i in range(60):
        window.editor.add_node("debug.log", QPointF((i % 12) * 300, (i // 12) * 200))
    window.view.frame_opened()
    assert abs(window.view.zoom() - READABLE_ZOOM) < 1e-6
    left = min(item.sceneBoundingRect().left() for item in window.scene.nodes.values())
    assert visible(window).left() <= left
    window.view.fit_all()
    assert window.view.zoom() < READABLE_ZOOM
    for item in window.scene.nodes.values():
        assert visible(window).contains(item.sceneBoundingRect())
