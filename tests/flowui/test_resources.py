"""Resources the editor draws: every built-in node type has its icon, every icon renders."""

from __future__ import annotations

from PySide6.QtSvg import QSvgRenderer

from engine.core.registry import Registry
from flowui import resources


def test_every_builtin_type_has_an_icon_file():
    missing = [(cls.type, cls.icon) for cls in Registry.discover(plugins=False)
               if not resources.path("icons", f"{cls.icon or 'plugin'}.svg").is_file()]
    assert missing == []


def test_every_icon_is_a_valid_svg(qapp):
    icons = sorted(resources.path("icons").glob("*.svg"))
    assert len(icons) > 40
    assert [p.name for p in icons if not QSvgRenderer(str(p)).isValid()] == []


def test_icon_pixmaps_are_drawn_whole_at_hidpi(qapp):
    image = resources.icon_pixmap("branch", 16).toImage()
    # The icon's strokes reach all four quadrants (a 2x-scaled render would fill one).
    w, h = image.width(), image.height()
    quadrants = [any(image.pixelColor(x, y).alpha() > 0
                     for x in range(x0, x0 + w // 2) for y in range(y0, y0 + h // 2))
                 for x0 in (0, w // 2) for y0 in (0, h // 2)]
    assert sum(quadrants) >= 3, quadrants
