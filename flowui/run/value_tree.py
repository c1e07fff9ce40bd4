"""ValueTree: the Run tab's searchable, collapsible JSON tree of a node's outputs or
inputs. Rows are built only when their parent opens, a page at a time, so a value of a
million items shows at once; the search walks the data and opens the tree to each match."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from PySide6.QtCore import QModelIndex, QPoint, Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QBrush,
    QColor,
    QFont,
    QFontDatabase,
    QGuiApplication,
    QKeySequence,
    QShortcut,
)
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QStackedWidget,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from flowui import theme
from flowui.run import value_model as vm

KEY, VALUE, TYPE = range(3)
SEARCH_DELAY_MS = 150  # typing pauses this long before a search walks the data
NO_BRUSH = QBrush()


class _Brushes:
    """The tree's colours in the theme in use, made once per theme (MATCH is compared
    by identity)."""

    def __init__(self, look: theme.Theme) -> None:
        self.name = look.name
        self.kinds = {kind: QBrush(QColor(color)) for kind, color in look.value_kinds.items()}
        self.dim = QBrush(look.text_dim)
        self.link = QBrush(look.node_selected)
        self.match = QBrush(look.match)
        self.note_style = f"color: {look.log_levels['warning']}; font-size: 9pt; padding: 0 2px;"


_made: dict[str, _Brushes] = {}


def brushes() -> _Brushes:
    look = theme.current()
    found = _made.get(look.name)
    if found is None:
        found = _made[look.name] = _Brushes(look)
    return found
Row = QTreeWidgetItem | QModelIndex | None


class _Node(QTreeWidgetItem):
    """A row standing for one value of the data, at `pos` (child positions from the root)."""

    def __init__(self, key: Any, value: Any, pos: vm.Position) -> None:
        super().__init__()
        self.key, self.value, self.pos = key, value, pos
        self.keys: Sequence[Any] = ()  # what each child position stands for, once built
        self.built = self.marked = False
        self.place = pos[-1] if pos else -1  # children are in data order: see `_child`


class _Gap(QTreeWidgetItem):
    """"… show 200 more" or "… show all": children [start, stop) of its parent not built."""

    def __init__(self, start: int, stop: int, everything: bool, font: QFont) -> None:
        super().__init__([vm.gap_label(start, stop, everything)])
        self.start, self.stop, self.everything = start, stop, everything
        self.place = start  # where its first child will be
        self.setForeground(KEY, brushes().link)
        self.setFont(KEY, font)


class ValueTree(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._value: Any = None
        self._root: _Node | None = None
        self._matched: set[vm.Position] = set()  # rows built later get marked too
        self._marked: list[_Node] = []
        self._found = vm.NOT_FOUND
        self._current = -1  # in self._found.matches
        self.note = QLabel(wordWrap=True)
        self.note.setStyleSheet(brushes().note_style)
        self.search_box = QLineEdit(placeholderText="Search keys and values",
                                    clearButtonEnabled=True)
        self.match_label = QLabel()
        self.match_label.setObjectName("help")
        theme.tone(self.match_label, "help")
        self.prev_button = QToolButton(arrowType=Qt.ArrowType.UpArrow, autoRaise=True)
        self.next_button = QToolButton(arrowType=Qt.ArrowType.DownArrow, autoRaise=True)
        self.prev_button.setToolTip("Previous match (Shift+F3)")
        self.next_button.setToolTip("Next match (F3)")
        self.prev_button.clicked.connect(self.previous_match)
        self.next_button.clicked.connect(self.next_match)
        self.tree = tree = QTreeWidget(columnCount=3)
        tree.setHeaderLabels(["Key", "Value", "Type"])
        tree.setUniformRowHeights(True)  # lets Qt lay out huge opened lists quickly
        tree.setAlternatingRowColors(True)
        tree.setAllColumnsShowFocus(True)
        tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        tree.header().setStretchLastSection(False)
        tree.header().setSectionResizeMode(VALUE, QHeaderView.ResizeMode.Stretch)
        tree.setColumnWidth(TYPE, 76)
        self._mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self._mono.setPointSizeF(9.5)
        self._italic = QFont(tree.font())
        self._italic.setItalic(True)
        self.placeholder = QLabel("No value", alignment=Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setObjectName("help")
        theme.tone(self.placeholder, "help")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(tree)
        self.search_bar = QWidget()
        bar = QHBoxLayout(self.search_bar)
        bar.setContentsMargins(4, 0, 4, 0)
        for widget in (self.search_box, self.match_label, self.prev_button, self.next_button):
            bar.addWidget(widget, 1 if widget is self.search_box else 0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.note)
        layout.addWidget(self.search_bar)
        layout.addWidget(self.stack, 1)
        self.copy_value_action = self._action("Copy value", QKeySequence.StandardKey.Copy,
                                              self.copy_value)
        self.copy_path_action = self._action("Copy path", QKeySequence("Ctrl+Shift+C"),
                                             self.copy_path)
        self.show_full_action = self._action("Show full value", None,
                                             lambda: self.show_full_value())
        self.search_box.returnPressed.connect(self.next_match)
        for owner, keys, step in ((self, "F3", self.next_match),
                                  (self, "Shift+F3", self.previous_match),
                                  (self.search_box, "Shift+Return", self.previous_match),
                                  (self.search_box, "Shift+Enter", self.previous_match)):
            shortcut = QShortcut(QKeySequence(keys), owner)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(step)
        self._search_timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(lambda: self.search())
        self.search_box.textChanged.connect(lambda _text: self._search_timer.start())
        tree.itemExpanded.connect(self._on_tree_item_expanded)
        tree.itemActivated.connect(lambda item, _column: self.show_more(item))
        tree.customContextMenuRequested.connect(self._on_tree_context_menu)
        self.clear()

    def _action(self, text: str, keys: QKeySequence | QKeySequence.StandardKey | None,
                slot: Callable[[], Any]) -> QAction:
        action = QAction(text, self.tree)
        if keys is not None:
            action.setShortcut(keys)
            # Only while the tree has the focus: Ctrl+C in the search box copies its text.
            action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        action.triggered.connect(lambda _checked=False: slot())
        self.tree.addAction(action)
        return action

    # --- content ----------------------------------------------------------------------------

    @property
    def value(self) -> Any:
        """The value shown (None when cleared)."""
        return self._value

    def note_text(self) -> str:
        return self.note.text()

    def set_placeholder(self, text: str) -> None:
        """What the widget says when it has no value (after `clear`)."""
        self.placeholder.setText(text)

    def clear(self) -> None:
        self._forget()
        self._value = None
        self.note.clear()
        self.note.hide()
        self.stack.setCurrentWidget(self.placeholder)
        self.search_bar.hide()  # nothing to search

    def set_value(self, value: Any, *, note: str = "") -> None:
        """Show `value` (JSON-like data; other objects by their repr) with its first level
        open, in place of what was shown; `note` is a line above it (hidden when empty)."""
        self._forget()
        self._value = value
        self.note.setText(note)
        self.note.setVisible(bool(note))
        root = self._root = self._make_node(None, value, (), indexed=False)
        self.tree.addTopLevelItem(root)
        self._build(root)
        root.setExpanded(True)
        self.tree.setColumnWidth(KEY, 120)
        self._fit_keys([root, *(root.child(k) for k in range(root.childCount()))])
        self.stack.setCurrentWidget(self.tree)
        self.search_bar.show()
        if self.search_box.text():  # the search goes on in the new value, once shown
            self._search_timer.start()

    def _forget(self) -> None:
        self._marked, self._matched, self._found, self._current = [], set(), vm.NOT_FOUND, -1
        self._root = None
        self._search_timer.stop()
        self.tree.clear()
        self._show_count("")

    def _make_node(self, key: Any, value: Any, pos: vm.Position, *, indexed: bool) -> _Node:
        node = _Node(key, value, pos)
        if pos:
            node.setText(KEY, vm.key_label(key, indexed))
            node.setForeground(KEY, brushes().dim if indexed else NO_BRUSH)
        kind = vm.kind(value)
        node.setText(VALUE, vm.summary(value))
        node.setForeground(VALUE, brushes().kinds.get(kind, brushes().dim))
        node.setFont(VALUE, self._mono)
        node.setText(TYPE, kind)
        node.setForeground(TYPE, brushes().dim)
        if kind == "string" and len(value) > vm.STRING_CUT:
            node.setToolTip(VALUE, f"{len(value):,} characters: right-click, Show full value")
        if kind in ("object", "array", "bytes") and len(value) > 0:
            node.setChildIndicatorPolicy(QTreeWidgetItem.ChildIndicatorPolicy.ShowIndicator)
        if pos in self._matched:
            self._mark(node)
        return node

    def _build(self, node: _Node) -> None:
        """Make the first page of a node's children (once)."""
        if node.built:
            return
        node.built = True
        value = node.value
        if isinstance(value, bytes | bytearray):
            rows = [QTreeWidgetItem([offset, text]) for offset, text in vm.hex_rows(value)]
            for row in rows:
                row.setForeground(KEY, brushes().dim)
                row.setForeground(VALUE, brushes().dim)
                row.setFont(VALUE, self._mono)
            node.addChildren(rows)
        elif vm.is_container(value):
            node.keys = vm.child_keys(value)
            self._insert(node, 0, self._rows(node, 0, len(value), min(len(value), vm.PAGE)))

    def _rows(self, node: _Node, start: int, stop: int, end: int) -> list[QTreeWidgetItem]:
        """Rows for children [start, end) of `node`, then gap rows for [end, stop)."""
        value, keys, indexed = node.value, node.keys, not isinstance(node.value, Mapping)
        rows: list[QTreeWidgetItem] = [
            self._make_node(keys[i], value[keys[i]], (*node.pos, i), indexed=indexed)
            for i in range(start, end)]
        if end < stop:
            rows.append(_Gap(end, stop, False, self._italic))
            if stop - end > vm.PAGE:
                rows.append(_Gap(end, stop, True, self._italic))
        return rows

    def _insert(self, node: _Node, at: int, rows: list[QTreeWidgetItem]) -> None:
        node.insertChildren(at, rows)
        for row in rows:
            if isinstance(row, _Gap):
                row.setFirstColumnSpanned(True)  # a no-op before the row is in the tree

    def _open_gap(self, node: _Node, gap: _Gap, start: int, end: int) -> int:
        """Build children [start, end) inside `gap`, a gap of `node`; where the first is."""
        at = node.indexOfChild(gap)
        if at > 0 and getattr(node.child(at - 1), "place", -1) == gap.start:
            at -= 1  # the gap's "more" row, before its "show all"
        old_start, old_stop = gap.start, gap.stop
        while isinstance(item := node.child(at), _Gap) and item.start == old_start:
            node.takeChild(at)
        before = self._rows(node, old_start, start, old_start)  # just gap rows (or none)
        self._insert(node, at, before + self._rows(node, start, old_stop, end))
        return at + len(before)

    def show_more(self, gap: QTreeWidgetItem) -> None:
        """Build the children a "show more" / "show all" row stands for."""
        node = gap.parent()
        if isinstance(gap, _Gap) and isinstance(node, _Node):
            start = gap.start
            end = min(start + (vm.MAX_AT_ONCE if gap.everything else vm.PAGE), gap.stop)
            at = self._open_gap(node, gap, start, end)
            self._fit_keys(node.child(k) for k in range(at, at + min(end - start, vm.PAGE)))
            if (first := node.child(at)) is not None:
                self.tree.setCurrentItem(first)

    def _child(self, node: _Node, i: int) -> _Node:
        """The row of child `i` of `node`, built alone inside its gap when not there yet."""
        self._build(node)
        after = bisect_right(range(node.childCount()), i,  # the last child placed up to `i`
                             key=lambda k: getattr(node.child(k), "place", -1))
        found = node.child(after - 1)
        if isinstance(found, _Gap):
            found = node.child(self._open_gap(node, found, i, i + 1))
        assert isinstance(found, _Node)
        return found

    def _reveal(self, pos: vm.Position) -> _Node:
        node = self._root
        assert node is not None
        for i in pos:
            self._build(node)
            node.setExpanded(True)
            node = self._child(node, i)
        return node

    def _fit_keys(self, rows: Iterable[QTreeWidgetItem | None]) -> None:
        """Widen the key column for the keys of `rows`, never narrower (no jumping about)."""
        self.tree.ensurePolished()  # the style sheet's font
        metrics, step = self.tree.fontMetrics(), self.tree.indentation()
        wanted = max((metrics.horizontalAdvance(row.text(KEY)) + step * (len(row.pos) + 1)
                      for row in rows if isinstance(row, _Node)), default=0) + 20
        wanted = min(wanted, max(160, self.tree.width() // 2))
        if wanted > self.tree.columnWidth(KEY):
            self.tree.setColumnWidth(KEY, wanted)

    def _on_tree_item_expanded(self, item: QTreeWidgetItem) -> None:
        # Rows the search or `set_value` opens are built (and measured) before this.
        if isinstance(item, _Node) and not item.built:
            self._build(item)
            self._fit_keys(item.child(k) for k in range(item.childCount()))

    # --- rows, paths, copying ------------------------------------------------------------

    def _node(self, item: Row) -> _Node | None:
        if isinstance(item, QModelIndex):
            item = self.tree.itemFromIndex(item) if item.isValid() else None
        while item is not None and not isinstance(item, _Node):
            item = item.parent()  # a hex row or "show more": its container's
        return item

    def path_of(self, item: Row) -> str:
        """The template path of a row's value (`body.items[3].name`; '' for the root)."""
        node = self._node(item)
        keys: list[Any] = []
        while node is not None and node.pos:
            keys.append(node.key)
            parent = node.parent()
            node = parent if isinstance(parent, _Node) else None
        return vm.path_text(keys[::-1])

    def value_of(self, item: Row) -> Any:
        node = self._node(item)
        return node.value if node is not None else None

    def copy_value(self) -> None:
        """The current row's value on the clipboard: pretty JSON, a string's raw text."""
        node = self._node(self.tree.currentItem())
        if node is not None:
            QGuiApplication.clipboard().setText(vm.json_text(node.value))

    def copy_path(self) -> None:
        node = self._node(self.tree.currentItem())
        if node is not None:
            QGuiApplication.clipboard().setText(self.path_of(node))

    def show_full_value(self, item: Row = None) -> QDialog | None:
        """A window (not modal) with the whole text of a row's value (default: current)."""
        node = self._node(item if item is not None else self.tree.currentItem())
        if node is None:
            return None
        path = self.path_of(node)
        dialog = QDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.setWindowTitle(f"Value of {path}" if path else "Value")
        text = QPlainTextEdit(vm.full_text(node.value), readOnly=True)
        text.setFont(self._mono)
        QVBoxLayout(dialog).addWidget(text)  # Escape closes it
        dialog.resize(680, 460)
        dialog.show()
        return dialog

    def _on_tree_context_menu(self, point: QPoint) -> None:
        item = self.tree.itemAt(point)
        if item is None or isinstance(item, _Gap):
            return
        self.tree.setCurrentItem(item)
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.addActions([self.copy_value_action, self.copy_path_action])
        menu.addSeparator()
        menu.addAction(self.show_full_action)
        menu.popup(self.tree.viewport().mapToGlobal(point))

    # --- search --------------------------------------------------------------------------

    def search(self, text: str | None = None) -> int:
        """Find `text` (default: the search box's) in keys and scalar values, open the tree
        to each match, mark them and select the first; the number of matches."""
        if text is None:
            text = self.search_box.text()
        elif text != self.search_box.text():
            self.search_box.setText(text)
        self._search_timer.stop()  # typing started it: this is that search
        for node in self._marked:
            self._paint(node, NO_BRUSH)
        self._marked, self._matched, self._found, self._current = [], set(), vm.NOT_FOUND, -1
        if text and self._root is not None:
            found = vm.search(self._value, text)
            self._found, self._matched = found, set(found.matches)
            self.tree.setUpdatesEnabled(False)  # one repaint for all the rows opened
            try:
                for pos in found.matches:
                    self._mark(self._reveal(pos))
            finally:
                self.tree.setUpdatesEnabled(True)
        if self._found.matches:
            self._go(0)
        else:
            self._show_count(text)
        return len(self._found.matches)

    def _mark(self, node: _Node) -> None:
        if not node.marked:
            self._marked.append(node)
            self._paint(node, brushes().match)

    def _paint(self, node: _Node, brush: QBrush) -> None:
        node.marked = brush is brushes().match
        for column in range(3):
            node.setBackground(column, brush)

    def next_match(self) -> None:
        self._step(1)

    def previous_match(self) -> None:
        self._step(-1)

    def _step(self, by: int) -> None:
        if self._search_timer.isActive():  # typed but not searched yet: the first match
            self.search()
        elif self._found.matches:
            self._go(self._current + by)

    def _go(self, index: int) -> None:
        self._current = index % len(self._found.matches)
        node = self._reveal(self._found.matches[self._current])
        parent = node.parent() or node
        self._fit_keys(parent.child(k) for k in range(min(parent.childCount(), 2 * vm.PAGE)))
        self.tree.setCurrentItem(node)
        self.tree.scrollToItem(node, QTreeWidget.ScrollHint.PositionAtCenter)
        self._show_count(self.search_box.text())

    def _show_count(self, text: str) -> None:
        self.match_label.setText(text and vm.count_text(self._current, self._found))
        self.match_label.setToolTip(vm.PARTIAL_NOTE if self._found.partial else "")
