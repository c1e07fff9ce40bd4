"""`flowui [WORKFLOW]`: start the desktop editor (asyncio runs inside Qt's loop via qasync)."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication


def main(argv: list[str] | None = None, *, self_test: bool = False) -> int:
    """The editor; with `self_test`, flowui.self_test's check in place of a session
    (its own data folder and settings), returning its exit code."""
    argv = list(sys.argv if argv is None else argv)
    from engine.core.registry import Registry
    from flowui import resources, theme
    from flowui.event_loop import EditorLoop
    from flowui.mainwindow import MainWindow
    from flowui.theme_menu import stored

    running = QApplication.instance()
    app = running if isinstance(running, QApplication) else QApplication(argv)
    app.setApplicationName("FlowUI")
    app.setOrganizationName("FlowUI")
    app.setWindowIcon(resources.icon("app"))
    scratch = tempfile.TemporaryDirectory(prefix="flowui-self-test-") if self_test else None
    if scratch is not None:
        os.environ["FLOWUI_DATA_DIR"] = scratch.name
        settings = QSettings(str(Path(scratch.name, "settings.ini")), QSettings.Format.IniFormat)
    else:
        settings = QSettings("FlowUI", "FlowUI")
    theme.apply(app, stored(settings))  # as MainWindow's settings
    loop = EditorLoop(app)
    asyncio.set_event_loop(loop)
    registry = Registry.discover()
    window = MainWindow(registry, settings=settings)
    if scratch is None:
        window.restore_layout()
    window.show()
    code = [0]
    if os.environ.get("FLOWUI_BENCH_FIRST_FRAME"):  # bench/bundle.py: start-up, then quit
        QTimer.singleShot(0, lambda: (window.repaint(), app.quit()))
    if scratch is not None:
        from flowui.self_test import SelfTest

        def done(result: int) -> None:
            code[0] = result
            window.close()
            app.quit()

        QTimer.singleShot(0, SelfTest(window, done).start)
    for problem in registry.load_errors:
        window.statusBar().showMessage(f"Plugin problem: {problem}", 15000)
    target = Path(argv[1]) if len(argv) > 1 and scratch is None else None
    if target is not None:
        QTimer.singleShot(0, lambda: window.files.open_path(target, ask=False))
    if scratch is None:
        QTimer.singleShot(0, window.files.offer_recovery)
    with loop:
        app_close = asyncio.Event()
        app.aboutToQuit.connect(app_close.set)
        loop.run_until_complete(app_close.wait())
    if scratch is not None:
        scratch.cleanup()
    return code[0]


if __name__ == "__main__":
    sys.exit(main())
