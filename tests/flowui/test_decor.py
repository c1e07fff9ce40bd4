"""Groups and sticky notes: the canvas follows the document's ui.groups / ui.notes
(undo included), a group dragged by its title carries its nodes in one undo step,
the corner resizes, notes render Markdown, files keep them, bad entries never stop
a file from opening."""

from __future__ import annotations

import json

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QUndoStack
from PySide6.QtTest import QTest

from engine.workflow import file as workflow_file
from flowui import decor
from flowui.canvas.decor_items import TITLE_H, GroupItem, NoteItem
from tests.flowui.conftest import drag
from tests.flowui.test_commands import make_doc


def _open(window, tmp_path, ui=None, name="g.flow.json"):
    data = {"format": "flowui-workflow", "version": 1,
            "nodes": [{"id": "a", "type": "debug.log", "position": [0, 0]},
                      {"id": "b", "type": "debug.log", "position": [300, 0]},
                      {"id": "far", "type": "debug.log", "position": [1200, 600]}],
            "connections": [{"from": "a.value", "to": "b.message"}]}
    if ui is not None:
        data["ui"] = ui
    path = tmp_path / name
    path.write_text(json.dumps(data))
    assert window.files.open_path(path, ask=False)
    return path


def test_subgraph_ui_is_added_and_undone_exactly():
    from flowui.decor_commands import EditDecorCommand

    doc = make_doc()
    stack = QUndoStack()
    before = doc.snapshot()
    note = decor.Decor("notes", "note1", "*hi*", "#d29922", (0, 0, 200, 100))
    stack.push(EditDecorCommand(doc, "body", decor.added(doc.ui("body"), note), "Add note"))
    after = doc.snapshot()
    assert '"rect": [0, 0, 200, 100]' in after and doc.ui("body")["notes"][0]["text"] == "*hi*"
    stack.undo()
    assert doc.snapshot() == before and doc.ui("body") is None
    stack.redo()
    assert doc.snapshot() == after


def test_group_selection_then_drag_moves_its_nodes_in_one_undo_step(window, tmp_path):
    _open(window, tmp_path)
    editor, scene, view = window.editor, window.scene, window.view
    editor.select(["a", "b"])
    gid = editor.group_selection()
    item = scene.decor.items[("groups", gid)]
    assert isinstance(item, GroupItem)
    for node_id in ("a", "b"):
        body = scene.nodes[node_id].scene_body_rect()
        assert item.scene_rect().contains(body)
    assert not item.scene_rect().intersects(scene.nodes["far"].scene_body_rect())
    before = window.doc.snapshot()
    count = window.stack.count()
    view.fit_all()
    view.set_zoom(1.0)
    view.centerOn(item.scene_rect().center())
    start = item.scene_rect().topLeft() + QPointF(60, TITLE_H / 2)
    drag(view, start, start + QPointF(100, 50))
    assert window.stack.count() == count + 1
    assert window.doc.node(None, "a").position == (100.0, 50.0)
    assert window.doc.node(None, "b").position == (400.0, 50.0)
    assert window.doc.node(None, "far").position == (1200.0, 600.0)
    rect = window.doc.workflow.ui["groups"][0]["rect"]
    assert scene.nodes["a"].pos() == QPointF(100, 50) and item.rect() == tuple(rect)
    window.stack.undo()
    assert window.doc.snapshot() == before
    assert scene.nodes["a"].pos() == QPointF(0, 0)
    assert item.rect() == tuple(decor.read(window.doc.workflow.ui)[0][0].rect)


def test_the_corner_resizes_and_delete_keeps_the_nodes(window, tmp_path):
    _open(window, tmp_path, {"groups": [{"id": "g", "title": "T", "color": "#3fb950",
                                         "rect": [-40, -80, 400, 300]}], "notes": []})
    scene, view = window.scene, window.view
    item = scene.decor.items[("groups", "g")]
    view.set_zoom(1.0)
    view.centerOn(item.scene_rect().bottomRight())
    corner = item.scene_rect().bottomRight() - QPointF(6, 6)
    drag(view, corner, corner + QPointF(120, 40))
    assert window.doc.workflow.ui["groups"][0]["rect"] == [-40, -80, 520, 340]
    assert item.isSelected()
    window.editor.delete_selection()
    assert window.doc.workflow.ui["groups"] == [] and ("groups", "g") not in scene.decor.items
    assert {n.id for n in window.doc.nodes(None)} == {"a", "b", "far"}
    window.stack.undo()
    assert ("groups", "g") in scene.decor.items
    window.stack.undo()
    assert scene.decor.items[("groups", "g")].rect() == (-40, -80, 400, 300)


def test_a_note_renders_markdown_and_is_edited_in_place(window, tmp_path):
    _open(window, tmp_path)
    nid = window.editor.add_note(QPointF(0, 200))
    item = window.scene.decor.items[("notes", nid)]
    assert isinstance(item, NoteItem)
    window.scene.decor.edit("notes", nid)
    editor = item.editor
    assert editor is not None and editor.hasFocus()
    QTest.keyClicks(window.view.viewport(), "x")  # an ordinary key goes to the text
    editor.setPlainText("# Title\n\nSome **bold** text")
    QTest.keyClick(window.view.viewport(), Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert item.editor is None
    assert window.doc.workflow.ui["notes"][0]["text"] == "# Title\n\nSome **bold** text"
    html = item.markdown_html()
    assert "Title" in html and "font-weight" in html and "**" not in html
    window.scene.decor.edit("notes", nid)
    item.editor.setPlainText("thrown away")
    QTest.keyClick(window.view.viewport(), Qt.Key.Key_Escape)
    assert item.editor is None
    assert window.doc.workflow.ui["notes"][0]["text"] == "# Title\n\nSome **bold** text"
    window.stack.undo()
    assert window.doc.workflow.ui["notes"][0]["text"] == ""


def test_groups_and_notes_survive_save_and_load(window, tmp_path):
    path = _open(window, tmp_path)
    window.editor.select(["a"])
    gid = window.editor.group_selection()
    window.editor.set_decor_text("groups", gid, "Start")
    window.editor.add_note(QPointF(10, 300))
    window.editor.select([])
    window.scene.decor.items[("groups", gid)].setSelected(True)
    window.editor.recolor_selected_decor(decor.PALETTE["Purple"])
    ui = window.doc.workflow.ui
    workflow_file.save(window.doc.workflow, path)
    loaded = workflow_file.load(path)
    assert loaded.ui == ui and ui["groups"][0]["color"] == decor.PALETTE["Purple"]
    assert workflow_file.dumps(loaded) == path.read_text()
    assert window.files.open_path(path, ask=False)
    assert set(window.scene.decor.items) == {("groups", gid), ("notes", "note1")}


def test_malformed_entries_open_and_are_reported(window, tmp_path, caplog, qtbot):
    ui = {"groups": [{"id": "ok", "title": "Fine", "rect": [0, 0, 300, 200]},
                     {"title": "no id", "rect": [0, 0, 1, 1]},
                     {"id": "bad", "rect": [0, "x", 5]},
                     "not an object",
                     {"id": "ok", "title": "twice", "rect": [0, 0, 300, 200]}],
          "notes": {"id": "n"}}
    _open(window, tmp_path, ui)
    assert set(window.scene.decor.items) == {("groups", "ok")}
    assert window.scene.decor.items[("groups", "ok")].decor.color == decor.DEFAULT_COLOR["groups"]
    qtbot.waitUntil(lambda: "not shown" in window.statusBar().currentMessage())
    assert "ui.groups[1] skipped: no 'id'" in window.statusBar().currentMessage()
    assert any("used twice" in r.getMessage() for r in caplog.records)
    # An edit keeps the entries it cannot read, as they were.
    window.editor.add_note(QPointF(0, 0))
    assert window.doc.workflow.ui["groups"][1:] == ui["groups"][1:]
    _, problems = decor.read({"groups": 5})
    assert problems == ["ui.groups is not a list: none of them is shown"]
    assert decor.read([1]) == ([], ["'ui' is not an object: its groups and notes are not shown"])


def test_far_out_the_overview_draws_them(window, tmp_path):
    _open(window, tmp_path, {"groups": [{"id": "g", "title": "T", "color": "#f85149",
                                         "rect": [-40, -80, 2000, 1200]}], "notes": []})
    view = window.view
    view.set_zoom(0.1)
    view.centerOn(QPointF(400, 300))
    image = view.viewport().grab().toImage()
    inside = view.mapFromScene(QPointF(900, 900))
    outside = view.mapFromScene(QPointF(-400, -400))
    assert image.pixelColor(inside) != image.pixelColor(outside)


def test_shift_n_adds_a_note_and_canvas_keys_type_into_it(window, tmp_path):
    _open(window, tmp_path)
    view = window.view
    view.setFocus()
    zoom = view.zoom()
    QTest.keyClick(view.viewport(), Qt.Key.Key_N, Qt.KeyboardModifier.ShiftModifier)
    assert ("notes", "note1") in window.scene.decor.items
    item = window.scene.decor.items[("notes", "note1")]
    assert item.editor is not None
    for key in (Qt.Key.Key_F, Qt.Key.Key_Space, Qt.Key.Key_Delete):  # Fit All, pan, Delete
        QTest.keyClick(view.viewport(), key)
    assert view.zoom() == zoom and ("notes", "note1") in window.scene.decor.items
    QTest.keyClicks(view.viewport(), "ok")
    QTest.keyClick(view.viewport(), Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert window.doc.workflow.ui["notes"][0]["text"] == "f ok"  # Delete at the end: nothing


def test_right_clicking_a_group_title_opens_the_group_menu_not_the_canvas_menu(
        make_window, qtbot, monkeypatch):
    from PySide6.QtGui import QContextMenuEvent
    from PySide6.QtWidgets import QApplication, QMenu

    from flowui import resources

    window = make_window()
    assert window.files.open_path(resources.examples_dir() / "if_else.flow.json", ask=False)
    qtbot.wait(50)
    group = next(i for i in window.scene.decor.items.values() if isinstance(i, GroupItem))
    shown: list[list[str]] = []
    monkeypatch.setattr(QMenu, "exec", lambda self, *a, **k: shown.append(
        [a.text() for a in self.actions()]))
    monkeypatch.setattr(QMenu, "popup", lambda self, *a, **k: shown.append(
        [a.text() for a in self.actions()]))
    rect = group.sceneBoundingRect()
    at = window.view.mapFromScene(QPointF(rect.center().x(), rect.top() + TITLE_H / 2))
    QApplication.sendEvent(window.view.viewport(), QContextMenuEvent(
        QContextMenuEvent.Reason.Mouse, at, window.view.viewport().mapToGlobal(at)))
    assert shown and any("Rename Group" in text for text in shown[0])


def test_groups_and_notes_take_the_theme_switched_to(make_window, qtbot):
    from flowui import resources, theme

    window = make_window()
    assert window.files.open_path(resources.examples_dir() / "if_else.flow.json", ask=False)
    qtbot.wait(20)
    group = next(i for i in window.scene.decor.items.values() if isinstance(i, GroupItem))
    note = next(i for i in window.scene.decor.items.values() if isinstance(i, NoteItem))
    try:
        window.theme.use("light")
        qtbot.wait(20)
        light = theme.current().background.lightness()
        assert light > 200
        # tints of the light canvas, not of the dark one
        assert group._fill.lightness() > 180 and group.far_color().lightness() > 150
        assert note._card.lightness() > 180
        window.theme.use("dark")
        qtbot.wait(20)
        assert group._fill.lightness() < 80 and note._card.lightness() < 80
    finally:
        window.theme.use("dark")
