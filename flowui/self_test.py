"""`flowui --self-test`: the editor checked as a person uses it (open an example, run
it, every node lit as completed with the right result, a frame drawn); exit 0, or 1
with what failed. For an installed or bundled copy: CI runs it on the built bundle.

It runs in a throw-away data folder and settings file, so it neither reads nor
changes the user's runs, autosaves or window layout."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor

from flowui import resources

if TYPE_CHECKING:
    from flowui.mainwindow import MainWindow

EXAMPLE = "for_each.flow.json"  # no network, a loop body, parallel items
EXPECTED = {"squares": [1, 4, 9, 16, 25]}
TIMEOUT_MS = 60_000


class SelfTest:
    """Drives `window` through the check; `done(code)` is called once at the end."""

    def __init__(self, window: MainWindow, done: Callable[[int], None]) -> None:
        self.window = window
        self.done = done
        self.steps: list[str] = []
        self._over = False
        self._timer = QTimer(window, singleShot=True, interval=TIMEOUT_MS)
        self._timer.timeout.connect(lambda: self._fail(
            f"the run did not finish within {TIMEOUT_MS // 1000} s"))

    def start(self) -> None:
        path = resources.examples_dir() / EXAMPLE
        if not path.is_file():
            return self._fail(f"the example {path} is missing: the resources are not installed")
        if not self.window.files.open_path(path, ask=False):
            return self._fail(f"the editor could not open {path}")
        nodes = len(self.window.scene.nodes)
        self.steps.append(f"opened {EXAMPLE} ({nodes} nodes)")
        self.window.runs.finished.connect(self._on_finished)
        if self.window.runs.start({}) is None:
            return self._fail("the run did not start (see the Problems panel's reasons)")
        self._timer.start()
        return None

    def _on_finished(self, session: Any) -> None:
        if self._over:
            return
        self._timer.stop()
        if session.status != "completed":
            return self._fail(f"the run ended {session.status}: {session.result}")
        outputs = (session.result or {}).get("outputs")
        if outputs != EXPECTED:
            return self._fail(f"the run's result was {outputs!r}, expected {EXPECTED!r}")
        states = {node_id: item.status for node_id, item in self.window.scene.nodes.items()}
        unlit = {k: v for k, v in states.items() if v != "completed"}
        if unlit:
            return self._fail(f"nodes not shown as completed: {unlit}")
        self.steps.append(f"ran it: every node completed, result {outputs}")
        # a frame after the run's last one (the canvas paints on the loop's next turns)
        QTimer.singleShot(200, self._check_frame)
        return None

    def _check_frame(self) -> None:
        image = self.window.grab().toImage()
        if image.isNull() or image.width() < 200 or image.height() < 200:
            return self._fail(f"the window drew no usable frame ({image.width()}x{image.height()})")
        colours = {QColor(image.pixel(x, y)).rgb()
                   for x in range(0, image.width(), 37) for y in range(0, image.height(), 37)}
        if len(colours) < 8:
            return self._fail("the window's frame is nearly blank")
        self.steps.append(f"drew a {image.width()}x{image.height()} frame")
        self._finish(0)
        return None

    def _fail(self, why: str) -> None:
        self.steps.append(f"FAILED: {why}")
        self._finish(1)

    def _finish(self, code: int) -> None:
        if self._over:
            return
        self._over = True
        verdict = "passed" if code == 0 else "failed"
        print(f"flowui self-test {verdict}:\n  " + "\n  ".join(self.steps),
              file=sys.stdout if code == 0 else sys.stderr, flush=True)
        self.done(code)
