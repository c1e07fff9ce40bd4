"""Help ▸ Command Palette (Ctrl+Shift+P): every action of the window, found by typing
a few letters of its name (or of what it does), with its shortcut; Enter runs it.

Ranked as the node search ranks node types (flowui.palette.word_rank): a word that
starts a word of the name first. Actions that cannot run now are listed, dimmed."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QHeaderView,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from flowui import theme
from flowui.palette import word_rank


def _name(action: QAction) -> str:
    return action.text().replace("&", "").rstrip("…").strip()


def _keys(action: QAction) -> str:
    return ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText)
                     for s in action.shortcuts())


class CommandPalette(QDialog):
    def __init__(self, actions: dict[str, QAction], parent: QWidget | None = None,
                 panels: tuple[QAction, ...] = ()) -> None:
        """`panels`: the docks' show/hide actions, listed as "Show <title> panel": run
        from here they show the panel and bring it to the front (never hide it)."""
        super().__init__(parent, Qt.WindowType.Popup)
        self._panels = set(panels)
        self.setObjectName("command_palette")
        self.setStyleSheet("QDialog#command_palette { border: 1px solid "
                           f"{theme.current().border.name()}; border-radius: 6px; }}")
        self.actions_listed = [a for a in dict.fromkeys([*actions.values(), *panels])
                               if _name(a)]
        self.input = QLineEdit()
        self.input.setPlaceholderText("Type a command… (Enter runs it, Esc closes)")
        self.input.setClearButtonEnabled(True)
        self.input.textChanged.connect(self.refill)
        self.input.installEventFilter(self)
        self.list = QTreeWidget()
        self.list.setHeaderHidden(True)
        self.list.setColumnCount(2)
        self.list.setRootIsDecorated(False)
        self.list.setUniformRowHeights(True)
        self.list.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.list.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.list.header().setStretchLastSection(False)
        self.list.itemActivated.connect(lambda item, _column: self.run(item))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.input)
        layout.addWidget(self.list)
        self.resize(560, 420)
        self.refill("")

    def popup(self) -> None:
        """Show it over the top middle of its window, ready for typing."""
        parent = self.parentWidget()
        if parent is not None:
            top = parent.mapToGlobal(parent.rect().topLeft())
            self.move(top.x() + (parent.width() - self.width()) // 2, top.y() + 60)
        self.show()
        self.input.setFocus()

    def refill(self, text: str) -> None:
        words = text.lower().split()
        found = [a for a in self.actions_listed
                 if all(w in f"{self._title(a)} {a.toolTip()}".lower() for w in words)]
        found.sort(key=lambda a: word_rank(text, self._title(a), a.toolTip()) if words
                   else ("", self._title(a)))
        self.list.clear()
        if not found:
            nothing = QTreeWidgetItem([f"No command matches {text.strip()!r}", ""])
            nothing.setDisabled(True)
            self.list.addTopLevelItem(nothing)
        for action in found:  # (a window has tens of actions: all of them fit)
            item = QTreeWidgetItem([self._title(action), _keys(action)])
            item.setData(0, Qt.ItemDataRole.UserRole, action)
            item.setToolTip(0, action.toolTip())
            item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if not action.isEnabled():  # listed, so it can be found, but dimmed
                item.setDisabled(True)
                for column in (0, 1):
                    item.setForeground(column, theme.TEXT_DIM.darker(130))
            self.list.addTopLevelItem(item)
        items = [self.list.topLevelItem(i) for i in range(self.list.topLevelItemCount())]
        first = next((i for i in items if i is not None and not i.isDisabled()), None)
        if first is not None:
            self.list.setCurrentItem(first)

    def _title(self, action: QAction) -> str:
        return f"Show {_name(action)} panel" if action in self._panels else _name(action)

    def run(self, item: QTreeWidgetItem | None = None) -> None:
        """Close, then run the action chosen (after the palette is gone: it may open
        a dialog of its own)."""
        item = item or self.list.currentItem()
        action = item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None
        self.close()
        if isinstance(action, QAction) and action in self._panels:
            if not action.isChecked():
                action.trigger()
            dock = action.parent()
            if isinstance(dock, QWidget):
                dock.raise_()  # in front of the panels it shares a place with
        elif isinstance(action, QAction) and action.isEnabled():
            QTimer.singleShot(0, action.trigger)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Up and Down move in the list while the typing stays in the field.
        if watched is self.input and isinstance(event, QKeyEvent) and \
                event.type() == QEvent.Type.KeyPress:
            key = event.key()
            if key in (Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown):
                self.list.keyPressEvent(event)
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.run()
                return True
        return super().eventFilter(watched, event)
