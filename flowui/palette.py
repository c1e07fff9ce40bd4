"""Finding node types: the palette dock (categories, search, drag onto the canvas) and
the quick search that Tab or Space opens at the cursor (also after a wire is dropped
on empty canvas, then filtered to types that can take that wire)."""

from __future__ import annotations

import re
from collections.abc import Callable

from PySide6.QtCore import QEvent, QMimeData, QObject, QPoint, QSize, Qt, Signal
from PySide6.QtGui import QDrag, QKeyEvent
from PySide6.QtWidgets import (
    QFrame,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.core.registry import Registry
from engine.core.sdk import Node
from engine.workflow.porttypes import can_connect
from flowui import resources, theme
from flowui.canvas.node_item import PortRef
from flowui.canvas.view import NODE_MIME

TYPE_ROLE = Qt.ItemDataRole.UserRole + 1
_WORDS = re.compile(r"[^a-z0-9]+")


def matches(cls: type[Node], text: str) -> bool:
    """Every word of `text` appears in the title, type id or description."""
    hay = f"{cls.title} {cls.type} {cls.description} {cls.category}".lower()
    return all(word in hay for word in text.lower().split())


def fits(cls: type[Node], origin: PortRef | None) -> bool:
    """Whether a type has a port that can take a wire dragged from `origin`."""
    if origin is None:
        return True
    if origin.output:
        return any(can_connect(origin.type, p.type) for p in cls.inputs)
    return any(can_connect(p.type, origin.type) for p in cls.outputs)


def rank(cls: type[Node], text: str) -> tuple[int, int, int, str]:
    """Sort key of a type found by `text` (smaller first), by `word_rank` over its
    title, then its type id, then its category (anything else: only the description).
    "json parse" finds Parse JSON before HTTP request, whose description merely
    mentions both."""
    return word_rank(text, cls.title, cls.type, cls.category)


def word_rank(text: str, title: str, *others: str) -> tuple[int, int, int, str]:
    """Sort key of something named `title` found by `text` (smaller first): each word
    scores where it matches best (a title word it starts, the title, then each of
    `others` in turn, else nowhere); the worst word counts first, then all of them,
    then how the whole text meets the title. The node search and the command
    palette both rank this way."""
    t = text.lower()
    low = title.lower()
    title_words = _WORDS.split(low)
    fields = [o.lower() for o in others]

    def score(word: str) -> int:
        if any(w.startswith(word) for w in title_words):
            return 0
        if word in low:
            return 1
        return next((2 + i for i, f in enumerate(fields) if word in f), 2 + len(fields))

    scores = [score(w) for w in t.split()] or [0]
    whole = 0 if low.startswith(t) else 1 if t in low else 2
    return max(scores), sum(scores), whole, title


class PaletteWidget(QWidget):
    add_requested = Signal(str)  # double-click: add at the view's centre

    def __init__(self, registry: Registry) -> None:
        super().__init__()
        self.registry = registry
        self.search = QLineEdit(placeholderText="Search nodes…  (title, type, description)")
        self.search.setClearButtonEnabled(True)
        self.search.addAction(resources.icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.tree = _DragTree()
        self.tree.setHeaderHidden(True)
        self.tree.setIconSize(QSize(18, 18))
        self.tree.setIndentation(12)
        self.tree.setDragEnabled(True)
        self.tree.itemDoubleClicked.connect(self._on_tree_double_clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        self.search.textChanged.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        text = self.search.text().strip()
        self.tree.clear()
        groups: dict[str, QTreeWidgetItem] = {}
        for cls in self.registry:  # sorted by category, then type
            if text and not matches(cls, text):
                continue
            group = groups.get(cls.category)
            if group is None:
                group = groups[cls.category] = QTreeWidgetItem(self.tree, [cls.category])
                group.setFlags(Qt.ItemFlag.ItemIsEnabled)
                font = group.font(0)
                font.setBold(True)
                group.setFont(0, font)
            item = QTreeWidgetItem(group, [cls.title])
            item.setIcon(0, resources.icon(cls.icon or "plugin"))
            item.setData(0, TYPE_ROLE, cls.type)
            dim = theme.TEXT_DIM.name()
            item.setToolTip(0, f"<b>{cls.title}</b> <span style='color:{dim}'>{cls.type}</span>"
                               + (f"<br>{cls.description}" if cls.description else ""))
        self.tree.expandAll()

    def _on_tree_double_clicked(self, item: QTreeWidgetItem) -> None:
        type_id = item.data(0, TYPE_ROLE)
        if type_id:
            self.add_requested.emit(type_id)


class _DragTree(QTreeWidget):
    def startDrag(self, actions: Qt.DropAction) -> None:
        item = self.currentItem()
        type_id = item.data(0, TYPE_ROLE) if item is not None else None
        if item is None or not type_id:
            return
        mime = QMimeData()
        mime.setData(NODE_MIME, type_id.encode())
        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.setPixmap(item.icon(0).pixmap(24, 24))
        drag.exec(Qt.DropAction.CopyAction)


class QuickSearch(QFrame):
    """A popup list of node types filtered as you type; Enter adds the highlighted one."""

    def __init__(self, registry: Registry, parent: QWidget,
                 on_pick: Callable[[str], None]) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.registry = registry
        self.on_pick = on_pick
        self.origin: PortRef | None = None
        self.setObjectName("quickSearch")
        theme.follow(self, lambda: (
            f"#quickSearch {{ background: {theme.current().panel.name()}; "
            f"border: 1px solid {theme.current().border.name()}; border-radius: 8px; }}"))
        self.input = QLineEdit(placeholderText="Add node…")
        self.list = QListWidget()
        self.list.setIconSize(QSize(18, 18))
        self.list.itemActivated.connect(self._on_list_item_activated)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.input)
        layout.addWidget(self.list)
        self.resize(320, 360)
        self.input.textChanged.connect(self.refresh)
        self.input.installEventFilter(self)

    def open_at(self, global_pos: QPoint, origin: PortRef | None = None) -> None:
        self.origin = origin
        self.input.clear()
        self.input.setPlaceholderText(
            f"Add node taking {origin.type} from {origin.endpoint}…" if origin and origin.output
            else f"Add node giving {origin.type} to {origin.endpoint}…" if origin
            else "Add node…")
        self.refresh()
        self.move(global_pos)
        self.show()
        self.input.setFocus()

    def refresh(self) -> None:
        text = self.input.text().strip()
        self.list.clear()
        found = [c for c in self.registry if fits(c, self.origin) and (
            not text or matches(c, text))]
        found.sort(key=lambda c: rank(c, text) if text else (0, c.category + c.title))
        for cls in found:
            item = QListWidgetItem(resources.icon(cls.icon or "plugin"),
                                   f"{cls.title}    {cls.category}")
            item.setData(TYPE_ROLE, cls.type)
            item.setToolTip(cls.description)
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.input and isinstance(event, QKeyEvent) and \
                event.type() == QKeyEvent.Type.KeyPress:
            key = event.key()
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                row = self.list.currentRow() + (1 if key == Qt.Key.Key_Down else -1)
                self.list.setCurrentRow(max(0, min(self.list.count() - 1, row)))
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                item = self.list.currentItem()
                if item is not None:
                    self._on_list_item_activated(item)
                return True
        return super().eventFilter(obj, event)

    def _on_list_item_activated(self, item: QListWidgetItem) -> None:
        self.hide()
        self.on_pick(item.data(TYPE_ROLE))
