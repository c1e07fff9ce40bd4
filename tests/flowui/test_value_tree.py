"""ValueTree, the Run tab's JSON tree: what rows show, lazy building of huge values,
"show more", paths and copying, the search over unbuilt data, long strings and bytes."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMenu, QPlainTextEdit, QTreeWidgetItem

from flowui import theme
from flowui.run import value_model as vm
from flowui.run.value_tree import ValueTree, brushes

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


@pytest.fixture(autouse=True)
def _clipboard_cleared():
    yield
    QGuiApplication.clipboard().clear()  # the offscreen platform crashes at exit otherwise


@pytest.fixture
def tree(qtbot) -> ValueTree:
    theme.apply(QApplication.instance())
    widget = ValueTree()
    qtbot.addWidget(widget)
    widget.resize(600, 500)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def root(tree: ValueTree) -> QTreeWidgetItem:
    item = tree.tree.topLevelItem(0)
    assert item is not None
    return item


def child(item: QTreeWidgetItem, key: str) -> QTreeWidgetItem:
    """The child row whose key column reads `key`, opening `item` as a user would."""
    item.treeWidget().expandItem(item)
    for i in range(item.childCount()):
        if item.child(i).text(0) == key:
            return item.child(i)
    raise AssertionError(f"no row {key!r} under {item.text(0)!r}")


def row(item: QTreeWidgetItem) -> tuple[str, str, str]:
    return item.text(0), item.text(1), item.text(2)


def focus_tree(tree: ValueTree, qtbot, item: QTreeWidgetItem) -> None:
    tree.activateWindow()
    tree.tree.setFocus()
    qtbot.waitUntil(tree.tree.hasFocus)
    tree.tree.setCurrentItem(item)


# --- what rows show -----------------------------------------------------------------------

def test_nested_values_show_keys_values_and_types(tree):
    tree.set_value({"name": "Ada", "age": 36, "ratio": 0.5, "ok": True, "gone": None,
                    "tags": ["x", 2], "empty": {}})
    top = root(tree)
    assert top.isExpanded()
    assert row(top)[1:] == ("{7 keys}", "object")
    assert [row(top.child(i)) for i in range(top.childCount())] == [
        ("name", '"Ada"', "string"), ("age", "36", "integer"), ("ratio", "0.5", "number"),
        ("ok", "true", "boolean"), ("gone", "null", "null"), ("tags", "[2 items]", "array"),
        ("empty", "{}", "object")]
    colors = [top.child(i).foreground(1).color().name() for i in range(5)]
    assert colors == ["#3fb950", "#79c0ff", "#79c0ff", "#f0883e", "#f0883e"]
    tags = child(top, "tags")
    assert top.child(6).childIndicatorPolicy() != \
        QTreeWidgetItem.ChildIndicatorPolicy.ShowIndicator  # nothing to open in {}
    assert [row(child(tags, k)) for k in ("[0]", "[1]")] == [
        ("[0]", '"x"', "string"), ("[1]", "2", "integer")]
    assert tree.value_of(tags) == ["x", 2]


def test_a_scalar_root_and_other_objects(tree):
    tree.set_value(42)
    assert row(root(tree)) == ("", "42", "integer")

    class Blob:
        def __repr__(self) -> str:
            return "Blob(" + "z" * 500 + ")"

    tree.set_value({"blob": Blob()})
    blob = child(root(tree), "blob")
    assert blob.text(2) == "Blob"
    assert blob.text(1) == ("Blob(" + "z" * 500)[:200] + "…"


def test_bytes_are_summarised_with_a_hex_preview(tree):
    data = b"\x89PNG\r\n\x1a\n" + bytes(92)
    tree.set_value({"raw": data})
    raw = child(root(tree), "raw")
    assert row(raw) == ("raw", "bytes (100 B)", "bytes")
    tree.tree.expandItem(raw)
    assert raw.childCount() == 5  # 4 rows of 16 bytes, then what is left
    assert raw.child(0).text(0) == "0000"
    assert raw.child(0).text(1).startswith("89 50 4e 47 0d 0a 1a 0a 00")
    assert raw.child(0).text(1).endswith(".PNG............")
    assert raw.child(4).text(0) == "… 36 B more"
    assert tree.path_of(raw.child(2)) == "raw"  # a hex row stands for its bytes


# --- laziness and "show more" ---------------------------------------------------------------

def test_a_million_items_show_at_once_and_only_a_page_is_built(tree):
    big = list(range(1_000_000))
    tree.set_value(big, note="a big one")
    top = root(tree)
    assert row(top)[1] == "[1,000,000 items]"
    assert top.childCount() == 202
    assert [top.child(i).text(0) for i in (0, 199, 200, 201)] == [
        "[0]", "[199]", "… show 200 more (999,800 left)", "… show 10,000 more (999,800 left)"]
    assert tree.note.isVisible() and tree.note_text() == "a big one"
    assert tree.value is big
    tree.show_more(top.child(201))  # one click never builds a million rows
    assert top.childCount() == 200 + 10_000 + 2


def test_a_big_object_builds_grandchildren_only_when_opened(tree):
    value = {f"key {i}": {"n": i, "more": [i]} for i in range(200_000)}
    tree.set_value(value)
    top = root(tree)
    assert top.childCount() == 202
    first = top.child(0)
    assert first.childCount() == 0 and not first.isExpanded()
    assert first.childIndicatorPolicy() == QTreeWidgetItem.ChildIndicatorPolicy.ShowIndicator
    assert row(child(first, "n")) == ("n", "0", "integer")  # built by opening it


def test_show_more_and_show_all_add_children(tree, qtbot):
    tree.set_value(list(range(450)))
    top = root(tree)
    more = top.child(200)
    assert more.text(0) == "… show 200 more (250 left)"
    assert more.isFirstColumnSpanned()  # its text is not cut to the key column
    focus_tree(tree, qtbot, more)
    qtbot.keyClick(tree.tree, Qt.Key.Key_Return)
    assert top.childCount() == 401
    assert top.child(399).text(0) == "[399]"
    assert top.child(400).text(0) == "… show 50 more"  # no "show all" for one page
    assert tree.tree.currentItem().text(0) == "[200]"

    tree.set_value(list(range(1000)))
    top = root(tree)
    assert top.child(201).text(0) == "… show all 800"
    tree.tree.scrollToItem(top.child(201))
    spot = tree.tree.visualItemRect(top.child(201)).center()
    # QTest's double-click on a widget is the second click only: the first goes before it.
    qtbot.mouseClick(tree.tree.viewport(), Qt.MouseButton.LeftButton, pos=spot)
    qtbot.mouseDClick(tree.tree.viewport(), Qt.MouseButton.LeftButton, pos=spot)
    assert top.childCount() == 1000
    assert [top.child(i).text(1) for i in (200, 999)] == ["200", "999"]


# --- paths and copying --------------------------------------------------------------------

def test_paths_in_the_form_templates_use(tree):
    tree.set_value({"data": {"items": [0, 1, {"odd key": 5, "name": "x"}]}, "a b": 1})
    top = root(tree)
    item = child(child(child(child(top, "data"), "items"), "[2]"), "odd key")
    assert tree.path_of(item) == 'data.items[2]["odd key"]'
    assert tree.path_of(item.parent().child(1)) == "data.items[2].name"
    assert tree.path_of(tree.tree.indexFromItem(item)) == 'data.items[2]["odd key"]'
    assert tree.path_of(top) == ""
    assert tree.path_of(child(top, "a b")) == '["a b"]'
    assert tree.value_of(item) == 5
    tree.set_value([{"x": 1}])
    assert tree.path_of(child(child(root(tree), "[0]"), "x")) == "[0].x"
    assert vm.path_text(["body", "items", 3, "name"]) == "body.items[3].name"


def test_copy_value_and_path_with_the_keyboard(tree, qtbot):
    tree.set_value({"body": {"items": [{"name": "Ada", "n": 1}], "text": "raw\ntext"}})
    body = child(root(tree), "body")
    first = child(child(body, "items"), "[0]")
    focus_tree(tree, qtbot, first)
    clipboard = QGuiApplication.clipboard()
    qtbot.keyClick(tree.tree, Qt.Key.Key_C, CTRL)
    assert clipboard.text() == '{\n  "name": "Ada",\n  "n": 1\n}'
    assert json.loads(clipboard.text()) == {"name": "Ada", "n": 1}
    qtbot.keyClick(tree.tree, Qt.Key.Key_C, CTRL | SHIFT)
    assert clipboard.text() == "body.items[0]"
    tree.tree.setCurrentItem(child(body, "text"))
    tree.copy_value()
    assert clipboard.text() == "raw\ntext"  # a string's own text, not JSON
    tree.copy_path()
    assert clipboard.text() == "body.text"


def test_the_context_menu_offers_the_actions(tree, qtbot):
    tree.set_value({"a": 1})
    item = child(root(tree), "a")
    point = tree.tree.visualItemRect(item).center()
    tree.tree.customContextMenuRequested.emit(point)
    menu = tree.findChild(QMenu)
    assert menu is not None and menu.isVisible()
    assert [a.text() for a in menu.actions()] == ["Copy value", "Copy path", "",
                                                  "Show full value"]
    assert tree.tree.currentItem() is item
    menu.close()


# --- long strings --------------------------------------------------------------------------

def test_a_long_string_is_cut_and_shown_whole_in_a_window(tree, qtbot):
    text = "abc " * 3086 + "z"  # 12,345 characters
    tree.set_value({"long": text, "short": "hi"})
    long = child(root(tree), "long")
    assert long.text(1) == json.dumps(text[:300]) + " … (12,345 chars)"
    tree.tree.setCurrentItem(long)
    tree.show_full_action.trigger()
    dialogs = [d for d in tree.findChildren(QPlainTextEdit) if d.isVisible()]
    assert len(dialogs) == 1
    window = dialogs[0].window()
    assert window is not tree.window() and not window.isModal()
    assert window.windowTitle() == "Value of long"
    assert dialogs[0].toPlainText() == text and dialogs[0].isReadOnly()
    window.close()


# --- search --------------------------------------------------------------------------------

def deep_value() -> dict:
    rows = [{"id": i, "label": f"row {i}"} for i in range(5000)]
    rows[4321]["label"] = "the Needle here"
    return {"meta": {"count": 5000}, "deep": {"inner": {"rows": rows}}}


def test_search_finds_a_value_in_an_unbuilt_branch_and_selects_it(tree):
    tree.set_value(deep_value())
    deep = root(tree).child(1)
    assert deep.childCount() == 0  # never opened
    assert tree.search("needle") == 1
    current = tree.tree.currentItem()
    assert tree.path_of(current) == "deep.inner.rows[4321].label"
    assert current.isSelected() and current.background(1) == brushes().match
    assert tree.value_of(current) == "the Needle here"
    assert tree.match_label.text() == "1 of 1 match"
    rows = current.parent().parent()
    assert rows.isExpanded() and rows.childCount() < 210  # only the needed row was added
    assert tree.search("") == 0
    assert current.background(1) != brushes().match and tree.match_label.text() == ""


def test_next_and_previous_cycle_through_the_matches(tree, qtbot):
    tree.set_value({"a": {"fox": 1}, "b": ["the fox", "dog"], "Fox": None, "c": "cat"})
    assert tree.search("fox") == 3
    paths, matched = [], []
    for _ in range(3):
        matched.append(tree.tree.currentItem())
        paths.append((tree.path_of(matched[-1]), tree.match_label.text()))
        tree.next_match()
    assert paths == [("a.fox", "1 of 3 matches"), ("b[0]", "2 of 3 matches"),
                     ("Fox", "3 of 3 matches")]
    assert all(item.background(0) == brushes().match for item in matched)
    assert child(root(tree), "c").background(0) != brushes().match
    assert tree.path_of(tree.tree.currentItem()) == "a.fox"  # around again
    tree.previous_match()
    assert tree.match_label.text() == "3 of 3 matches"

    tree.activateWindow()
    tree.search_box.setFocus()
    qtbot.waitUntil(tree.search_box.hasFocus)
    qtbot.keyClick(tree.search_box, Qt.Key.Key_Return)
    assert tree.match_label.text() == "1 of 3 matches"
    qtbot.keyClick(tree.search_box, Qt.Key.Key_Return, SHIFT)
    assert tree.match_label.text() == "3 of 3 matches"
    qtbot.keyClick(tree.search_box, Qt.Key.Key_F3)
    assert tree.match_label.text() == "1 of 3 matches"
    qtbot.keyClick(tree.search_box, Qt.Key.Key_F3, SHIFT)
    assert tree.match_label.text() == "3 of 3 matches"


def test_typing_searches_and_says_when_nothing_matches(tree, qtbot):
    tree.set_value(deep_value())
    qtbot.keyClicks(tree.search_box, "NEEDLE")
    qtbot.waitUntil(lambda: tree.match_label.text() == "1 of 1 match")
    tree.search_box.setText("no such thing")
    qtbot.waitUntil(lambda: tree.match_label.text() == "No match")
    tree.search_box.clear()
    qtbot.waitUntil(lambda: tree.match_label.text() == "")


def test_search_stops_at_a_thousand_matches_and_bounds_its_walk(tree):
    tree.set_value(["x"] * 1500)
    assert tree.search("x") == 1000
    assert tree.match_label.text() == "1 of 1,000+ matches"
    tree.set_value(list(range(300_000)))
    assert tree.search("abc") == 0
    assert tree.match_label.text() == "No match (partial)"
    assert "200,000" in tree.match_label.toolTip()


# --- replacing and clearing ----------------------------------------------------------------

def test_set_value_replaces_and_clear_shows_the_placeholder(tree):
    tree.set_value({"a": 1}, note="cut")
    tree.search("a")
    tree.set_value([1, 2])
    assert tree.tree.topLevelItemCount() == 1 and row(root(tree))[1] == "[2 items]"
    assert tree.note.isHidden() and tree.note_text() == "" and tree.match_label.text() == ""
    tree.set_placeholder("No outputs yet")
    tree.clear()
    assert tree.stack.currentWidget() is tree.placeholder
    assert tree.placeholder.text() == "No outputs yet" and tree.placeholder.isVisible()
    assert tree.tree.topLevelItemCount() == 0 and tree.search_bar.isHidden()
    assert tree.path_of(None) == "" and tree.value_of(None) is None and tree.value is None
    tree.set_value("back")
    assert tree.stack.currentWidget() is tree.tree and tree.search_bar.isVisible()


def test_the_model_helpers():
    assert vm.summary({"a": 1}) == "{1 key}" and vm.summary([1] * 120) == "[120 items]"
    assert vm.summary(float("nan")) == "NaN" and vm.kind((1, 2)) == "array"
    assert vm.json_text({(1, 2): b"x"}) == '{\n  "(1, 2)": "b\'x\'"\n}'  # no crash
    loop: list = []
    loop.append(loop)
    assert "cycle" in vm.json_text(loop)
    assert vm.search(loop, "zzz").partial  # a cycle cannot run the walk forever
    assert vm.search({"a": [{"b": "hit"}]}, "HIT").matches == [(0, 0, 0)]
