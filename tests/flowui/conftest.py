"""Editor test fixtures: a main window on an isolated settings file, and helpers that
drive the canvas with real mouse events on the view's viewport."""

from __future__ import annotations

import pytest
import shiboken6
from PySide6.QtCore import QEvent, QPointF, QSettings, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from engine.core.registry import Registry
from tests.flowui.inspector_harness import make  # noqa: F401 (a fixture of the inspector tests)
from tests.servers import http_server  # noqa: F401 (a fixture: a local HTTP server)


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
        app = QApplication.instance()
        if not theme.applied(app):  # setting it re-polishes every widget
            theme.apply(app)
        w = MainWindow(registry or Registry.discover(plugins=False),
                       settings=QSettings(str(tmp_path / "settings.ini"),
                                          QSettings.Format.IniFormat))
        w.asked = asked
        w.answers = []
        made.append(w)
        w.resize(1200, 800)
        w.show()
        qtbot.waitExposed(w)
        return w

    yield new_window
    for w in made:
        if not shiboken6.isValid(w):
            continue
        w.stack.setClean()  # no prompt while closing
        if w.runs.running:  # a test that failed mid-run: end it here, cleanly
            w.runs.cancel()
        w.close()
        w.deleteLater()
    # Deleted now, not at some later turn of a loop: windows left alive pile up, and
    # every later style sheet change re-polishes all of their widgets.
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


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


@pytest.fixture(scope="session")
def _qt_asyncio_loop(qapp):
    """One asyncio loop inside Qt's for the whole session, as the app has one for its
    life: qasync's loop cannot be stopped without also quitting every later Qt event
    loop (QApplication.exit), which would stop qtbot's waits."""
    from flowui.event_loop import EditorLoop

    return EditorLoop(qapp, already_running=True)


@pytest.fixture
def qloop(_qt_asyncio_loop):
    """asyncio running inside Qt's event loop, as in the app (qasync): while a test
    waits with qtbot, Qt processes events and asyncio's tasks run. At the end, no task
    of the test may be left running."""
    import asyncio

    loop = _qt_asyncio_loop
    asyncio.set_event_loop(loop)
    asyncio.events._set_running_loop(loop)
    yield loop
    left = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in left:
        task.cancel()
    # Other tests use asyncio.run, which refuses to start inside a running loop.
    asyncio.events._set_running_loop(None)
    asyncio.set_event_loop(None)
    assert not left, f"tasks left running after the test: {left}"
