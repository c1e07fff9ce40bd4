"""Edit ▸ Arrange ▸ Auto-Layout through the window (one undo step restoring exact
positions, redo, the glide that any change ends), and wires never looking attached to
a node they do not touch: such a wire is drawn over the node (flowui.canvas.crossings),
on the if_else example as opened and after laying out a random graph."""

from __future__ import annotations

import random

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter

from flowui import resources
from flowui.canvas.node_item import NodeItem
from flowui.layout import overlaps
from flowui.wire_geometry import passes_through, polyline
from tests.flowui.test_run_live import open_file, select, write


def random_workflow(tmp_path, n: int, seed: int = 1, *, local: int = 12):
    """`n` log and merge nodes scattered at random, each wired from one or two of the
    `local` nodes before it (as a workflow grows), a few left unwired."""
    rnd = random.Random(seed)
    nodes, wires = [], []
    for i in range(n):
        merge = i > 1 and rnd.random() < 0.35
        nodes.append({"id": f"n{i}", "type": "control.merge" if merge else "debug.log",
                      "position": [rnd.randrange(0, 4000, 10), rnd.randrange(0, 3000, 10)]})
        if i == 0 or rnd.random() < 0.05:
            continue
        for s in rnd.sample(range(max(0, i - local), i), min(i, 2 if merge else 1)):
            wires.append((f"n{s}.value", f"n{i}.{'values' if merge else 'message'}"))
    return write(tmp_path, f"random{n}", nodes, wires)


def positions(window) -> dict[str, tuple[float, float]]:
    return {spec.id: tuple(spec.position) for spec in window.doc.nodes(None)}


def item_positions(window) -> dict[str, tuple[float, float]]:
    return {k: (item.pos().x(), item.pos().y()) for k, item in window.scene.nodes.items()}


def node_overlaps(window) -> list[tuple[str, str]]:
    rects = {k: item.scene_body_rect() for k, item in window.scene.nodes.items()}
    return overlaps({k: (r.x(), r.y()) for k, r in rects.items()},
                    {k: (r.width(), r.height()) for k, r in rects.items()})


def wires_under_nodes(window) -> list[tuple[tuple[str, str], str]]:
    """(wire, node) for every wire whose drawn curve passes through a node it does not
    touch while it is drawn under that node."""
    found = []
    for key, edge in window.scene.edges.items():
        start, end = edge.ends()
        points = polyline((start.x(), start.y()), (end.x(), end.y()))
        ends = {key[0].split(".")[0], key[1].split(".")[0]}
        for node_id, item in window.scene.nodes.items():
            r = item.scene_body_rect()
            if node_id not in ends and passes_through(
                    points, (r.x() + 1, r.y() + 1, r.width() - 2, r.height() - 2)) \
                    and edge.zValue() <= item.zValue():
                found.append((key, node_id))
    return found


def settle(window, qtbot) -> None:
    """The glide ended and the wires checked (both on the event loop)."""
    qtbot.waitUntil(lambda: not window.editor.glide.running, timeout=3000)
    checked(window, qtbot)


def checked(window, qtbot) -> None:
    """Every wire checked for the nodes it crosses (in slices of the loop's turns)."""
    qtbot.wait(10)
    qtbot.waitUntil(lambda: not window.scene.crossings.pending, timeout=3000)


def test_the_menu_lays_out_the_graph_in_one_undo_step_and_undo_restores_it(
        window, qtbot, tmp_path):
    open_file(window, random_workflow(tmp_path, 60))
    checked(window, qtbot)
    before = positions(window)
    saved = window.doc.workflow.model_dump_json()
    assert node_overlaps(window), "the scattered input overlaps, or this proves little"
    edit = next(a for a in window.menuBar().actions() if a.text() == "&Edit").menu()
    sub = next(a.menu() for a in edit.actions() if a.menu() is not None
               and a.text().replace("&", "") == "Arrange")
    action = window.actions_by_name["auto_layout"]
    assert action in sub.actions()
    assert action.shortcut().toString() == "Ctrl+Shift+L"
    steps = window.stack.count()
    action.trigger()
    assert window.stack.count() == steps + 1
    laid = positions(window)
    assert laid != before
    settle(window, qtbot)
    assert item_positions(window) == laid  # the glide ended where the document says
    assert node_overlaps(window) == []
    for c in window.doc.connections(None):  # every wire runs left to right
        a, b = window.scene.nodes[c.source[0]], window.scene.nodes[c.target[0]]
        assert b.pos().x() > a.pos().x() + a.body_rect().width()
    window.stack.undo()
    assert positions(window) == before
    assert window.doc.workflow.model_dump_json() == saved
    assert item_positions(window) == before
    window.stack.redo()
    assert positions(window) == laid
    assert item_positions(window) == laid
    assert window.stack.text(window.stack.index() - 1).startswith("Auto-Layout the graph")


def test_the_nodes_glide_and_an_undo_or_a_second_layout_meanwhile_is_safe(
        window, qtbot, tmp_path):
    open_file(window, random_workflow(tmp_path, 30, seed=4))
    checked(window, qtbot)
    before = positions(window)
    window.actions_by_name["auto_layout"].trigger()
    laid = positions(window)
    assert window.editor.glide.running
    qtbot.wait(60)  # part way: the items are between where they were and where they go
    moving = [k for k in laid if laid[k] != before[k]]
    between = [k for k in moving if item_positions(window)[k] not in (before[k], laid[k])]
    assert between
    window.stack.undo()  # mid-glide
    assert not window.editor.glide.running
    assert item_positions(window) == before == positions(window)
    qtbot.wait(300)
    assert item_positions(window) == before  # and nothing moves them afterwards
    window.stack.redo()
    window.actions_by_name["auto_layout"].trigger()  # already laid out: nothing to do
    assert item_positions(window) == laid
    window.stack.undo()
    window.actions_by_name["auto_layout"].trigger()
    qtbot.wait(40)
    window.actions_by_name["auto_layout"].trigger()  # a second one while the first glides
    settle(window, qtbot)
    assert item_positions(window) == positions(window) == laid


def test_the_selection_alone_is_laid_out_and_overlaps_none_of_the_others(
        window, qtbot, tmp_path):
    open_file(window, random_workflow(tmp_path, 40, seed=2))
    checked(window, qtbot)
    window.actions_by_name["auto_layout"].trigger()
    settle(window, qtbot)
    ids = sorted(window.scene.nodes)
    chosen = ids[5:17]
    # scatter the chosen ones over the others first
    for k, node_id in enumerate(chosen):
        item = window.scene.nodes[ids[k]]
        window.editor.move_nodes({node_id: (positions(window)[node_id],
                                            (item.pos().x() + 30, item.pos().y() + 20))})
    before = positions(window)
    select(qtbot, window, chosen)
    window.actions_by_name["auto_layout"].trigger()
    settle(window, qtbot)
    after = positions(window)
    assert {k for k in after if after[k] != before[k]} <= set(chosen)
    assert {k for k in after if after[k] != before[k]}
    assert node_overlaps(window) == []
    assert window.stack.text(window.stack.index() - 1).startswith("Auto-Layout the selection")


def test_if_else_the_wire_name_to_pause_is_drawn_over_greeting_not_under(window, qtbot):
    open_file(window, resources.examples_dir() / "if_else.flow.json")
    checked(window, qtbot)
    edge = window.scene.edges[("name.value", "pause.value")]
    greeting = window.scene.nodes["greeting"]
    start, end = edge.ends()
    points = polyline((start.x(), start.y()), (end.x(), end.y()))
    body = greeting.scene_body_rect()
    assert passes_through(points, (body.x(), body.y(), body.width(), body.height()))
    assert edge.over and edge.zValue() > greeting.zValue()
    assert wires_under_nodes(window) == []
    # drawn: a point of the wire inside Greeting's body has the wire's colour, and the
    # casing (the canvas's colour) beside it
    inside = next(QPointF(x, y) for x, y in points
                  if body.adjusted(8, 30, -8, -22).contains(QPointF(x, y)))
    image = QImage(200, 200, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(QColor("black"))
    painter = QPainter(image)
    window.scene.render(painter, QRectF(0, 0, 200, 200),
                        QRectF(inside.x() - 100, inside.y() - 100, 200, 200),
                        Qt.AspectRatioMode.IgnoreAspectRatio)
    painter.end()
    on_wire = image.pixelColor(100, 100)
    assert abs(on_wire.red() - edge.color.red()) < 40 and \
        abs(on_wire.green() - edge.color.green()) < 40, on_wire.name()
    # moved away from Greeting, the wire goes back under the nodes
    window.editor.move_nodes({"greeting": ((260.0, 0.0), (260.0, -600.0))})
    qtbot.wait(10)
    assert not edge.over and edge.zValue() < greeting.zValue()


def test_after_laying_out_a_random_graph_no_wire_is_under_a_node_it_does_not_touch(
        window, qtbot, tmp_path):
    open_file(window, random_workflow(tmp_path, 150, seed=9))
    checked(window, qtbot)
    assert wires_under_nodes(window) == []  # those crossing are drawn over
    before = sum(e.over for e in window.scene.edges.values())
    window.actions_by_name["auto_layout"].trigger()
    settle(window, qtbot)
    assert node_overlaps(window) == []
    assert wires_under_nodes(window) == []
    after = sum(e.over for e in window.scene.edges.values())
    assert after <= before / 4  # the layout leaves few wires crossing a node
    # a node dragged onto a wire: that wire is drawn over it at once (next loop turn)
    edge = next(iter(window.scene.edges.values()))
    start, end = edge.ends()
    mid = (start + end) / 2
    ends = {edge.source.split(".")[0], edge.target.split(".")[0]}
    other: NodeItem = next(i for k, i in window.scene.nodes.items() if k not in ends)
    old = positions(window)[other.node_id]
    window.editor.move_nodes({other.node_id: (old, (mid.x() - 100, mid.y() - 30))})
    qtbot.wait(10)
    assert edge.over
    assert wires_under_nodes(window) == []


def test_far_out_a_wire_crossing_a_node_is_drawn_over_its_block(window, qtbot):
    open_file(window, resources.examples_dir() / "if_else.flow.json")
    checked(window, qtbot)
    edge = window.scene.edges[("name.value", "pause.value")]
    body = window.scene.nodes["greeting"].scene_body_rect()
    line = edge.line()  # far out a wire is this straight line, drawn by the overview
    inside = next(line.pointAt(t / 100) for t in range(100)
                  if body.adjusted(4, 4, -4, -4).contains(line.pointAt(t / 100)))
    window.view.set_zoom(0.2)
    window.view.centerOn(inside)
    checked(window, qtbot)
    assert window.scene.far
    image = window.view.grab().toImage()
    at = window.view.mapFromScene(inside)
    around = {image.pixelColor(at.x() + dx, at.y() + dy).name()
              for dx in (-1, 0, 1) for dy in (-1, 0, 1)}
    assert edge.color.name() in around, around
    window.editor.move_nodes({"greeting": ((260.0, 0.0), (260.0, -600.0))})  # off the wire
    window.editor.move_nodes({"greeting": ((260.0, -600.0), (260.0, 0.0))})  # back on it
    checked(window, qtbot)
    image = window.view.grab().toImage()
    around = {image.pixelColor(at.x() + dx, at.y() + dy).name()
              for dx in (-1, 0, 1) for dy in (-1, 0, 1)}
    assert edge.color.name() in around, around


def test_the_command_palette_finds_and_runs_auto_layout(window, qtbot, tmp_path):
    open_file(window, random_workflow(tmp_path, 12, seed=3))
    checked(window, qtbot)
    before = positions(window)
    window.actions_by_name["command_palette"].trigger()
    palette = window.command_palette
    qtbot.waitExposed(palette)
    qtbot.keyClicks(palette.input, "auto layout")
    first = palette.list.topLevelItem(0)
    assert (first.text(0), first.text(1)) == ("Auto-Layout", "Ctrl+Shift+L")
    qtbot.keyClick(palette.input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: positions(window) != before, timeout=2000)
    settle(window, qtbot)
    assert node_overlaps(window) == []
