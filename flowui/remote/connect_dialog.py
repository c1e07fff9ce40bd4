"""File ▸ Connect to Server…: the server's address and its token (shown as dots)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QWidget

from flowui import theme


class ConnectDialog(QDialog):
    accepted_values = Signal(str, str)  # url, token

    def __init__(self, url: str, token: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Connect to Server")
        self.url = QLineEdit(url or "http://127.0.0.1:8765")
        self.token = QLineEdit(token)
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText("printed by flowserver on its first start")
        help_text = QLabel("The token is kept in the system keychain, never in a file.")
        theme.tone(help_text, "help")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Server URL", self.url)
        form.addRow("Token", self.token)
        form.addRow(help_text)
        form.addRow(buttons)
        self.resize(460, self.sizeHint().height())

    def _accept(self) -> None:
        self.accepted_values.emit(self.url.text().strip(), self.token.text().strip())
        self.accept()
