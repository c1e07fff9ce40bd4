"""Menu and toolbar actions made the one way the app makes them: an icon from resources/,
shortcuts, a status tip, and added to the window so the keys work wherever focus is."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

from flowui import resources

Keys = str | QKeySequence.StandardKey | Sequence[str | QKeySequence.StandardKey]


def make_action(owner: QWidget, text: str, slot: Callable[[], object],
                keys: Keys | None = None, icon: str | None = None, tip: str = "") -> QAction:
    action = QAction(text, owner)
    if icon:
        action.setIcon(resources.icon(icon))
    if keys is not None:
        listed = [keys] if isinstance(keys, str | QKeySequence.StandardKey) else keys
        action.setShortcuts([QKeySequence(k) for k in listed])
    action.setStatusTip(tip or text.replace("&", "").replace("…", ""))
    action.triggered.connect(slot)
    owner.addAction(action)  # shortcuts work wherever the focus is in the window
    return action
