"""Run > Allowed Folders: the folders file nodes and sub-workflows may use besides the
workflow's own (engine.support.file_roots). Kept in the settings, so a workflow
someone sent you cannot read `~/.ssh` unless you said so here."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.support import file_roots

KEY = "files/allowed_folders"


def remembered(settings: QSettings) -> list[str]:
    value = settings.value(KEY, [])
    if isinstance(value, str):  # QSettings hands back one entry as a plain string
        value = [value]
    if not isinstance(value, list | tuple):
        return []
    return [str(v) for v in value if str(v).strip()]


def apply(settings: QSettings) -> None:
    """Make the remembered folders the ones this process allows."""
    file_roots.set_allowed(remembered(settings))


class AllowedFoldersDialog(QDialog):
    def __init__(self, parent: QWidget | None, settings: QSettings) -> None:
        super().__init__(parent)
        self.setWindowTitle("Allowed Folders")
        self.settings = settings
        intro = QLabel(
            "A workflow's file nodes and sub-workflows may use its own folder and the "
            "folders below it. Add the other folders they may use here.\n"
            f"Also allowed, from the environment variable {file_roots.ENV}: "
            + (", ".join(str(p) for p in file_roots.env_roots()) or "none") + ".")
        intro.setWordWrap(True)
        self.list = QListWidget()
        self.list.addItems(remembered(settings))
        self.list.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        add, remove = QPushButton("&Add Folder…"), QPushButton("&Remove")
        add.clicked.connect(lambda: self.add_folder())
        remove.clicked.connect(self.remove_selected)
        self.list.itemSelectionChanged.connect(
            lambda: remove.setEnabled(bool(self.list.selectedItems())))
        remove.setEnabled(False)
        side = QVBoxLayout()
        side.addWidget(add)
        side.addWidget(remove)
        side.addStretch()
        row = QHBoxLayout()
        row.addWidget(self.list, 1)
        row.addLayout(side)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(row)
        layout.addWidget(buttons)
        self.resize(560, 320)

    def folders(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def add_folder(self, folder: str | None = None) -> None:
        folder = folder or QFileDialog.getExistingDirectory(self, "Allow a folder",
                                                            str(Path.home()))
        if folder and folder not in self.folders():
            self.list.addItem(str(Path(folder)))

    def remove_selected(self) -> None:
        for item in self.list.selectedItems():
            self.list.takeItem(self.list.row(item))

    def accept(self) -> None:
        self.settings.setValue(KEY, self.folders())
        apply(self.settings)
        super().accept()
