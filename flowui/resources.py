"""Paths into resources/ and cached icons, in development and inside the PyInstaller bundle.

Icons follow the theme: the files draw their strokes in one grey (ICON_INK), which is
replaced by the theme's icon colour when they are rendered, so a light theme gets dark
strokes without a second set of files."""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

from PySide6.QtCore import QByteArray, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QGuiApplication, QIcon, QIconEngine, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from flowui import theme

ICON_INK = "#C9D1D9"  # the stroke every icon file is drawn with


@cache
def root() -> Path:
    """The resources/ folder, wherever FlowUI runs from: under sys._MEIPASS in a
    PyInstaller bundle, inside the package once installed (pyproject maps resources/
    to flowui/_resources), next to the packages in a checkout or editable install."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    here = Path(__file__).resolve().parent
    installed = here / "_resources"
    return installed if installed.is_dir() else here.parent / "resources"


def path(*parts: str) -> Path:
    return root().joinpath(*parts)


def examples_dir() -> Path:
    return path("examples")


def _icon_file(name: str) -> Path:
    file = path("icons", f"{name}.svg")
    return file if file.is_file() else path("icons", "plugin.svg")


@cache
def _svg_text(name: str) -> str:
    file = _icon_file(name)
    return file.read_text(encoding="utf-8") if file.is_file() else ""


@cache
def _renderer(name: str, ink: str) -> QSvgRenderer:
    return QSvgRenderer(QByteArray(_svg_text(name).replace(ICON_INK, ink).encode()))


def _render(name: str, size: QSize, ratio: float, opacity: float = 1.0) -> QPixmap:
    pixmap = QPixmap(QSize(round(size.width() * ratio), round(size.height() * ratio)))
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    if _svg_text(name):
        painter = QPainter(pixmap)
        painter.setOpacity(opacity)
        # Logical bounds: without them the renderer fills the 2x device pixels at 2x scale.
        _renderer(name, theme.current().icon.name()).render(
            painter, QRectF(0, 0, size.width(), size.height()))
        painter.end()
    return pixmap


class _ThemedIconEngine(QIconEngine):
    """Draws the icon in the theme in use whenever it is painted: toolbars and menus
    repaint on a theme switch and show the new strokes, nothing is set again."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self._cache: dict[tuple[str, int, int, float, bool], QPixmap] = {}

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        return self.scaledPixmap(size, mode, state, 1.0)

    def scaledPixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State,
                     scale: float) -> QPixmap:
        disabled = mode == QIcon.Mode.Disabled
        key = (theme.current().name, size.width(), size.height(), scale, disabled)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = _render(self.name, size, max(scale, 1.0),
                                               0.4 if disabled else 1.0)
        return found

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode,
              state: QIcon.State) -> None:
        ratio = painter.device().devicePixelRatioF() if painter.device() else 1.0
        painter.drawPixmap(rect, self.scaledPixmap(rect.size(), mode, state, ratio))

    def actualSize(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QSize:
        return size

    def clone(self) -> QIconEngine:
        return _ThemedIconEngine(self.name)


_engines: list[QIconEngine] = []  # the QIcons hold them; kept alive from Python's side


@cache
def icon(name: str) -> QIcon:
    """An icon from resources/icons/<name>.svg (the plugin icon when there is none)."""
    if not _svg_text(name):
        return QIcon()
    engine = _ThemedIconEngine(name)
    _engines.append(engine)
    return QIcon(engine)


@cache
def _icon_pixmap(name: str, size: int, theme_name: str, ratio: float) -> QPixmap:
    return _render(name, QSize(size, size), ratio)


def icon_pixmap(name: str, size: int) -> QPixmap:
    """An icon rendered once per theme at `size` px (node title bars paint these every
    frame), at the screen's pixel ratio and never below 2x, so it stays crisp when
    zoomed in a little and on HiDPI screens."""
    screen = QGuiApplication.primaryScreen()
    ratio = max(2.0, screen.devicePixelRatio() if screen is not None else 1.0)
    return _icon_pixmap(name, size, theme.current().name, ratio)


