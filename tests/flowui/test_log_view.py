"""The Log dock's view: batches, the bound on its lines, filters, node activation, copying,
huge messages and following the end of the log."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication
from PySide6.QtWidgets import QApplication, QMenu, QProxyStyle, QStyle

from flowui import theme
from flowui.run.log_view import LogView
from flowui.run.records import LogLine

T0 = 1_700_000_000.25  # exact in binary: the milliseconds print as .250


def clock(ts: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts)) + f".{round(ts * 1000) % 1000:03d}"


@pytest.fixture
def view(qtbot) -> LogView:
    theme.apply(QApplication.instance())
    v = LogView()
    qtbot.addWidget(v)
    v.resize(900, 300)
    v.show()
    qtbot.waitExposed(v)
    return v


def cells(view: LogView, row: int, role: int = Qt.ItemDataRole.DisplayRole) -> list:
    return [view.proxy.index(row, column).data(role) for column in range(4)]


def lines(n: int, start: int = 0, **fields) -> list[LogLine]:
    made = []
    for i in range(start, start + n):
        values = {"ts": T0 + i, "level": "info", "node": "n", "message": f"line {i}"}
        values.update(fields)
        made.append(LogLine(**values))
    return made


def test_batches_append_with_cell_texts_and_level_colours(view: LogView, qtbot) -> None:
    inserts: list[tuple[int, int]] = []
    view.model.rowsInserted.connect(lambda parent, first, last: inserts.append((first, last)))
    view.append([LogLine(T0, "debug", "fetch", "started"),
                 LogLine(T0 + 0.5, "info", "loop1/inc", "first\nsecond\nthird", 3)])
    view.append([LogLine(T0 + 1, "warning", None, "Run retrying"),
                 LogLine(T0 + 2, "error", "parse", "x" * 800 + "\nmore")])
    assert inserts == [(0, 1), (2, 3)]  # one insertion per batch
    assert cells(view, 0) == [clock(T0), "debug", "fetch", "started"]
    assert cells(view, 1) == [clock(T0 + 0.5), "info", "loop1/inc #3", "first"]
    assert cells(view, 2) == [clock(T0 + 1), "warning", "", "Run retrying"]
    assert cells(view, 3)[3] == "x" * 500  # the first line, cut for the cell
    colours = [view.proxy.index(r, 1).data(Qt.ItemDataRole.ForegroundRole) for r in range(4)]
    assert [QColor(c).name() for c in colours] == ["#8b949e", "#e6edf3", "#d29922", "#f85149"]
    tip = view.proxy.index(1, 3).data(Qt.ItemDataRole.ToolTipRole)
    assert "first\nsecond\nthird" in tip and "cut" not in tip
    assert view.count_label.text() == "4 lines"
    assert view.dropped_label.isHidden()
    assert [view.node_box.itemText(i) for i in range(view.node_box.count())] == [
        "All nodes", "fetch", "loop1/inc", "parse"]


def test_html_in_a_message_shows_as_written(view: LogView) -> None:
    view.append([LogLine(T0, "info", "n", "<b>bold</b> & <i>")])
    tip = view.proxy.index(0, 3).data(Qt.ItemDataRole.ToolTipRole)
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;i&gt;" in tip
    assert view.proxy.index(0, 3).data() == "<b>bold</b> & <i>"


def test_the_bound_drops_the_oldest_lines_in_one_removal_per_batch(qtbot) -> None:
    view = LogView(max_lines=10)
    qtbot.addWidget(view)
    removals: list[tuple[int, int]] = []
    view.model.rowsRemoved.connect(lambda parent, first, last: removals.append((first, last)))
    view.append(lines(6))
    view.append(lines(6, start=6))
    assert removals == [(0, 1)]
    assert view.model.rowCount() == 10
    assert cells(view, 0)[3] == "line 2" and cells(view, 9)[3] == "line 11"
    assert not view.dropped_label.isHidden()
    assert view.dropped_label.text() == "2 older lines dropped"
    assert view.count_label.text() == "10 lines"
    view.append(lines(25, start=12))  # a batch larger than the bound keeps its newest lines
    assert removals == [(0, 1), (0, 9)]
    assert [cells(view, r)[3] for r in (0, 9)] == ["line 27", "line 36"]
    assert view.dropped_label.text() == "27 older lines dropped"
    view.clear()
    assert view.model.rowCount() == 0 and view.dropped_label.isHidden()
    assert view.count_label.text() == "0 lines"


def test_level_node_and_text_filters_with_the_count(view: LogView) -> None:
    view.append([
        LogLine(T0, "debug", "loop1", "loop starts"),
        LogLine(T0 + 1, "info", "loop1/inc", "Incremented", 0),
        LogLine(T0 + 2, "warning", "loop1/inc", "slow item", 1),
        LogLine(T0 + 3, "error", "loop10", "boom"),
        LogLine(T0 + 4, "info", None, "Run completed in 1.00 s"),
        LogLine(T0 + 5, "error", "fetch", "HTTP 500 from INCREMENT service"),
    ])
    assert view.count_label.text() == "6 lines"

    def shown() -> list[str]:
        return [view.proxy.index(r, 3).data() for r in range(view.proxy.rowCount())]

    view.level_box.setCurrentIndex(2)  # warnings and errors
    assert shown() == ["slow item", "boom", "HTTP 500 from INCREMENT service"]
    assert view.count_label.text() == "3 of 6 lines"
    view.level_box.setCurrentIndex(0)
    view.node_box.setCurrentText("loop1")  # a known path: the node and its body, not loop10
    assert shown() == ["loop starts", "Incremented", "slow item"]
    view.node_box.setCurrentText("LOOP")  # typed: part of a path, any case
    assert shown() == ["loop starts", "Incremented", "slow item", "boom"]
    view.node_box.setCurrentText("All nodes")
    view.text_edit.setText("INC")  # the message or the node, any case
    assert shown() == ["Incremented", "slow item", "HTTP 500 from INCREMENT service"]
    view.text_edit.setText("#1")  # the iteration shown with the node
    assert shown() == ["slow item"]
    view.text_edit.setText("increment")
    view.level_box.setCurrentIndex(3)  # errors only
    assert shown() == ["HTTP 500 from INCREMENT service"]
    assert view.count_label.text() == "1 of 6 lines"
    view.append([LogLine(T0 + 6, "error", "fetch", "increment failed again"),
                 LogLine(T0 + 7, "info", "fetch", "increment ok")])
    assert shown() == ["HTTP 500 from INCREMENT service", "increment failed again"]
    assert view.count_label.text() == "2 of 8 lines"
    view.text_edit.clear()
    view.level_box.setCurrentIndex(0)
    assert view.proxy.rowCount() == 8 and view.count_label.text() == "8 lines"


def test_a_node_filter_typed_before_the_node_logs_becomes_exact(view: LogView) -> None:
    view.node_box.setCurrentText("sub")
    view.append([LogLine(T0, "info", "subflow", "a"), LogLine(T0, "info", "sub", "b")])
    # "sub" is now a known path: it means that node (and its body), not every path with "sub".
    assert view.proxy.rowCount() == 1 and view.proxy.index(0, 3).data() == "b"
    assert view.node_box.currentText() == "sub"


def test_clear_keeps_the_filters_and_forgets_the_nodes(view: LogView) -> None:
    view.append([LogLine(T0, "info", "a", "x"), LogLine(T0, "error", "b", "y")])
    view.node_box.setCurrentText("b")
    view.clear()
    assert view.node_box.count() == 1 and view.node_box.currentText() == "b"
    view.append([LogLine(T0, "info", "a", "x"), LogLine(T0, "error", "b", "z")])
    assert view.proxy.rowCount() == 1 and view.proxy.index(0, 3).data() == "z"


def test_clicking_a_row_emits_its_node_and_a_run_message_nothing(view: LogView, qtbot) -> None:
    view.append([LogLine(T0, "info", "loop1/inc", "tick", 2),
                 LogLine(T0, "info", None, "Run started")])
    emitted: list[str] = []
    view.node_activated.connect(emitted.append)
    table = view.table

    def click(row: int) -> None:
        rect = table.visualRect(view.proxy.index(row, 3))
        qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())

    click(0)
    assert emitted == ["loop1/inc"]  # once, and the path without the iteration
    click(1)
    assert emitted == ["loop1/inc"]
    table.setFocus()
    table.setCurrentIndex(view.proxy.index(0, 0))
    qtbot.keyClick(table, Qt.Key.Key_Return)
    assert emitted == ["loop1/inc", "loop1/inc"]


class SingleClickStyle(QProxyStyle):
    """A style (KDE's, some platforms') where one click also activates an item."""

    def styleHint(self, hint, option=None, widget=None, data=None):
        if hint == QStyle.StyleHint.SH_ItemView_ActivateItemOnSingleClick:
            return 1
        return super().styleHint(hint, option, widget, data)


def test_a_click_emits_once_where_a_click_also_activates(view: LogView, qtbot) -> None:
    style = SingleClickStyle("Fusion")  # not owned by the table: it outlives the test's use
    view.table.setStyle(style)
    try:
        view.append([LogLine(T0, "info", "a", "x"), LogLine(T0, "info", "b", "y")])
        emitted: list[str] = []
        view.node_activated.connect(emitted.append)
        for row in (0, 1):
            rect = view.table.visualRect(view.proxy.index(row, 3))
            qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton,
                             pos=rect.center())
        assert emitted == ["a", "b"]
        view.table.setFocus()
        qtbot.keyClick(view.table, Qt.Key.Key_Return)  # Enter still activates
        assert emitted == ["a", "b", "b"]
    finally:
        view.table.setStyle(None)


def test_copy_puts_the_selected_lines_on_the_clipboard(view: LogView, qtbot) -> None:
    clipboard = QGuiApplication.clipboard()
    try:
        view.append([LogLine(T0, "info", "fetch", "one"),
                     LogLine(T0 + 1, "warning", None, "two\nlines"),
                     LogLine(T0 + 2, "error", "loop/x", "three", 4)])
        table = view.table
        table.selectRow(2)
        table.selectionModel().select(
            view.proxy.index(0, 0), table.selectionModel().SelectionFlag.Select
            | table.selectionModel().SelectionFlag.Rows)
        table.setFocus()
        qtbot.keyClick(table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
        assert clipboard.text() == (f"{clock(T0)}\tinfo\tfetch\tone\n"
                                    f"{clock(T0 + 2)}\terror\tloop/x #4\tthree")
        table.clearSelection()
        table.selectRow(1)
        view.copy_action.trigger()
        assert clipboard.text() == f"{clock(T0 + 1)}\twarning\t\ttwo\nlines"
    finally:
        clipboard.clear()


def test_the_context_menu_copies_and_clears(view: LogView) -> None:
    view.append(lines(3))
    view.table.customContextMenuRequested.emit(view.table.visualRect(
        view.proxy.index(0, 0)).center())
    menu = view.context_menu  # a popup: it never blocks the event loop
    assert isinstance(menu, QMenu) and menu.isVisible()
    assert [a.text() for a in menu.actions() if not a.isSeparator()] == ["Copy", "Clear"]
    next(a for a in menu.actions() if a.text() == "Clear").trigger()
    menu.close()
    assert view.model.rowCount() == 0 and view.count_label.text() == "0 lines"


def test_a_huge_message_is_stored_cut_and_its_tooltip_says_its_length(view: LogView) -> None:
    huge = "A" * 5_000_000
    view.append([LogLine(T0, "info", "big", huge)])
    stored = view.model.rows[0][0].message
    assert len(stored) == 20_000
    assert view.proxy.index(0, 3).data() == "A" * 500
    tip = view.proxy.index(0, 3).data(Qt.ItemDataRole.ToolTipRole)
    assert "5,000,000 characters" in tip and tip.count("A") == 20_000
    view.text_edit.setText("zzz")  # filtering looks at the stored part only
    assert view.proxy.rowCount() == 0


def test_the_view_follows_the_end_only_while_at_the_bottom(view: LogView, qtbot) -> None:
    bar = view.table.verticalScrollBar()
    view.append(lines(200))
    QApplication.processEvents()
    assert bar.maximum() > 0 and bar.value() == bar.maximum()
    view.append(lines(50, start=200))
    QApplication.processEvents()
    assert bar.value() == bar.maximum()
    last = view.proxy.index(view.proxy.rowCount() - 1, 0)
    assert view.table.viewport().rect().contains(view.table.visualRect(last).center())
    bar.setValue(bar.maximum() // 2)  # the user scrolls up
    top = view.table.indexAt(view.table.viewport().rect().topLeft()).data()
    view.append(lines(50, start=250))
    QApplication.processEvents()
    assert 0 < bar.value() < bar.maximum()
    assert view.table.indexAt(view.table.viewport().rect().topLeft()).data() == top
    bar.setValue(bar.maximum())  # back at the bottom: following again
    view.append(lines(5, start=300))
    QApplication.processEvents()
    assert bar.value() == bar.maximum()
    last = view.proxy.index(view.proxy.rowCount() - 1, 0)
    assert view.table.viewport().rect().contains(view.table.visualRect(last).center())


def test_dropping_old_lines_keeps_the_line_being_read_in_place(qtbot) -> None:
    view = LogView(max_lines=300)
    qtbot.addWidget(view)
    view.resize(700, 300)
    view.show()
    qtbot.waitExposed(view)
    view.append(lines(300))
    QApplication.processEvents()
    view.table.scrollTo(view.proxy.index(150, 0), view.table.ScrollHint.PositionAtTop)
    top_left = view.table.viewport().rect().topLeft()
    assert view.table.indexAt(top_left).siblingAtColumn(3).data() == "line 150"
    view.append(lines(40, start=300))  # drops lines 0-39
    QApplication.processEvents()
    assert view.model.dropped == 40
    assert view.table.indexAt(top_left).siblingAtColumn(3).data() == "line 150"
    view.append(lines(200, start=340))  # drops the line itself: the view shows the oldest
    QApplication.processEvents()
    assert view.table.indexAt(top_left).siblingAtColumn(3).data() == "line 240"


def test_a_filter_change_keeps_the_reader_near_the_same_line(view: LogView) -> None:
    view.append([LogLine(T0 + i, "error" if i % 3 == 0 else "info", "n", f"line {i}")
                 for i in range(300)])
    QApplication.processEvents()
    view.table.scrollTo(view.proxy.index(100, 0), view.table.ScrollHint.PositionAtTop)
    view.level_box.setCurrentIndex(3)  # errors only: line 100 is hidden, 102 is the next
    top = view.table.indexAt(view.table.viewport().rect().topLeft())
    assert top.siblingAtColumn(3).data() == "line 102"


def test_the_models_keep_qts_rules(qtmodeltester) -> None:
    view = LogView(max_lines=20)
    view.append(lines(15))
    qtmodeltester.check(view.model)  # the testers watch every change that follows
    qtmodeltester.check(view.proxy)
    view.text_edit.setText("1")
    view.append(lines(15, start=15))  # drops, inserts, filters
    view.text_edit.clear()
    view.append(lines(40, start=30))
    view.clear()
    view.deleteLater()
