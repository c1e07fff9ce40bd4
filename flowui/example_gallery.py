"""File > New from Example: a gallery of the workflows in resources/examples, each with
its name, description and a picture of its graph; the one chosen opens as an untitled
copy, so saving asks where and an example is never overwritten.

The dialog opens at once: pictures are drawn one per turn of the event loop after it is
shown (flowui.thumbnails keeps them by file content), the list usable meanwhile."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QIcon, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.core.registry import Registry
from engine.support import bounded_json
from engine.support.bounded_read import read_regular
from flowui import resources, theme, thumbnails

THUMB = QSize(240, 150)
PATH_ROLE = Qt.ItemDataRole.UserRole + 1


@dataclass(frozen=True)
class Example:
    path: Path
    name: str
    description: str
    nodes: int


def examples() -> list[Example]:
    """Every example workflow, by its own name (the file name when it has none)."""
    found = []
    for path in sorted(resources.examples_dir().glob("*.flow.json")):
        name = path.name.removesuffix(".flow.json").replace("_", " ")
        about, nodes = "", 0
        try:
            data = bounded_json.loads(read_regular(path, max_bytes=1 << 20))
        except (OSError, ValueError):
            data = None
        if isinstance(data, dict):
            if isinstance(data.get("name"), str) and data["name"].strip():
                name = data["name"]
            told = data.get("description")
            about = told if isinstance(told, str) else ""
            nodes = len(data.get("nodes") or []) if isinstance(data.get("nodes"), list) else 0
        found.append(Example(path, name, about or "", nodes))
    return found


def _card_icon(image: QImage) -> QIcon:
    """The picture framed as a card: a hairline border, the accent's when selected (Qt
    would otherwise tint the whole picture with the selection colour)."""
    icon = QIcon()
    look = theme.current()
    for mode, color, width in ((QIcon.Mode.Normal, look.border, 1.0),
                               (QIcon.Mode.Selected, look.node_selected, 3.0)):
        pixmap = QPixmap.fromImage(image)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(color, width))
        size = pixmap.deviceIndependentSize()
        painter.drawRoundedRect(QRectF(0, 0, size.width(), size.height()).adjusted(
            width / 2, width / 2, -width / 2, -width / 2), 6, 6)
        painter.end()
        icon.addPixmap(pixmap, mode)
    return icon


class ExampleGallery(QDialog):
    """Pick an example; `chosen(path)` is called with it (Enter, double-click, Create)."""

    def __init__(self, registry: Registry, chosen: Callable[[Path], object],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New from Example")
        self.registry, self.chosen = registry, chosen
        self.examples = examples()
        heading = QLabel("Start from an example")
        font = heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setWeight(font.Weight.DemiBold)
        heading.setFont(font)
        sub = QLabel("A copy opens as a new, untitled workflow: the example itself is "
                     "never changed.")
        theme.tone(sub, "help")
        self.list = QListWidget()
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setIconSize(THUMB)
        self.list.setGridSize(QSize(THUMB.width() + 24, THUMB.height() + 46))
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setWordWrap(True)
        self.list.setUniformItemSizes(True)
        self.list.setSpacing(4)
        placeholder = thumbnails.blank(THUMB, 1.0)
        for example in self.examples:
            item = QListWidgetItem(_card_icon(placeholder), example.name)
            item.setData(PATH_ROLE, str(example.path))
            item.setToolTip(example.description)
            self.list.addItem(item)
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.detail.setTextFormat(Qt.TextFormat.RichText)
        self.detail.setMinimumHeight(48)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.create_button = buttons.addButton("Create", QDialogButtonBox.ButtonRole.AcceptRole)
        self.create_button.setDefault(True)
        cancel = buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAutoDefault(False)  # Create stays the button Enter presses
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(sub)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.detail)
        layout.addWidget(buttons)
        self.list.currentItemChanged.connect(self._on_list_current_changed)
        self.list.itemActivated.connect(lambda _item: self.accept())  # Enter, double-click
        self.resize(4 * (THUMB.width() + 24) + 60, 2 * (THUMB.height() + 46) + 200)
        if self.examples:
            self.list.setCurrentRow(0)
        self.list.setFocus()
        self._pending = list(range(len(self.examples)))
        self._drawing = QTimer(self, singleShot=False, interval=0)
        self._drawing.timeout.connect(self._draw_next)
        self._drawing.start()

    @property
    def drawn(self) -> bool:
        """Every picture is in."""
        return not self._pending

    def thumbnail_of(self, row: int) -> QImage:
        return self.list.item(row).icon().pixmap(THUMB, self.devicePixelRatioF()).toImage()

    def _draw_next(self) -> None:
        if not self._pending:
            self._drawing.stop()
            return
        row = self._pending.pop(0)
        image = thumbnails.thumbnail(self.examples[row].path, self.registry, THUMB,
                                     max(1.0, self.devicePixelRatioF()))
        self.list.item(row).setIcon(_card_icon(image))

    def _on_list_current_changed(self, item: QListWidgetItem | None, _old: object) -> None:
        if item is None:
            self.detail.clear()
            return
        example = self.examples[self.list.row(item)]
        count = f"{example.nodes} node{'s' if example.nodes != 1 else ''}"
        dim = theme.TEXT_DIM.name()
        self.detail.setText(f"<b>{html.escape(example.name)}</b> <span style='color:{dim}'>"
                            f"· {count} · {example.path.name}</span><br>"
                            f"{html.escape(example.description)}")

    def current_path(self) -> Path | None:
        item = self.list.currentItem()
        return Path(item.data(PATH_ROLE)) if item is not None else None

    def accept(self) -> None:
        path = self.current_path()
        super().accept()
        if path is not None:
            self.chosen(path)
