"""Editor test fixtures: a main window on an isolated settings file, and helpers that
drive the canvas with real mouse events on the view's viewport."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF, QSettings, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from engine.core.registry import Registry
from tests.flowui.inspector_harness import make  # noqa: F401 (a fixture of the inspector tests)


@pytest.fixture(autouse=True, scope="session")
def _clipboard_cleared_before_exit(qapp):
    """Qt's offscreen platform segfaults at interpreter exit when the clipboard still
    holds data (measured with PySide6 6.11.3; a real X display does not): clear it
    while the application is alive, or the suite "passes" with exit code 139."""
    yield
    QApplication.clipboard().clear()


@pytest.fixture
def make_window(qtbot, tmp_path, monkeypatch):
    """A main window on `registry` (the installed node types by default)."""
    from flowui import theme
    from flowui.mainwindow import MainWindow

    # A test never blocks on a modal box: each records what it asked and answers from
    # `window.answers` (default: Discard for unsaved changes).
    asked: list[str] = []
    monkeypatch.setattr(QMessageBox, "exec", lambda self: asked.append(self.text()) or 0)
    made = []

    def warning(*args, **kwargs):
        asked.append(args[2] if len(args) > 2 else "")
        w = made[-1]
        return w.answers.pop(0) if w.answers else QMessageBox.StandardButton.Discard

    monkeypatch.setattr(QMessageBox, "warning", staticmethod(warning))
    monkeypatch.setattr(QMessageBox, "question", staticmethod(warning))

    def new_window(registry: Registry | None = None) -> MainWindow:
        theme.apply(QApplication.instance())
        w = MainWindow(registry or Registry.discover(plugins=False),
                       settings=QSettings(str(tmp_path / "settings.ini"),
                                          QSettings.Format.IniFormat))
        w.asked = asked
        w.answers = []
        made.append(w)
        qtbot.addWidget(w)
        w.resize(1200, 800)
        w.show()
        qtbot.waitExposed(w)
        return w

    yield new_window
    for w in made:
        w.stack.setClean()  # no prompt while closing


@pytest.fixture
def window(make_window):
    return make_window()


def mouse(view, kind, scene_pos: QPointF, *, button=Qt.MouseButton.LeftButton,
          buttons=Qt.MouseButton.LeftButton, mods=Qt.KeyboardModifier.NoModifier) -> None:
    """Send one mouse event to the view's viewport at a scene position."""
    local = QPointF(view.mapFromScene(scene_pos))
    glob = QPointF(view.viewport().mapToGlobal(local.toPoint()))
    event = QMouseEvent(kind, local, glob, button, buttons, mods)
    QApplication.sendEvent(view.viewport(), event)


def drag(view, start: QPointF, end: QPointF, steps: int = 6) -> None:
    """Press at `start`, move in steps, release at `end` (left button)."""
    mouse(view, QMouseEvent.Type.MouseButtonPress, start)
    for i in range(1, steps + 1):
        p = start + (end - start) * (i / steps)
        mouse(view, QMouseEvent.Type.MouseMove, p, button=Qt.MouseButton.NoButton)
    mouse(view, QMouseEvent.Type.MouseButtonRelease, end, buttons=Qt.MouseButton.NoButton)
