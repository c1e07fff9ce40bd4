"""File ▸ Export Image: the graph or the selection as a valid PNG or SVG of the
expected size, drawn in full even when the canvas is zoomed far out, without the
selection's highlight, written atomically with ordinary permissions."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET

from PySide6.QtCore import QPointF
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog

from flowui import theme
from flowui.image_export import MARGIN, MAX_PIXELS, PNG_SCALE, export_image, exported_rect
from tests.flowui.test_run_live import EXAMPLES, open_file


def test_the_graph_as_png_and_svg_of_the_expected_size(window, tmp_path, monkeypatch):
    open_file(window, EXAMPLES / "if_else.flow.json")
    rect = exported_rect(window.scene, selection_only=False)
    png = tmp_path / "graph.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(png), "PNG picture (*.png)")))
    window.actions_by_name["export_image"].trigger()
    image = QImage(str(png))
    assert not image.isNull()
    assert (image.width(), image.height()) == (round(rect.width() * PNG_SCALE),
                                               round(rect.height() * PNG_SCALE))
    assert image.pixelColor(2, 2) == theme.BACKGROUND  # the margin: canvas, no grid
    assert oct(os.stat(png).st_mode & 0o777) == oct(0o666 & ~_umask())
    assert "Exported the graph" in window.statusBar().currentMessage()
    svg = tmp_path / "graph.svg"
    export_image(window.scene, svg, selection_only=False, title="if_else")
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    view_box = [float(v) for v in root.get("viewBox").split()]
    assert view_box == [0, 0, round(rect.width()), round(rect.height())]
    text = svg.read_text()
    assert "Long name?" in text  # node titles as text, not only shapes


def test_the_selection_only_drawn_in_full_even_far_out(window, tmp_path):
    open_file(window, EXAMPLES / "if_else.flow.json")
    whole = exported_rect(window.scene, selection_only=False)
    first = next(iter(window.scene.nodes))
    window.editor.select([first])
    part = exported_rect(window.scene, selection_only=True)
    assert part.width() < whole.width()
    assert part.width() == window.scene.nodes[first].sceneBoundingRect().width() + 2 * MARGIN
    window.view.set_zoom(0.05)  # the canvas shows blocks
    assert window.scene.far
    path = tmp_path / "one.png"
    export_image(window.scene, path, selection_only=True)
    image = QImage(str(path))
    item = window.scene.nodes[first]
    # The title bar is drawn (its colour), not the far block's flat colour or the
    # selection's blue: the export shows the node as it reads close up.
    title_y = round((item.sceneBoundingRect().top() - part.top() + 10) * PNG_SCALE)
    row = {image.pixelColor(x, title_y).name() for x in range(image.width())}
    assert theme.NODE_SELECTED.name() not in row
    assert window.scene.far and item.isSelected()  # the canvas is as it was


def test_a_huge_graph_is_scaled_to_the_limit_and_nothing_is_refused(window, tmp_path):
    for i in range(60):
        window.editor.add_node("debug.log", QPointF(i * 1200, 0))
    path = tmp_path / "wide.png"
    export_image(window.scene, path, selection_only=False)
    image = QImage(str(path))
    assert max(image.width(), image.height()) <= MAX_PIXELS
    empty = tmp_path / "none.png"
    window.actions_by_name["new"].trigger()
    try:
        export_image(window.scene, empty, selection_only=False)
    except ValueError as e:
        assert "nothing to export" in str(e)
    else:
        raise AssertionError("an empty graph exported")
    assert not empty.exists()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
