"""Right-click menus on nodes, wires and the empty canvas, opened the way a right-click
opens them (a QContextMenuEvent on the canvas): the window's own actions with their
shortcuts, enabled for what applies; disabled nodes drawn dimmed."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QContextMenuEvent, QImage, QKeySequence, QPainter
from PySide6.QtWidgets import QApplication, QInputDialog, QMenu

from tests.flowui.test_run_live import EXAMPLES, open_file, select

NODE_MENU = {"Rename…": "F2", "Duplicate": "Ctrl+D", "Copy": "Ctrl+C", "Cut": "Ctrl+X",
             "Delete": "Del", "Disable": "Ctrl+E", "Open Body of Selected Node": "Ctrl+Down",
             "Create Subgraph from Selection…": "Ctrl+Alt+G",
             "Ungroup Sub-workflow": "Ctrl+Alt+Shift+G"}


def right_click(window, scene_pos: QPointF) -> QMenu:
    """A right-click on the canvas at a scene position; the menu it opened."""
    view = window.view
    local = view.mapFromScene(scene_pos)
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, local,
                              view.viewport().mapToGlobal(local))
    QApplication.sendEvent(view.viewport(), event)
    menu = window.context_menus.menu
    assert menu is not None and menu.isVisible()
    return menu


def entries(menu: QMenu) -> dict[str, tuple[str, bool]]:
    """Each entry's text (no accelerator marks) -> (shortcut, enabled)."""
    return {a.text().replace("&", ""): (a.shortcut().toString(), a.isEnabled())
            for a in menu.actions() if not a.isSeparator()}


def centre(window, node_id: str) -> QPointF:
    return window.scene.nodes[node_id].sceneBoundingRect().center()


def add(window, type_id: str, x: float, y: float) -> str:
    node_id = window.editor.add_node(type_id, QPointF(x, y))
    assert node_id is not None
    return node_id


def test_a_node_menu_holds_the_window_actions_and_the_node_joins_the_selection(window, qtbot):
    a = add(window, "debug.log", 0, 0)
    b = add(window, "debug.log", 300, 0)
    select(qtbot, window, [a])
    menu = right_click(window, centre(window, b))
    assert set(window.scene.selected_node_ids()) == {a, b}
    got = entries(menu)
    for text, keys in NODE_MENU.items():
        assert got[text][0] == QKeySequence(keys).toString(), text
    # Two nodes: rename (one node) and ungroup (a sub-workflow) do not apply; neither
    # does Open Body (a loop or sub-workflow).
    assert not got["Rename…"][1] and not got["Ungroup Sub-workflow"][1]
    assert not got["Open Body of Selected Node"][1]
    assert got["Create Subgraph from Selection…"][1] and got["Disable"][1]
    assert "Arrange" in got and got["Arrange"][1]
    arrange = next(x.menu() for x in menu.actions() if x.menu() is not None)
    assert "Align Left" in entries(arrange)
    # The very actions of the menu bar and the palette, not copies.
    window_actions = set(window.actions_by_name.values())
    assert all(x in window_actions for x in menu.actions()
               if not x.isSeparator() and x.menu() is None)
    menu.close()


def test_disable_from_the_menu_dims_the_nodes_and_reads_enable_after(window, qtbot):
    a = add(window, "debug.log", 0, 0)
    b = add(window, "debug.log", 300, 0)
    select(qtbot, window, [a, b])
    enabled_look = node_image(window, a)
    menu = right_click(window, centre(window, a))
    next(x for x in menu.actions() if x.text() == "Disa&ble").trigger()
    assert window.doc.node(None, a).disabled and window.doc.node(None, b).disabled
    assert window.stack.undoText() == "Disable 2 nodes"
    assert window.scene.nodes[a].disabled
    dimmed = node_image(window, a)
    assert contrast(dimmed) < 0.6 * contrast(enabled_look)
    c = add(window, "debug.log", 0, 300)  # far out too (a block), dimmer than a live one
    window.scene.clearSelection()
    far = window.scene.nodes
    assert far[a].far_color().lightness() < 0.6 * far[c].far_color().lightness()
    window.stack.undo()
    select(qtbot, window, [a, b])
    menu = right_click(window, centre(window, a))
    assert "Enable" in entries(menu)  # all selected are disabled: the action enables
    menu.close()
    window.actions_by_name["toggle_disabled"].trigger()  # Ctrl+E
    assert not window.doc.node(None, a).disabled
    window.stack.undo()
    window.stack.undo()
    assert not window.doc.node(None, a).disabled and not window.scene.nodes[a].disabled


def node_image(window, node_id: str) -> QImage:
    item = window.scene.nodes[node_id]
    rect = item.sceneBoundingRect()
    image = QImage(int(rect.width()), int(rect.height()), QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.black)
    painter = QPainter(image)
    window.scene.render(painter, target=image.rect().toRectF(), source=rect)
    painter.end()
    return image


def contrast(image: QImage) -> float:
    """How far the node's pixels stand from the black they were drawn on (mean)."""
    total = 0
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 2):
            c = image.pixelColor(x, y)
            total += c.red() + c.green() + c.blue()
    return total / ((image.width() // 2) * (image.height() // 2))


def test_rename_gives_the_node_a_title_in_one_step(window, qtbot, monkeypatch):
    a = add(window, "debug.log", 0, 0)
    select(qtbot, window, [a])
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *args: ("Tell me", True)))
    menu = right_click(window, centre(window, a))
    assert entries(menu)["Rename…"][1]
    next(x for x in menu.actions() if x.text() == "&Rename…").trigger()
    assert window.doc.node(None, a).title == "Tell me"
    assert window.scene.nodes[a].title == "Tell me"


def test_create_subgraph_then_ungroup_from_the_node_menu(make_window, qtbot, monkeypatch):
    window = make_window()
    open_file(window, EXAMPLES / "if_else.flow.json")
    before = window.doc.snapshot()
    names = iter(["bad name", "branches"])  # a bad name is asked again, then accepted
    asked: list[str] = []

    def get_text(parent, title, label, mode, text):
        asked.append(label)
        return next(names), True

    monkeypatch.setattr(QInputDialog, "getText", staticmethod(get_text))
    select(qtbot, window, ["is_long", "log_long", "log_short"])
    menu = right_click(window, centre(window, "joined"))
    next(x for x in menu.actions() if "Subgraph" in x.text()).trigger()
    assert "cannot name a subgraph" in asked[1]
    assert "branches" in window.doc.workflow.subgraphs
    (node_id,) = window.scene.selected_node_ids()
    assert window.doc.node(None, node_id).type == "flow.subworkflow"

    menu = right_click(window, centre(window, node_id))
    got = entries(menu)
    assert got["Ungroup Sub-workflow"][1] and got["Open Body of Selected Node"][1]
    assert got["Create Subgraph from Selection…"][1]  # one node can be folded too
    next(x for x in menu.actions() if "Ungroup" in x.text()).trigger()
    assert "branches" not in window.doc.workflow.subgraphs
    assert {"is_long", "log_long", "log_short", "joined"} <= set(window.scene.nodes)
    window.stack.undo()
    window.stack.undo()
    assert window.doc.snapshot() == before


def test_a_wire_menu_deletes_that_wire_or_puts_a_node_into_it(window, qtbot):
    a = add(window, "flow.constant", 0, 0)
    b = add(window, "debug.log", 500, 0)
    assert window.editor.connect_ports(f"{a}.value", f"{b}.message")
    select(qtbot, window, [a])
    edge = window.scene.edges[(f"{a}.value", f"{b}.message")]
    middle = edge.line().center()  # a wire's bezier passes through its chord's middle
    menu = right_click(window, middle)
    assert window.scene.selected_node_ids() == []  # the wire became the selection
    assert window.scene.selected_edges() == [(f"{a}.value", f"{b}.message")]
    got = entries(menu)
    assert got["Delete"] == (QKeySequence("Del").toString(), True)
    assert got["Insert Node on Wire…"][1]
    next(x for x in menu.actions() if x.text() == "&Insert Node on Wire…").trigger()
    search = window.placement.search
    assert search.isVisible() and f"from {a}.value" in search.input.placeholderText()
    qtbot.keyClicks(search.input, "delay")
    qtbot.keyClick(search.input, Qt.Key.Key_Return)
    (new,) = [n for n in window.scene.nodes if n not in (a, b)]
    wires = {(c.from_, c.to) for c in window.doc.connections(None)}
    assert wires == {(f"{a}.value", f"{new}.value"), (f"{new}.value", f"{b}.message")}
    window.stack.undo()  # one step
    assert {(c.from_, c.to) for c in window.doc.connections(None)} == \
        {(f"{a}.value", f"{b}.message")} and new not in window.scene.nodes

    menu = right_click(window, middle)
    next(x for x in menu.actions() if x.text() == "De&lete").trigger()
    assert window.doc.connections(None) == [] and set(window.scene.nodes) == {a, b}


def test_the_canvas_menu_adds_and_pastes_at_the_click(window, qtbot):
    a = add(window, "debug.log", 0, 0)
    select(qtbot, window, [a])
    window.actions_by_name["copy"].trigger()
    click = QPointF(400, 300)
    menu = right_click(window, click)
    got = entries(menu)
    assert got["Add Node…"] == (QKeySequence("Tab").toString(), True)
    assert got["Paste"][0] == QKeySequence(QKeySequence.StandardKey.Paste).toString()
    assert {"Select All", "Fit All"} <= set(got)
    next(x for x in menu.actions() if x.text() == "&Paste").trigger()
    (pasted,) = window.scene.selected_node_ids()
    assert pasted != a and window.doc.node(None, pasted).position == (400.0, 300.0)
    menu = right_click(window, QPointF(-300, 500))
    next(x for x in menu.actions() if x.text() == "Add &Node…").trigger()
    assert window.placement.search.isVisible()
    qtbot.keyClicks(window.placement.search.input, "delay")
    qtbot.keyClick(window.placement.search.input, Qt.Key.Key_Return)
    (added,) = window.scene.selected_node_ids()
    assert window.doc.node(None, added).position == (-300.0, 500.0)
    menu.close()
    qtbot.waitUntil(lambda: window.context_menus.point is None, timeout=2000)


def test_the_menu_actions_are_in_the_menu_bar_and_the_palette(window):
    bar = {a.text().replace("&", "") for m in window.menuBar().actions() if m.menu()
           for a in m.menu().actions()}
    assert {"Rename…", "Disable", "Create Subgraph from Selection…",
            "Ungroup Sub-workflow"} <= bar
    names = window.actions_by_name
    assert {"rename", "toggle_disabled", "create_subgraph", "ungroup"} <= set(names)
    keys = [k for a in names.values()
            for k in {s.toString() for s in a.shortcuts() if not s.isEmpty()}]
    assert len(keys) == len(set(keys)), "two actions share a shortcut"


def test_screenshot_of_a_node_menu(make_window, qtbot, tmp_path):
    """Renders the window with a node's context menu open (judged by eye when made)."""
    window = make_window()
    open_file(window, EXAMPLES / "if_else.flow.json")
    select(qtbot, window, ["log_long"])
    menu = right_click(window, centre(window, "log_short"))
    drawn, at = menu.grab(), window.mapFromGlobal(menu.pos())
    shot = window.grab().toImage()
    painter = QPainter(shot)
    painter.drawPixmap(at, drawn)
    painter.end()
    path = tmp_path / "node_menu.png"
    assert shot.save(str(path)) and path.stat().st_size > 10_000
    shot.save("/tmp/flowui_node_menu.png")  # for a person to look at


def test_a_real_right_click_keeps_the_selection_the_node_joins(window, qtbot):
    """Press, release, then the context menu event, as a mouse sends them."""
    from PySide6.QtGui import QMouseEvent

    from tests.flowui.conftest import mouse

    a = add(window, "debug.log", 0, 0)
    b = add(window, "debug.log", 300, 0)
    select(qtbot, window, [a])
    at = centre(window, b)
    right = Qt.MouseButton.RightButton
    mouse(window.view, QMouseEvent.Type.MouseButtonPress, at, button=right, buttons=right)
    mouse(window.view, QMouseEvent.Type.MouseButtonRelease, at, button=right,
          buttons=Qt.MouseButton.NoButton)
    menu = right_click(window, at)
    assert set(window.scene.selected_node_ids()) == {a, b}
    assert {(n.id, n.position) for n in window.doc.nodes(None)} == \
        {(a, (0.0, 0.0)), (b, (300.0, 0.0))}  # nothing moved
    menu.close()
