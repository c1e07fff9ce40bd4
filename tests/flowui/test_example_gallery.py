"""File > New from Example: every example listed by name with a picture of its graph,
opened as an untitled copy that Save never writes over the example."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog

from flowui import resources, theme, thumbnails
from flowui.example_gallery import THUMB

EXAMPLES = sorted(resources.examples_dir().glob("*.flow.json"))


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWUI_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(thumbnails, "_kept", {})
    yield
    theme.apply(QApplication.instance(), "dark")


def open_gallery(window, qtbot):
    window.actions_by_name["new_from_example"].trigger()
    gallery = window.files.gallery
    assert gallery is not None and gallery.isVisible()
    qtbot.waitUntil(lambda: gallery.drawn)
    return gallery


def test_the_gallery_lists_every_example_by_name_with_its_description(window, qtbot):
    gallery = open_gallery(window, qtbot)
    listed = [gallery.list.item(row).text() for row in range(gallery.list.count())]
    data = [json.loads(p.read_text()) for p in EXAMPLES]
    assert listed == [d["name"] for d in data]
    assert [e.description for e in gallery.examples] == [d.get("description", "") for d in data]
    assert "Hello, HTTP" in listed
    gallery.list.setCurrentRow(listed.index("Hello, HTTP"))
    assert "Hello, HTTP" in gallery.detail.text() and "nodes" in gallery.detail.text()
    assert window.actions_by_name["new_from_example"].shortcut().toString() == "Ctrl+Shift+N"


def test_thumbnails_are_drawn_from_the_graph_and_kept_by_content(window, qtbot, tmp_path):
    gallery = open_gallery(window, qtbot)
    ratio = max(1.0, gallery.devicePixelRatioF())
    for row in range(gallery.list.count()):
        image = gallery.thumbnail_of(row)
        assert image.width() >= THUMB.width() and image.height() >= THUMB.height()
        colours = {image.pixel(x, y) for x in range(0, image.width(), 3)
                   for y in range(0, image.height(), 3)}
        assert len(colours) > 20, gallery.examples[row].name  # a drawing, not a blank
    stored = list((tmp_path / "cache" / "thumbnails").glob("*.png"))
    assert len(stored) == len(EXAMPLES)
    # Kept by content: the same file is not drawn again, an edited copy is.
    path = EXAMPLES[0]
    first = thumbnails.thumbnail(path, window.registry, THUMB, ratio)
    assert thumbnails.thumbnail(path, window.registry, THUMB, ratio) is first
    edited = tmp_path / path.name
    data = json.loads(path.read_text())
    data["nodes"] = data["nodes"][:1]
    edited.write_text(json.dumps(data))
    assert thumbnails.thumbnail(edited, window.registry, THUMB, ratio) is not first
    assert len(list((tmp_path / "cache" / "thumbnails").glob("*.png"))) == len(EXAMPLES) + 1


def test_thumbnails_are_drawn_in_the_theme_in_use(window, qtbot):
    path = resources.examples_dir() / "hello.flow.json"
    dark = thumbnails.thumbnail(path, window.registry, THUMB)
    theme.apply(QApplication.instance(), "light")
    light = thumbnails.thumbnail(path, window.registry, THUMB)
    assert dark.pixelColor(1, 1) == theme.DARK.background
    assert light.pixelColor(1, 1) == theme.LIGHT.background


def test_enter_opens_an_untitled_copy_whose_save_asks_for_a_path(window, qtbot, monkeypatch,
                                                                 tmp_path):
    example = resources.examples_dir() / "hello.flow.json"
    before = example.read_bytes()
    gallery = open_gallery(window, qtbot)
    gallery.list.setCurrentRow(0)
    target = [e.path for e in gallery.examples].index(example)
    for _ in range(target):  # the arrow keys move through the grid
        qtbot.keyClick(gallery.list, Qt.Key.Key_Right)
    assert gallery.current_path() == example
    qtbot.keyClick(gallery.list, Qt.Key.Key_Return)
    assert not gallery.isVisible()
    assert window.doc.path is None
    assert window.windowTitle().startswith("Untitled")
    assert window.doc.workflow.name == json.loads(before)["name"]
    assert len(window.scene.nodes) == len(json.loads(before)["nodes"])

    asked = []
    saved_to = tmp_path / "mine.flow.json"

    def save_dialog(*args, **kwargs):
        asked.append(args[2] if len(args) > 2 else "")
        return str(saved_to), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(save_dialog))
    window.actions_by_name["save"].trigger()
    assert len(asked) == 1 and Path(asked[0]).parent != resources.examples_dir()
    assert window.doc.path == saved_to.resolve()
    assert json.loads(saved_to.read_text())["name"] == json.loads(before)["name"]
    assert example.read_bytes() == before


def test_double_click_opens_the_example_clicked(window, qtbot):
    gallery = open_gallery(window, qtbot)
    row = gallery.list.count() - 1
    item = gallery.list.item(row)
    spot = gallery.list.visualItemRect(item).center()
    qtbot.mouseClick(gallery.list.viewport(), Qt.MouseButton.LeftButton, pos=spot)
    qtbot.mouseDClick(gallery.list.viewport(), Qt.MouseButton.LeftButton, pos=spot)
    assert window.doc.path is None
    assert window.doc.workflow.name == gallery.examples[row].name


def test_the_examples_menu_opens_copies_too(window):
    hello = [a for a in window.files.examples_menu.actions() if a.text() == "Hello, HTTP"]
    hello[0].trigger()
    assert window.doc.path is None and window.doc.workflow.name == "Hello, HTTP"
