"""Small pictures of workflow files (the example gallery's): the graph drawn from a real
scene offscreen, shrunk to a thumbnail, kept by the file's content hash (in memory and
in the user cache folder), so a picture is drawn once per file version and theme."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, QSize, Qt
from PySide6.QtGui import QImage, QPainter

from engine.core.registry import Registry
from engine.errors import WorkflowFileError
from engine.support.atomic import write_bytes_atomic
from engine.support.bounded_read import read_regular
from engine.workflow import file as workflow_file
from flowui import theme
from flowui.canvas.scene import GraphScene
from flowui.document import WorkflowDocument

DETAIL_SCALE = 0.8  # drawn at this zoom first (titles and ports drawn), then shrunk
MAX_SIDE = 2400  # px of that first drawing: a huge graph is drawn smaller
MARGIN = 30.0
MAX_FILE = 8 << 20

_kept: dict[str, QImage] = {}  # by cache key; a gallery's worth, dies with the process


def cache_dir() -> Path:
    """`FLOWUI_CACHE_DIR` when set, else the platform's user cache folder."""
    env = os.environ.get("FLOWUI_CACHE_DIR")
    if env:
        return Path(env).expanduser() / "thumbnails"
    import platformdirs

    return Path(platformdirs.user_cache_dir("FlowUI", appauthor=False)) / "thumbnails"


def cache_key(data: bytes, size: QSize, ratio: float) -> str:
    digest = hashlib.sha256(data).hexdigest()[:32]
    return f"{digest}-{theme.current().name}-{size.width()}x{size.height()}@{ratio:g}"


def thumbnail(path: Path, registry: Registry, size: QSize, ratio: float = 1.0) -> QImage:
    """`path`'s graph fitted into `size` (logical px) at `ratio` device pixels per px;
    a blank picture when the file cannot be read."""
    try:
        data = read_regular(path, max_bytes=MAX_FILE)
    except (OSError, ValueError):
        return blank(size, ratio)
    key = cache_key(data, size, ratio)
    found = _kept.get(key)
    if found is not None:
        return found
    stored = cache_dir() / f"{key}.png"
    image = QImage(str(stored)) if stored.is_file() else QImage()
    if image.isNull():
        image = render(data, registry, size, ratio, source=str(path))
        try:
            stored.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(stored, _png(image))
        except OSError:
            pass  # a read-only cache only costs drawing it again next time
    image.setDevicePixelRatio(ratio)
    _kept[key] = image
    return image


def render(data: bytes, registry: Registry, size: QSize, ratio: float,
           source: str = "") -> QImage:
    """Draw the workflow in `data` from a real scene, fitted and centred in `size`."""
    out = blank(size, ratio)
    try:
        workflow = workflow_file.loads(data.decode("utf-8"), source=source)
    except (WorkflowFileError, UnicodeDecodeError):
        return out
    doc = WorkflowDocument(registry, workflow)
    scene = GraphScene(doc)
    rect = QRectF()
    for item in [*scene.nodes.values(), *scene.edges.values()]:
        rect = rect.united(item.sceneBoundingRect())
    if rect.isNull():
        return out
    rect.adjust(-MARGIN, -MARGIN, MARGIN, MARGIN)
    scale = min(DETAIL_SCALE, MAX_SIDE / max(rect.width(), rect.height()))
    detail = QImage(max(1, round(rect.width() * scale)), max(1, round(rect.height() * scale)),
                    QImage.Format.Format_ARGB32_Premultiplied)
    detail.fill(theme.BACKGROUND)
    painter = QPainter(detail)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    scene.render(painter, QRectF(0, 0, detail.width(), detail.height()), rect)
    painter.end()
    target = QSize(round(size.width() * ratio), round(size.height() * ratio))
    small = detail.scaled(target, Qt.AspectRatioMode.KeepAspectRatio,
                          Qt.TransformationMode.SmoothTransformation)
    painter = QPainter(out)
    out.setDevicePixelRatio(1.0)  # placed in device pixels
    painter.drawImage((target.width() - small.width()) // 2,
                      (target.height() - small.height()) // 2, small)
    painter.end()
    out.setDevicePixelRatio(ratio)
    scene.clear()
    return out


def blank(size: QSize, ratio: float) -> QImage:
    image = QImage(round(size.width() * ratio), round(size.height() * ratio),
                   QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(theme.BACKGROUND)
    image.setDevicePixelRatio(ratio)
    return image


def _png(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]  # (PySide takes the str)
    return bytes(data.data())
