"""Compare with File / Compare with Last Commit through the window: the overlay's
colours on the right items, the Differences list, centring, closing, git."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsPathItem

from flowui import theme
from flowui.compare.overlay import DIMMED, colors
from tests.flowui.test_run_live import open_file, write

NODES = [
    {"id": "start", "type": "flow.start", "position": [0, 0]},
    {"id": "greet", "type": "text.template", "position": [300, 0],
     "config": {"template": "Hello {{ name }}", "extra": {"deep": 1}}},
    {"id": "log", "type": "debug.log", "position": [600, 0]},
    {"id": "gone", "type": "debug.log", "position": [600, 300]},
]
WIRES = [("greet.text", "log.value"), ("greet.text", "gone.value")]


def _tints(item) -> list[QColor]:
    return [c.pen().color() for c in item.childItems() if isinstance(c, QGraphicsPathItem)]


def _edited(tmp_path: Path) -> tuple[Path, Path]:
    """The old version on disk, and a new one: greet changed, gone removed, late added."""
    old = write(tmp_path, "old", NODES, WIRES)
    nodes = [dict(n) for n in NODES if n["id"] != "gone"]
    nodes[1] = {**nodes[1], "config": {"template": "Hi {{ name }}", "extra": {"deep": 2}}}
    nodes.append({"id": "late", "type": "debug.log", "position": [900, 0]})
    new = write(tmp_path, "new", nodes, [("greet.text", "log.value"), ("log.value", "late.value")])
    return old, new


def test_compare_with_a_file_tints_lists_centres_and_clears(make_window, tmp_path, qtbot):
    w = make_window()
    old, new = _edited(tmp_path)
    open_file(w, new)
    scene_before = set(w.scene.items())
    doc_before = w.doc.workflow.model_dump()
    assert w.compare.compare_with_file(old)
    c = colors()
    nodes = w.scene.nodes
    assert _tints(nodes["late"]) == [c["added"]]
    assert _tints(nodes["greet"]) == [c["changed"]]
    assert _tints(nodes["log"]) == [] and nodes["log"].opacity() == DIMMED
    assert nodes["greet"].opacity() == 1.0
    assert w.compare.overlay.kinds == {"start": "unchanged", "greet": "changed", "log": "unchanged",
                                       "late": "added", "gone": "removed"}
    # The ghost: a dashed red item at the removed node's old place, not in the document.
    ghosts = [i for i in w.scene.items() if i not in scene_before and i.parentItem() is None
              and isinstance(i, QGraphicsPathItem) and i.toolTip().startswith("Removed")]
    assert len(ghosts) == 1 and ghosts[0].pen().color() == c["removed"]
    assert ghosts[0].boundingRect().contains(QPointF(610, 310))
    assert "gone" not in w.doc.workflow.model_dump()["nodes"].__repr__()
    assert w.compare.overlay.wire_kinds[("log.value", "late.value")] == "added"
    assert w.compare.overlay.wire_kinds[("greet.text", "gone.value")] == "removed"
    assert w.doc.workflow.model_dump() == doc_before  # nothing went into the document
    assert not w.stack.canUndo()
    # The list: per node, field by field.
    tree = w.compare.panel.tree
    assert w.compare.dock.isVisible()
    tops = [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())]
    assert {"~ greet (changed)", "+ late (added)", "\u2212 gone (removed)"} <= set(tops)
    greet = next(tree.topLevelItem(i) for i in range(tree.topLevelItemCount())
                 if "greet" in tree.topLevelItem(i).text(0))
    assert [greet.child(i).text(0) for i in range(greet.childCount())] == [
        "config.template: 'Hello {{ name }}' → 'Hi {{ name }}'", "config.extra.deep: 1 → 2"]
    # Clicking an entry selects and centres its node.
    w.view.centerOn(-3000, -3000)
    tree.itemClicked.emit(greet.child(1), 0)
    assert w.scene.selected_node_ids() == ["greet"]
    centre = w.view.mapToScene(w.view.viewport().rect().center())
    assert (centre - nodes["greet"].sceneBoundingRect().center()).manhattanLength() < 4
    # Escape on the canvas ends it: no ghosts, no tints, nothing dimmed.
    w.view.escape_pressed.emit()
    assert not w.compare.active and not w.compare.dock.isVisible()
    assert set(w.scene.items()) == scene_before
    assert all(n.opacity() == 1.0 and not _tints(n) for n in nodes.values())


def test_an_edit_while_comparing_recomputes_the_overlay(make_window, tmp_path):
    w = make_window()
    old, new = _edited(tmp_path)
    open_file(w, new)
    w.compare.compare_with_file(old)
    w.editor.select(["late"])
    w.editor.delete_selection()
    assert "late" not in w.compare.overlay.kinds
    assert w.compare.active
    w.stack.undo()
    assert w.compare.overlay.kinds["late"] == "added" and _tints(w.scene.nodes["late"])
    w.compare.panel.close_button.click()
    assert not w.compare.active and not _tints(w.scene.nodes["late"])


def test_the_same_file_shows_no_differences_and_colours_follow_the_theme(make_window, tmp_path):
    w = make_window()
    old, _ = _edited(tmp_path)
    open_file(w, old)
    assert w.compare.compare_with_file(old)
    assert w.compare.diff.empty and w.compare.panel.tree.topLevelItemCount() == 0
    assert "No differences" in w.compare.panel.summary.text()
    dark = colors()
    assert dark["added"] == QColor(theme.DARK.statuses["completed"])
    light_added = QColor(theme.LIGHT.statuses["completed"])
    assert light_added.isValid() and QColor(theme.LIGHT.edited).isValid()


def test_a_bad_or_newer_file_gives_an_error_naming_it(make_window, tmp_path):
    w = make_window()
    _, new = _edited(tmp_path)
    open_file(w, new)
    bad = tmp_path / "broken.flow.json"
    bad.write_text("{ not json")
    assert not w.compare.compare_with_file(bad)
    newer = tmp_path / "future.flow.json"
    newer.write_text(json.dumps({"format": "flowui-workflow", "version": 99, "nodes": []}))
    assert not w.compare.compare_with_file(newer)
    assert not w.compare.compare_with_file(tmp_path / "missing.flow.json")
    assert any("broken.flow.json" in a for a in w.asked)
    assert any("future.flow.json" in a for a in w.asked)
    assert any("missing.flow.json" in a for a in w.asked)
    assert not w.compare.active


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd,
                   check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_compare_with_last_commit_in_a_real_repository(make_window, tmp_path):
    w = make_window()
    repo = tmp_path / "repo"
    (repo / "flows").mkdir(parents=True)
    path = write(repo / "flows", "orders", NODES, WIRES)
    _git(repo, "init", "-q")
    open_file(w, path)
    assert not w.compare.compare_last_commit()  # untracked
    assert "no committed version" in w.asked[-1]
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "first")
    w.editor.select(["gone"])
    w.editor.delete_selection()
    assert w.files.save()
    assert w.compare.compare_last_commit()
    assert w.compare.overlay.kinds["gone"] == "removed"
    assert [n.node_id for n in w.compare.diff.nodes] == ["gone"]
    assert "last commit" in w.compare.panel.summary.text()
    outside = write(tmp_path, "loose", NODES)
    open_file(w, outside)
    assert not w.compare.active  # another workflow opened: the comparison ended
    assert not w.compare.compare_last_commit()
    assert "not in a git repository" in w.asked[-1]


def test_a_wire_over_a_node_does_not_fill_with_the_brush_left_by_the_item_before(qapp):
    """The view keeps no painter state between items (DontSavePainterState): a
    comparison's filled tint, painted just before, once filled a wire's curve."""
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtWidgets import QStyleOptionGraphicsItem

    from flowui.canvas.edge_item import EdgeItem

    edge = EdgeItem("a.out", "b.in", "any")
    edge.set_ends(QPointF(10, 10), QPointF(110, 190))
    edge.set_over(True)
    image = QImage(120, 200, QImage.Format.Format_ARGB32)
    image.fill(QColor("black"))
    painter = QPainter(image)
    painter.setBrush(QColor("magenta"))
    edge.paint(painter, QStyleOptionGraphicsItem(), None)
    painter.end()
    # Off the curve, beside the chord: only the background.
    assert image.pixelColor(60, 100) != QColor("magenta")
    magenta = sum(image.pixelColor(x, y) == QColor("magenta")
                  for x in range(0, 120, 3) for y in range(0, 200, 3))
    assert magenta == 0


def test_the_actions_are_in_the_file_menu_with_a_key_no_other_action_uses(make_window):
    w = make_window()
    file_menu = w.menuBar().actions()[0].menu()
    entries = [a.text() for a in file_menu.actions()]
    assert "Compare with &File…" in entries and "Compare with &Last Commit" in entries
    key = w.compare.actions["compare_file"].shortcut()
    assert key.toString() == "Ctrl+Alt+D"
    assert [a for a in w.actions_by_name.values() if key in a.shortcuts()] == [
        w.compare.actions["compare_file"]]


def test_nodes_that_only_moved_are_folded_after_the_edits(make_window, tmp_path):
    old = write(tmp_path, "old", NODES, WIRES)
    moved = [{**n, "position": [n["position"][0] + 500, n["position"][1] + 40]} for n in NODES]
    moved[1] = {**moved[1], "config": {"template": "Hi", "extra": {"deep": 1}}}
    new = write(tmp_path, "new", moved, WIRES)
    w = make_window()
    open_file(w, new)
    assert w.compare.compare_with_file(old)
    tree = w.compare.panel.tree
    tops = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    assert tops[0].text(0) == "~ greet (changed)"  # the edit first, whatever the order
    (folded,) = [t for t in tops if t.text(0).startswith("Moved only")]
    assert folded.text(0) == "Moved only (3 nodes)" and not folded.isExpanded()
    assert sorted(folded.child(i).text(0) for i in range(folded.childCount())) == [
        "~ gone (moved)", "~ log (moved)", "~ start (moved)"]
