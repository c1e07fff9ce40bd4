"""Paths into resources/ and cached icons, in development and inside the PyInstaller bundle."""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer


def root() -> Path:
    """The resources/ folder: next to the packages in a checkout, under sys._MEIPASS
    in a PyInstaller bundle."""
    bundle = getattr(sys, "_MEIPASS", None)
    base = Path(bundle) if bundle else Path(__file__).resolve().parents[1]
    return base / "resources"


def path(*parts: str) -> Path:
    return root().joinpath(*parts)


def examples_dir() -> Path:
    return path("examples")


@cache
def icon(name: str) -> QIcon:
    """An icon from resources/icons/<name>.svg (the plugin icon when there is none)."""
    file = path("icons", f"{name}.svg")
    if not file.is_file():
        file = path("icons", "plugin.svg")
    return QIcon(str(file)) if file.is_file() else QIcon()


@cache
def icon_pixmap(name: str, size: int) -> QPixmap:
    """An icon rendered once at `size` px (node title bars paint these every frame)."""
    file = path("icons", f"{name}.svg")
    if not file.is_file():
        file = path("icons", "plugin.svg")
    pixmap = QPixmap(QSize(size, size) * 2)  # 2x for HiDPI screens, drawn scaled down
    pixmap.setDevicePixelRatio(2.0)
    pixmap.fill(Qt.GlobalColor.transparent)
    if file.is_file():
        renderer = QSvgRenderer(str(file))
        painter = QPainter(pixmap)
        # Logical bounds: without them the renderer fills the 2x device pixels at 2x scale.
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
    return pixmap
