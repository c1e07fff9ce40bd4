"""The editor as a person uses it: real mouse events on the canvas, the real clipboard,
real files; every edit undoable."""

from __future__ import annotations

import json
import os
from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt
from PySide6.QtGui import QGuiApplication, QMouseEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from engine.workflow import file as workflow_file
from flowui import autosave
from flowui.canvas.node_item import WIDTH as NODE_WIDTH
from flowui.canvas.view import NODE_MIME
from flowui.editor import PASTE_GAP, PASTE_OFFSET
from tests.flowui.conftest import drag, mouse

FLOW = {
    "format": "flowui-workflow", "version": 1, "name": "Test",
    "nodes": [
        {"id": "src", "type": "flow.constant", "position": [0, 0], "config": {"value": "hi"}},
        {"id": "log", "type": "debug.log", "position": [320, 0]},
        {"id": "num", "type": "time.delay", "position": [320, 200]},
        {"id": "parse", "type": "transform.json_parse", "position": [640, 200]},
    ],
    "connections": [{"from": "src.value", "to": "log.message"}],
}


def open_flow(window, tmp_path: Path, data: dict = FLOW) -> Path:
    path = tmp_path / "test.flow.json"
    workflow_file.save(workflow_file.from_data(data), path)
    assert window.files.open_path(path, ask=False)
    window.view.resetTransform()
    window.view.centerOn(QPointF(400, 150))
    return path


def port(window, node_id: str, name: str, output: bool) -> QPointF:
    return window.scene.nodes[node_id].port_pos(name, output)


def test_wiring_with_the_mouse_connects_and_undoes(window, tmp_path):
    open_flow(window, tmp_path)
    before = window.doc.snapshot()
    drag(window.view, port(window, "log", "value", True), port(window, "num", "value", False))
    assert any(c.from_ == "log.value" and c.to == "num.value" for c in window.doc.connections(None))
    assert ("log.value", "num.value") in window.scene.edges
    window.stack.undo()
    assert window.doc.snapshot() == before
    assert ("log.value", "num.value") not in window.scene.edges


def test_dragging_from_an_input_to_an_output_also_wires(window, tmp_path):
    open_flow(window, tmp_path)
    drag(window.view, port(window, "num", "value", False), port(window, "src", "value", True))
    assert any(c.from_ == "src.value" and c.to == "num.value" for c in window.doc.connections(None))


def test_incompatible_wire_is_refused_with_a_reason(window, tmp_path):
    data = json.loads(json.dumps(FLOW))
    data["nodes"].append({"id": "num2", "type": "flow.constant", "position": [0, 200],
                          "config": {"value": 1}})
    open_flow(window, tmp_path, data)
    # json_parse takes a string; wiring its 'parsed' (any) back into 'src' is impossible
    # (src has no inputs), and a cycle is refused too:
    drag(window.view, port(window, "log", "value", True), port(window, "log", "message", False))
    assert window.statusBar().currentMessage().startswith("Cannot connect")
    drag(window.view, port(window, "parse", "parsed", True), port(window, "num", "value", False))
    assert not any(c.from_ == "parse.parsed" for c in window.doc.connections(None)) or \
        "cycle" not in window.statusBar().currentMessage()


def test_type_mismatch_is_refused(window, tmp_path):
    data = {"format": "flowui-workflow", "version": 1, "nodes": [
        {"id": "t", "type": "code.complexity", "position": [0, 0]},
        {"id": "p", "type": "transform.json_parse", "position": [320, 0]}]}
    open_flow(window, tmp_path, data)
    before = window.doc.snapshot()
    drag(window.view, port(window, "t", "complexity", True), port(window, "p", "json", False))
    assert window.doc.snapshot() == before
    assert "type mismatch: object output cannot feed string input" in \
        window.statusBar().currentMessage()


def test_compatible_ports_highlight_while_dragging(window, tmp_path):
    open_flow(window, tmp_path)
    view = window.view
    start = port(window, "src", "value", True)
    mouse(view, QMouseEvent.Type.MouseButtonPress, start)
    mouse(view, QMouseEvent.Type.MouseMove, start + QPointF(40, 40), button=Qt.MouseButton.NoButton)
    hints = window.scene.nodes["parse"].port_hint
    assert hints == {"parse.json": True}  # any -> string fits
    assert window.scene.nodes["src"].port_hint == {}  # its own node: no inputs to offer
    mouse(view, QMouseEvent.Type.MouseButtonRelease, start + QPointF(40, 40),
          buttons=Qt.MouseButton.NoButton)
    window.placement.search.hide()
    assert window.scene.nodes["parse"].port_hint == {}


def test_wire_into_occupied_input_replaces_the_old_one(window, tmp_path):
    open_flow(window, tmp_path)
    drag(window.view, port(window, "num", "value", True), port(window, "log", "message", False))
    into_log = [c.from_ for c in window.doc.connections(None) if c.to == "log.message"]
    assert into_log == ["num.value"]
    window.stack.undo()
    assert [c.from_ for c in window.doc.connections(None) if c.to == "log.message"] == ["src.value"]


def test_dragging_a_wire_end_off_an_input_detaches_it(window, tmp_path):
    open_flow(window, tmp_path)
    drag(window.view, port(window, "log", "message", False), QPointF(150, 400))
    assert not window.doc.connections(None)
    window.stack.undo()
    assert len(window.doc.connections(None)) == 1


def test_dropping_a_wire_on_empty_canvas_offers_fitting_nodes_and_wires_one(window, tmp_path):
    open_flow(window, tmp_path)
    drag(window.view, port(window, "src", "value", True), QPointF(200, 400))
    search = window.placement.search
    assert search.isVisible()
    offered = {search.list.item(i).data(Qt.ItemDataRole.UserRole + 1)
               for i in range(search.list.count())}
    assert "transform.json_parse" in offered and "flow.constant" not in offered  # no inputs
    search.input.setText("parse json")
    assert search.list.currentItem().data(Qt.ItemDataRole.UserRole + 1) == "transform.json_parse"
    count = window.stack.count()
    search._on_list_item_activated(search.list.currentItem())
    new = [n for n in window.doc.nodes(None) if n.id not in {"src", "log", "num", "parse"}]
    assert len(new) == 1 and new[0].type == "transform.json_parse"
    assert any(c.from_ == "src.value" and c.to == f"{new[0].id}.json"
               for c in window.doc.connections(None))
    assert window.stack.count() == count + 1  # add + connect: one undo step
    window.stack.undo()
    assert len(window.doc.nodes(None)) == 4


def test_click_selects_a_wire_and_delete_removes_it(window, tmp_path):
    open_flow(window, tmp_path)
    edge = window.scene.edges[("src.value", "log.message")]
    middle = edge.shape().boundingRect().center()
    path_point = edge._path.pointAtPercent(0.5)
    mouse(window.view, QMouseEvent.Type.MouseButtonPress, path_point)
    mouse(window.view, QMouseEvent.Type.MouseButtonRelease, path_point,
          buttons=Qt.MouseButton.NoButton)
    assert edge.isSelected(), middle
    window.actions_by_name["delete"].trigger()
    assert not window.doc.connections(None)


def test_moving_a_node_is_one_undo_step(window, tmp_path):
    open_flow(window, tmp_path)
    item = window.scene.nodes["num"]
    grab = item.mapToScene(QPointF(60, 10))  # the title bar
    drag(window.view, grab, grab + QPointF(100, 50), steps=10)
    assert window.doc.node(None, "num").position == (420, 250)
    assert window.stack.undoText() == "Move 1 node"
    window.stack.undo()
    assert window.doc.node(None, "num").position == (320, 200)
    assert item.pos() == QPointF(320, 200)


def test_click_shift_and_ctrl_click_select(window, tmp_path):
    open_flow(window, tmp_path)

    def click(node_id, mods=Qt.KeyboardModifier.NoModifier):
        p = window.scene.nodes[node_id].mapToScene(QPointF(60, 10))
        mouse(window.view, QMouseEvent.Type.MouseButtonPress, p, mods=mods)
        mouse(window.view, QMouseEvent.Type.MouseButtonRelease, p,
              buttons=Qt.MouseButton.NoButton, mods=mods)

    click("src")
    assert window.scene.selected_node_ids() == ["src"]
    click("num", Qt.KeyboardModifier.ShiftModifier)
    assert set(window.scene.selected_node_ids()) == {"src", "num"}
    click("parse", Qt.KeyboardModifier.ControlModifier)
    assert set(window.scene.selected_node_ids()) == {"src", "num", "parse"}
    click("log")
    assert window.scene.selected_node_ids() == ["log"]
    window.actions_by_name["select_all"].trigger()
    assert len(window.scene.selected_node_ids()) == 4


def test_rubber_band_selects_several(window, tmp_path):
    open_flow(window, tmp_path)
    drag(window.view, QPointF(250, -60), QPointF(900, 320))
    assert set(window.scene.selected_node_ids()) == {"log", "num", "parse"}


def test_drop_from_palette_adds_a_node_there(window, tmp_path):
    open_flow(window, tmp_path)
    from PySide6.QtGui import QDropEvent

    mime = QMimeData()
    mime.setData(NODE_MIME, b"debug.log")
    pos = window.view.mapFromScene(QPointF(100, 300))
    event = QDropEvent(QPointF(pos), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.view.dropEvent(event)
    added = window.doc.nodes(None)[-1]
    assert added.type == "debug.log" and added.id == "log2"
    assert abs(added.position[0] - 100) <= 10 and abs(added.position[1] - 300) <= 10


def test_copy_paste_round_trip_through_the_system_clipboard(window, tmp_path):
    open_flow(window, tmp_path)
    window.editor.select(["src", "log"])
    window.actions_by_name["copy"].trigger()
    text = QGuiApplication.clipboard().text()
    copied = json.loads(text)  # FORMAT.md JSON, readable in a text editor
    assert copied["format"] == "flowui-workflow"
    assert [n["id"] for n in copied["nodes"]] == ["src", "log"]
    assert copied["connections"] == [{"from": "src.value", "to": "log.message"}]
    window.actions_by_name["paste"].trigger()
    ids = [n.id for n in window.doc.nodes(None)]
    assert ids[-2:] == ["src2", "log2"]
    # beside the originals, not on them (the mouse is not on the canvas here)
    src, log = window.doc.node(None, "src"), window.doc.node(None, "log")
    shift = abs(log.position[0] - src.position[0]) + NODE_WIDTH + PASTE_GAP
    assert window.doc.node(None, "src2").position == (src.position[0] + shift,
                                                      src.position[1])
    assert any(c.from_ == "src2.value" and c.to == "log2.message"
               for c in window.doc.connections(None))
    assert set(window.scene.selected_node_ids()) == {"src2", "log2"}
    window.stack.undo()
    assert [n.id for n in window.doc.nodes(None)] == ["src", "log", "num", "parse"]


def test_paste_lands_at_the_mouse_and_never_on_the_originals(window, tmp_path):
    # issue 11, fix 6: pasted and duplicated nodes landed 25-40 px from the originals
    open_flow(window, tmp_path)
    window.editor.select(["src", "log"])
    window.actions_by_name["copy"].trigger()
    window.editor.paste_point = lambda: QPointF(1000, 700)  # the mouse, on the canvas
    window.actions_by_name["paste"].trigger()
    assert window.doc.node(None, "src2").position == (1000, 700)  # its corner at the mouse
    window.actions_by_name["paste"].trigger()  # again, mouse unmoved: cascades
    assert window.doc.node(None, "src3").position == (1000 + PASTE_OFFSET, 700 + PASTE_OFFSET)
    window.editor.paste_point = lambda: None  # by the menu: beside, one width further each
    window.editor.select(["num"])
    window.actions_by_name["duplicate"].trigger()
    window.actions_by_name["duplicate"].trigger()
    num = window.doc.node(None, "num")
    step = NODE_WIDTH + PASTE_GAP
    assert window.doc.node(None, "num2").position == (num.position[0] + step, num.position[1])
    assert window.doc.node(None, "num3").position == (num.position[0] + 2 * step,
                                                      num.position[1])  # beside num2
    rects = [window.scene.nodes[i].sceneBoundingRect() for i in ("num", "num2")]
    assert not rects[0].intersects(rects[1])
    # the window's own answer: no mouse over the canvas in this test
    assert window._mouse_on_canvas() is None


def test_paste_of_plain_text_is_refused_kindly(window, tmp_path):
    open_flow(window, tmp_path)
    QGuiApplication.clipboard().setText("hello there")
    before = window.doc.snapshot()
    window.actions_by_name["paste"].trigger()
    assert window.doc.snapshot() == before
    assert "Cannot paste" in window.statusBar().currentMessage()


def test_duplicate_and_cut(window, tmp_path):
    open_flow(window, tmp_path)
    window.editor.select(["num"])
    window.actions_by_name["duplicate"].trigger()
    assert window.doc.nodes(None)[-1].id == "num2"
    window.editor.select(["num2"])
    window.actions_by_name["cut"].trigger()
    assert not window.doc.has_node(None, "num2")
    assert "num" in QGuiApplication.clipboard().text()


def test_save_and_reopen_is_byte_identical_and_clears_modified(window, tmp_path):
    path = open_flow(window, tmp_path)
    original = path.read_bytes()
    assert not window.isWindowModified()
    window.editor.select(["num"])
    window.actions_by_name["delete"].trigger()
    assert window.isWindowModified()
    window.stack.undo()
    assert not window.isWindowModified()  # back at the saved state
    window.actions_by_name["save"].trigger()
    assert path.read_bytes() == original
    window.editor.add_node("debug.log", QPointF(0, 400))
    assert window.isWindowModified()
    window.actions_by_name["save"].trigger()
    assert not window.isWindowModified()
    assert window.files.open_path(path, ask=False)
    assert window.doc.snapshot().encode() == path.read_bytes()


def test_unsaved_changes_prompt_on_close_and_open(window, tmp_path):
    path = open_flow(window, tmp_path)
    window.editor.add_node("debug.log", QPointF(0, 400))
    window.answers = [QMessageBox.StandardButton.Cancel]
    assert window.close() is False  # Cancel keeps the window and the work
    assert window.asked and "Save the changes" in window.asked[-1]
    assert window.isWindowModified()
    window.answers = [QMessageBox.StandardButton.Save]
    assert window.files.open_path(path) is True  # Save, then open
    assert "log2" in path.read_text()


def test_broken_file_shows_problems_and_never_half_loads(window, tmp_path):
    open_flow(window, tmp_path)
    before = window.doc.snapshot()
    broken = tmp_path / "broken.flow.json"
    broken.write_text('{"format": "flowui-workflow", "version": 1, "nodes": [{"id": 5}]}')
    assert window.files.open_path(broken, ask=False) is False
    assert window.doc.snapshot() == before
    assert any("Cannot open" in text or "problem" in text for text in window.asked)


def test_validation_badges_follow_edits(window, tmp_path, qtbot):
    open_flow(window, tmp_path)
    window.validation.validate_now()
    assert window.scene.nodes["parse"].problems  # its required input is not wired
    assert not window.scene.nodes["log"].problems
    drag(window.view, port(window, "src", "value", True), port(window, "parse", "json", False))
    qtbot.waitUntil(lambda: not window.scene.nodes["parse"].problems, timeout=3000)
    assert "problem" not in window.scene.nodes["log"].toolTip()


def test_autosave_and_crash_recovery(window, tmp_path):
    path = open_flow(window, tmp_path)
    window.editor.add_node("debug.log", QPointF(0, 400))
    window.files.autosaver.save_now()
    snapshot, meta_file = window.files.autosaver.snapshot, window.files.autosaver.meta
    assert snapshot.is_file() and "log2" in snapshot.read_text()
    meta = json.loads(meta_file.read_text())
    assert meta["path"] == str(path) and meta["pid"] == os.getpid()
    assert autosave.pending_recoveries() == []  # this session is alive: nothing to recover
    # What a crashed session leaves behind: the same files under another session's name,
    # and its lock file, written by a process that no longer exists.
    dead_snapshot = snapshot.with_name("20200101-000000-dead00.flow.json")
    dead_meta = meta_file.with_name("20200101-000000-dead00.meta.json")
    dead_lock = snapshot.with_name("20200101-000000-dead00.lock")
    dead_snapshot.write_text(snapshot.read_text())
    dead_meta.write_text(json.dumps({**meta, "pid": 2 ** 22 + 12345}))
    dead_lock.write_text(f"{2 ** 22 + 12345}\nflowui\n{os.uname().nodename}\n")
    window.stack.setClean()
    window.files.open_path(path, ask=False)  # the next start, on the saved file
    assert not window.doc.has_node(None, "log2")
    found = autosave.pending_recoveries()
    assert [r.snapshot for r in found] == [dead_snapshot]
    window.files.restore(found[0])
    assert window.doc.has_node(None, "log2") and window.isWindowModified()
    assert window.doc.path == path
    assert not dead_snapshot.exists() and not dead_meta.exists() and not dead_lock.exists()
    assert window.files.autosaver.snapshot.is_file()  # restored work is autosaved again at once


def test_autosave_is_removed_after_saving(window, tmp_path):
    open_flow(window, tmp_path)
    window.editor.add_node("debug.log", QPointF(0, 400))
    window.files.autosaver.save_now()
    assert window.files.autosaver.snapshot.is_file()
    window.actions_by_name["save"].trigger()
    assert not window.files.autosaver.snapshot.exists()


def test_a_dropped_file_opens(window, tmp_path):
    path = tmp_path / "dropped.flow.json"
    workflow_file.save(workflow_file.from_data(FLOW), path)
    from PySide6.QtCore import QPoint, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    # As a drop arrives: the drag enters the window (Qt delivers no drop without it).
    QApplication.sendEvent(window, QDragEnterEvent(
        QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier))
    QApplication.sendEvent(window, QDropEvent(
        QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier))
    assert window.doc.path == path.resolve()
    assert "dropped.flow.json" in window.windowTitle()


def test_tab_opens_quick_search_and_enter_adds(window, tmp_path, qtbot):
    open_flow(window, tmp_path)
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_Tab)
    assert window.placement.search.isVisible()
    qtbot.keyClicks(window.placement.search.input, "delay")
    qtbot.keyClick(window.placement.search.input, Qt.Key.Key_Return)
    assert window.doc.nodes(None)[-1].type == "time.delay"


def test_zoom_and_fit(window, tmp_path):
    open_flow(window, tmp_path)
    window.view.set_zoom(1.0)
    window.view.set_zoom(100)
    assert window.view.zoom() == 3.0  # clamped
    window.actions_by_name["fit_all"].trigger()
    rect = window.view.mapToScene(window.view.viewport().rect()).boundingRect()
    for item in window.scene.nodes.values():
        assert rect.contains(item.sceneBoundingRect())


def test_shortcuts_dialog_lists_actions(window):
    from flowui.shortcuts import ShortcutsDialog

    dialog = ShortcutsDialog(window.actions_by_name, window)
    names = {dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())}
    assert {"Undo", "Redo", "Copy", "Paste", "Duplicate", "Save", "Fit All"} <= names


def test_shortcuts_dialog_shows_every_name_and_key_whole(window, qtbot):
    from flowui.shortcuts import ShortcutsDialog

    dialog = ShortcutsDialog(window.actions_by_name, window)
    dialog.show()
    qtbot.waitExposed(dialog)
    table = dialog.table
    metrics = table.fontMetrics()
    for row in range(table.rowCount()):
        for column in (0, 1):
            text = table.item(row, column).text()
            needed = metrics.horizontalAdvance(text) + 6  # a cell's text margins (Fusion)
            assert table.columnWidth(column) >= needed, text
    shown = table.viewport().width()
    assert table.horizontalHeader().length() <= shown  # no column runs off the side


def test_every_example_opens_without_problems(window):
    from flowui import resources

    examples = sorted(resources.examples_dir().glob("*.flow.json"))
    assert len(examples) >= 8
    for path in examples:
        assert window.files.open_path(path, ask=False), path
        assert window.validation.validate_now() == [], path
        assert len(window.scene.nodes) == len(window.doc.nodes(None))
    assert os.environ.get("QT_QPA_PLATFORM") == "offscreen"


def test_a_renamed_node_stays_selected(window, tmp_path):
    open_flow(window, tmp_path)
    window.editor.select(["log"])
    window.editor.rename_node(None, "log", "logger")
    assert window.scene.selected_node_ids() == ["logger"]
    window.stack.undo()
    assert window.scene.selected_node_ids() == ["log"]


def test_open_example_lists_workflow_names_and_about_shows_versions(window, monkeypatch):
    # issue 11, fix 8 (two of its items)
    import json as json_
    from importlib.metadata import version

    from PySide6.QtWidgets import QMessageBox

    from flowui import resources

    names = [a.text() for a in window.files.examples_menu.actions()]
    expected = sorted((p for p in resources.examples_dir().glob("*.flow.json")),
                      key=lambda p: p.name)
    assert names == [json_.loads(p.read_text())["name"] for p in expected]
    assert "Hello, HTTP" in names and "hello" not in names
    assert all(a.toolTip() for a in window.files.examples_menu.actions())
    shown = []
    monkeypatch.setattr(QMessageBox, "about", staticmethod(lambda *a: shown.append(a[2])))
    window.actions_by_name["about"].trigger()
    assert f"FlowUI {version('flowui')}" in shown[0] and "PySide6" in shown[0]


def test_selecting_a_node_brings_the_inspector_to_the_front(window, qtbot):
    from tests.flowui.test_run_live import select

    history, inspector = window._docks["history"], window._docks["inspector"]
    history.raise_()
    qtbot.waitUntil(lambda: inspector.visibleRegion().isEmpty(), timeout=2000)  # behind
    from PySide6.QtCore import QPointF

    node_id = window.editor.add_node("debug.log", QPointF(0, 0))
    select(qtbot, window, [node_id])
    qtbot.waitUntil(lambda: not inspector.visibleRegion().isEmpty(), timeout=2000)
    assert window.inspector.current_node == node_id
    inspector.toggleViewAction().trigger()  # closed by the user: it stays closed
    select(qtbot, window, [])
    select(qtbot, window, [node_id])
    assert not inspector.isVisible()


def test_an_empty_graph_says_how_to_begin(window, qtbot):
    from flowui.canvas.view import EMPTY_HINT

    def hint_drawn() -> bool:  # bright text pixels in the heading's band (the grid is dark)
        image = window.view.viewport().grab().toImage()
        middle = image.height() // 2
        return any(image.pixelColor(x, y).lightness() > 160
                   for y in range(middle - 58, middle - 28, 2) for x in range(image.width()))

    window.actions_by_name["new"].trigger()
    qtbot.wait(20)
    assert not window.scene.nodes and hint_drawn()
    assert EMPTY_HINT[0] == "An empty workflow"
    window.editor.add_node("debug.log", window.view.mapToScene(10, 10))
    window.view.viewport().repaint()
    assert not hint_drawn()
