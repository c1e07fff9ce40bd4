"""File ▸ Export Image: the graph on the canvas (or the nodes selected) as a PNG
picture or an SVG drawing, as it is shown: node states of the run shown included,
the selection's highlight and the background grid left out.

A PNG is drawn at twice the scene's size (crisp on HiDPI screens and in documents)
unless that passes MAX_PIXELS on its long side, when the scale shrinks to fit. Files
are written atomically (engine.support.atomic)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, QSize, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QFileDialog, QGraphicsItem, QWidget

from engine.support.atomic import write_bytes_atomic
from flowui import theme
from flowui.canvas.scene import GraphScene

MARGIN = 40.0  # scene units around what is exported
PNG_SCALE = 2.0
MAX_PIXELS = 16_384  # a PNG's longest side (a 10,000-node graph at 2x would be ~100,000)


def exported_rect(scene: GraphScene, *, selection_only: bool) -> QRectF:
    """What an export covers: the selected nodes, or every node, wire, group and note."""
    items: list[QGraphicsItem] = list(scene.selectedItems()) if selection_only else []
    rect = QRectF()
    for item in items or [*scene.nodes.values(), *scene.edges.values(),
                          *scene.decor.items.values()]:
        rect = rect.united(item.sceneBoundingRect())
    return rect.adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN) if not rect.isNull() else rect


def png_bytes(scene: GraphScene, rect: QRectF) -> bytes:
    scale = min(PNG_SCALE, MAX_PIXELS / max(rect.width(), rect.height(), 1.0))
    size = QSize(max(1, round(rect.width() * scale)), max(1, round(rect.height() * scale)))
    image = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(theme.BACKGROUND)
    painter = QPainter(image)
    _render(scene, painter, QRectF(0, 0, size.width(), size.height()), rect)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]  # (PySide takes the str)
    return bytes(data.data())


def svg_bytes(scene: GraphScene, rect: QRectF, title: str) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setSize(QSize(round(rect.width()), round(rect.height())))
    generator.setViewBox(QRectF(0, 0, rect.width(), rect.height()))
    generator.setTitle(title)
    generator.setDescription("Exported from FlowUI")
    painter = QPainter(generator)
    painter.fillRect(QRectF(0, 0, rect.width(), rect.height()), theme.BACKGROUND)
    _render(scene, painter, QRectF(0, 0, rect.width(), rect.height()), rect)
    painter.end()
    return bytes(data.data())


def export_image(scene: GraphScene, path: Path, *, selection_only: bool,
                 title: str = "") -> QRectF:
    """Write the export to `path` (PNG or SVG by its suffix); the scene rect drawn.
    Raises ValueError for nothing to export or another suffix, OSError when the file
    cannot be written."""
    rect = exported_rect(scene, selection_only=selection_only)
    if rect.isNull():
        raise ValueError("there is nothing to export: the graph is empty")
    suffix = path.suffix.lower()
    if suffix == ".png":
        data = png_bytes(scene, rect)
    elif suffix == ".svg":
        data = svg_bytes(scene, rect, title)
    else:
        raise ValueError(f"{path.name}: export as .png or .svg")
    write_bytes_atomic(path, data)
    return rect


def _render(scene: GraphScene, painter: QPainter, target: QRectF, source: QRectF) -> None:
    """The items as they are, without the selection's highlight, drawn in full even
    when the canvas is zoomed far out (where it shows blocks) and not from their
    pixmap caches (an SVG would hold pictures instead of shapes and text): all for
    the drawing only, with the scene's signals blocked so nothing else notices."""
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    selected = scene.selectedItems()
    far = scene.far
    blocked = scene.blockSignals(True)
    try:
        for item in selected:
            item.setSelected(False)
        scene.set_far(False)
        cached = [(item, item.cacheMode()) for item in scene.nodes.values()]
        for item, _mode in cached:
            item.setCacheMode(QGraphicsItem.CacheMode.NoCache)
        try:
            scene.render(painter, target, source, Qt.AspectRatioMode.IgnoreAspectRatio)
        finally:
            for item, mode in cached:
                item.setCacheMode(mode)
    finally:
        scene.set_far(far)
        for item in selected:
            item.setSelected(True)
        scene.blockSignals(blocked)


def export_with_dialog(window: QWidget, scene: GraphScene, name: str,
                       say: Callable[[str], None]) -> Path | None:
    """Ask where (PNG or SVG), export, say what was written; the path, or None."""
    selection_only = bool(scene.selectedItems())
    what = "the selected nodes" if selection_only else "the graph"
    chosen, _filter = QFileDialog.getSaveFileName(
        window, f"Export {what} as an image", f"{name or 'workflow'}.png",
        "PNG picture (*.png);;SVG drawing (*.svg)")
    if not chosen:
        return None
    path = Path(chosen)
    if path.suffix.lower() not in (".png", ".svg"):
        path = path.with_suffix(".svg" if "svg" in _filter.lower() else ".png")
    try:
        export_image(scene, path, selection_only=selection_only, title=name)
    except (ValueError, OSError) as e:
        say(f"Cannot export: {getattr(e, 'strerror', None) or e}")
        return None
    say(f"Exported {what} to {path}")
    return path
