"""Run ▸ Edit Pinned Output…: a node's pinned output as JSON, edited by hand and checked
before it is kept: JSON within the size limits, an object of the node's output ports,
no secret's value (a pin is saved in the workflow file)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from engine.support import bounded_json
from flowui import theme

MAX_PIN_BYTES = 5_000_000  # a pin lives in the workflow file: keep files openable


def pin_problem(text: str, ports: Sequence[str],
                secret_check: Callable[[dict[str, Any]], str | None]) -> tuple[Any, str | None]:
    """(the value, None) for good pin text, else (None, what is wrong and how to fix it)."""
    if len(text.encode("utf-8")) > MAX_PIN_BYTES:
        return None, (f"The pinned output is larger than {MAX_PIN_BYTES // 1_000_000} MB; a pin "
                      "is saved in the workflow file: pin a smaller value")
    try:
        value = bounded_json.loads(text)
    except ValueError as e:
        return None, f"Not valid JSON: {e}"
    if not isinstance(value, dict):
        return None, ("A pinned output is a JSON object of output ports, e.g. "
                      + ("{" + ", ".join(f'"{p}": …' for p in ports[:3]) + "}"))
    unknown = sorted(set(value) - set(ports))
    if unknown:
        return None, (f"{', '.join(repr(k) for k in unknown)} "
                      f"{'is not an output' if len(unknown) == 1 else 'are not outputs'} of "
                      f"this node; its outputs are {', '.join(ports) or 'none'}")
    secret = secret_check(value)
    if secret is not None:
        return None, secret
    return value, None


class PinDialog(QDialog):
    """Edit one node's pinned output; `value` holds the checked value once accepted."""

    def __init__(self, node_id: str, ports: Sequence[str], text: str,
                 secret_check: Callable[[dict[str, Any]], str | None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Pinned output of {node_id}")
        self.resize(560, 420)
        self._ports, self._secret_check = tuple(ports), secret_check
        self.value: dict[str, Any] | None = None
        intro = QLabel(f"Runs use this value as <b>{node_id}</b>'s output instead of running "
                       f"it. A JSON object of its outputs: {', '.join(ports) or 'none'}.")
        intro.setWordWrap(True)
        self.editor = QPlainTextEdit(text)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.editor.setFont(mono)
        self.error = QLabel()
        self.error.setWordWrap(True)
        theme.tone(self.error, "error")
        self.error.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.editor, 1)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def accept(self) -> None:
        """Keep the value only when it is good; else say why and stay open."""
        value, problem = pin_problem(self.editor.toPlainText(), self._ports, self._secret_check)
        if problem is not None:
            self.error.setText(problem)
            self.error.show()
            return
        self.value = value
        super().accept()
