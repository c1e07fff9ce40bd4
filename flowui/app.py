"""`flowui [WORKFLOW]`: start the desktop editor (asyncio runs inside Qt's loop via qasync)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    import qasync

    from engine.core.registry import Registry
    from flowui import resources, theme
    from flowui.mainwindow import MainWindow
    from flowui.theme_menu import stored

    running = QApplication.instance()
    app = running if isinstance(running, QApplication) else QApplication(argv)
    app.setApplicationName("FlowUI")
    app.setOrganizationName("FlowUI")
    app.setWindowIcon(resources.icon("app"))
    theme.apply(app, stored(QSettings("FlowUI", "FlowUI")))  # as MainWindow's settings
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    registry = Registry.discover()
    window = MainWindow(registry)
    window.restore_layout()
    window.show()
    for problem in registry.load_errors:
        window.statusBar().showMessage(f"Plugin problem: {problem}", 15000)
    target = Path(argv[1]) if len(argv) > 1 else None
    if target is not None:
        QTimer.singleShot(0, lambda: window.files.open_path(target, ask=False))
    QTimer.singleShot(0, window.files.offer_recovery)
    with loop:
        app_close = asyncio.Event()
        app.aboutToQuit.connect(app_close.set)
        loop.run_until_complete(app_close.wait())
    return 0


if __name__ == "__main__":
    sys.exit(main())
