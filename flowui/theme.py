"""The editor's look in one place: a `Theme` (every colour the app paints: canvas,
nodes, wires, ports, run states, panels, chrome) in a dark and a light version, the one
in use (`current()`), and applying it to the application (`apply`, `use`).

Widgets take colours from the application palette (Fusion draws with it); what paints
itself (the canvas, icons, delegates) reads `current()` when it paints. The upper-case
names (`theme.TEXT`, `theme.STATUS_COLORS`...) read the theme in use too, so code that
names them follows a switch. There is no application-wide style sheet: one makes Qt
polish every widget through it, which more than doubled the time an inspector form
takes to build (docs/notes.md); only the window's chrome gets small sheets of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QWidget


def mix(a: QColor, b: QColor, share: float) -> QColor:
    """`share` of colour a over b, opaque."""
    return QColor(round(a.red() * share + b.red() * (1 - share)),
                  round(a.green() * share + b.green() * (1 - share)),
                  round(a.blue() * share + b.blue() * (1 - share)))


def luminance(color: QColor) -> float:
    """WCAG relative luminance."""
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4
    return (0.2126 * channel(color.red()) + 0.7152 * channel(color.green())
            + 0.0722 * channel(color.blue()))


def contrast(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio of two opaque colours (4.5 reads as body text)."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@dataclass(frozen=True, eq=False)
class Theme:
    name: str  # "dark" or "light": what the settings remember
    # The canvas
    background: QColor
    grid_minor: QColor
    grid_major: QColor
    node_body: QColor
    node_border: QColor
    summary_background: QColor  # the key config line on a node
    node_selected: QColor
    text: QColor
    text_dim: QColor
    wire_selected: QColor
    problem: QColor
    header_text: QColor  # a node's title on its category's band
    header_share: float  # how much of the category colour the band is (over header_base)
    header_base: QColor
    # Panels and chrome
    window: QColor  # docks, dialogs
    panel: QColor  # bars: menus, toolbar, status bar, dock titles
    raised: QColor  # buttons, hovered things
    border: QColor
    highlight: QColor  # selection background
    highlight_text: QColor
    icon: QColor  # the stroke of resources/icons (drawn #C9D1D9 in the files)
    # Hue families, the same in both themes, lightness adjusted for the background
    categories: dict[str, str] = field(default_factory=dict)
    default_category: str = ""
    unknown_category: str = ""
    ports: dict[str, str] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)
    edited: str = ""  # a node changed since the run shown started
    value_kinds: dict[str, str] = field(default_factory=dict)  # the value tree's
    log_levels: dict[str, str] = field(default_factory=dict)
    syntax: dict[str, str] = field(default_factory=dict)  # template highlighting
    match: QColor = field(default_factory=QColor)  # a search hit's background
    dark: bool = True
    _status_colors: dict[str, QColor] = field(default_factory=dict, repr=False)

    def category_color(self, category: str) -> QColor:
        return QColor(self.categories.get(category, self.default_category))

    def header_fill(self, category_color: QColor) -> QColor:
        """A node's title band: its category colour deepened (dark) or tinted (light),
        so the title text keeps its contrast whatever the hue."""
        return mix(category_color, self.header_base, self.header_share)

    def port_color(self, port_type: str) -> QColor:
        return QColor(self.ports.get(port_type, self.ports["any"]))

    def status_color(self, status: str | None) -> QColor:
        """Shared, not copied (asked for per node per frame during a run): copy it
        before changing it."""
        found = self._status_colors.get(status or "")
        if found is None:
            found = self._status_colors[status or ""] = QColor(
                self.statuses.get(status or "", self.unknown_category))
        return found

    def palette(self) -> QPalette:
        """The application palette: Fusion draws every standard widget from it."""
        R, G = QPalette.ColorRole, QPalette.ColorGroup
        pal = QPalette()
        for role, color in (
            (R.Window, self.window), (R.WindowText, self.text), (R.Base, self.background),
            (R.AlternateBase, self.panel), (R.Text, self.text), (R.Button, self.raised),
            (R.ButtonText, self.text), (R.Highlight, self.highlight),
            (R.HighlightedText, self.highlight_text), (R.ToolTipBase, self.panel),
            (R.ToolTipText, self.text), (R.PlaceholderText, self.text_dim),
            (R.Link, self.node_selected), (R.LinkVisited, self.node_selected),
            # Fusion draws frames and bevels from these; BrightText carries the error
            # colour (labels showing a problem take it as their foreground role).
            (R.Light, self.raised), (R.Midlight, self.border), (R.Mid, self.border),
            (R.Dark, self.border), (R.Shadow, self.border), (R.BrightText, self.problem),
        ):
            pal.setColor(role, color)
        dim = mix(self.text_dim, self.window, 0.7)
        for role in (R.Text, R.ButtonText, R.WindowText):
            pal.setColor(G.Disabled, role, dim)
        return pal

    @property
    def style_sheet(self) -> str:
        return ""  # none application-wide (see the module's docstring)

    def chrome_sheet(self) -> str:
        """The window's bars (menu bar and its menus, toolbar, status bar): set on those
        widgets only, so nothing inside the docks is polished through a sheet."""
        c = {k: getattr(self, k).name() for k in ("panel", "raised", "border", "text",
                                                  "text_dim", "highlight", "highlight_text")}
        return f"""
QMenuBar {{ background: {c['panel']}; border-bottom: 1px solid {c['border']}; }}
QMenuBar::item {{ padding: 4px 10px; background: transparent; }}
QMenuBar::item:selected {{ background: {c['raised']}; border-radius: 4px; }}
QMenu {{ background: {c['panel']}; border: 1px solid {c['border']}; padding: 4px; }}
QMenu::item {{ padding: 5px 28px 5px 24px; border-radius: 4px; }}
QMenu::item:selected {{ background: {c['highlight']}; color: {c['highlight_text']}; }}
QMenu::item:disabled {{ color: {c['text_dim']}; }}
QMenu::separator {{ height: 1px; background: {c['border']}; margin: 4px 8px; }}
QMenu::indicator {{ width: 14px; height: 14px; left: 6px; }}
QToolBar {{ background: {c['panel']}; border: none; border-bottom: 1px solid {c['border']};
           spacing: 2px; padding: 3px; }}
QToolButton {{ background: transparent; border: 1px solid transparent; border-radius: 5px;
              padding: 4px; }}
QToolButton:hover {{ background: {c['raised']}; border-color: {c['border']}; }}
QToolButton:pressed, QToolButton:checked {{ background: {c['border']}; }}
QStatusBar {{ background: {c['panel']}; border-top: 1px solid {c['border']};
             color: {c['text_dim']}; }}
"""


DARK = Theme(
    name="dark",
    background=QColor("#0d1117"), grid_minor=QColor("#161b22"), grid_major=QColor("#21262d"),
    node_body=QColor("#1c2128"), node_border=QColor("#30363d"),
    summary_background=QColor("#14181e"), node_selected=QColor("#58a6ff"),
    text=QColor("#e6edf3"), text_dim=QColor("#8b949e"), wire_selected=QColor("#f0f6fc"),
    problem=QColor("#f85149"), header_text=QColor("#f0f6fc"), header_share=0.5,
    header_base=QColor("#0d1117"),
    window=QColor("#0d1117"), panel=QColor("#161b22"), raised=QColor("#21262d"),
    border=QColor("#30363d"), highlight=QColor("#1f6feb"), highlight_text=QColor("#ffffff"),
    icon=QColor("#c9d1d9"),
    categories={
        "Flow": "#6e7681", "Control": "#d29922", "Transform": "#a371f7", "Debug": "#8b949e",
        "Time": "#3fb950", "HTTP": "#58a6ff", "Triggers": "#f0883e", "Code": "#db61a2",
        "LLM": "#bc8cff", "Files": "#e3b341", "Functions": "#39c5cf"},
    default_category="#39c5cf", unknown_category="#6e7681",
    ports={"any": "#8b949e", "string": "#3fb950", "number": "#58a6ff", "integer": "#79c0ff",
           "boolean": "#f85149", "object": "#d2a8ff", "array": "#f0883e"},
    statuses={"queued": "#6e7681", "running": "#58a6ff", "completed": "#3fb950",
              "cached": "#a371f7", "failed": "#f85149", "skipped": "#484f58",
              "cancelled": "#d29922", "retrying": "#d29922"},
    edited="#e3b341",
    value_kinds={"string": "#3fb950", "integer": "#79c0ff", "number": "#79c0ff",
                 "boolean": "#f0883e", "null": "#f0883e", "bytes": "#d2a8ff"},
    log_levels={"debug": "#8b949e", "info": "#e6edf3", "warning": "#d29922",
                "error": "#f85149", "node": "#58a6ff"},
    syntax={"delimiter": "#d2a8ff", "expr": "#79c0ff", "string": "#a5d6ff",
            "keyword": "#ff7b72", "number": "#79c0ff", "statement": "#ffa657",
            "comment": "#8b949e"},
    match=QColor(187, 128, 9, 80), dark=True,
)

# Designed on its own (GitHub's light scale), not inverted: a pale canvas under white
# cards, the same hues a step darker so they read on white, title bands tinted.
LIGHT = Theme(
    name="light",
    background=QColor("#f3f5f8"), grid_minor=QColor("#e8ecf0"), grid_major=QColor("#d9dfe5"),
    node_body=QColor("#ffffff"), node_border=QColor("#c8d1da"),
    summary_background=QColor("#f3f5f8"), node_selected=QColor("#0969da"),
    text=QColor("#1f2328"), text_dim=QColor("#59636e"), wire_selected=QColor("#1f2328"),
    problem=QColor("#cf222e"), header_text=QColor("#1f2328"), header_share=0.2,
    header_base=QColor("#ffffff"),
    window=QColor("#ffffff"), panel=QColor("#f6f8fa"), raised=QColor("#eaeef2"),
    border=QColor("#d0d7de"), highlight=QColor("#0969da"), highlight_text=QColor("#ffffff"),
    icon=QColor("#424a53"),
    categories={
        "Flow": "#6e7781", "Control": "#bf8700", "Transform": "#8250df", "Debug": "#6e7781",
        "Time": "#1a7f37", "HTTP": "#0969da", "Triggers": "#bc4c00", "Code": "#bf3989",
        "LLM": "#a475f9", "Files": "#9a6700", "Functions": "#1b7c83"},
    default_category="#1b7c83", unknown_category="#8c959f",
    ports={"any": "#6e7781", "string": "#1a7f37", "number": "#0969da", "integer": "#218bff",
           "boolean": "#cf222e", "object": "#8250df", "array": "#bc4c00"},
    statuses={"queued": "#8c959f", "running": "#0969da", "completed": "#1a7f37",
              "cached": "#8250df", "failed": "#cf222e", "skipped": "#afb8c1",
              "cancelled": "#9a6700", "retrying": "#9a6700"},
    edited="#9a6700",
    value_kinds={"string": "#1a7f37", "integer": "#0550ae", "number": "#0550ae",
                 "boolean": "#bc4c00", "null": "#bc4c00", "bytes": "#8250df"},
    log_levels={"debug": "#6e7781", "info": "#1f2328", "warning": "#9a6700",
                "error": "#cf222e", "node": "#0969da"},
    syntax={"delimiter": "#8250df", "expr": "#0550ae", "string": "#0a3069",
            "keyword": "#cf222e", "number": "#0550ae", "statement": "#953800",
            "comment": "#6e7781"},
    match=QColor(212, 167, 44, 90), dark=False,
)

THEMES = {t.name: t for t in (DARK, LIGHT)}
SETTINGS_KEY = "view/theme"
FONT_PT = 10.0
_current = DARK
# Run states that colour a node's border (the others show only in its footer).
STRONG_STATUSES = frozenset({"running", "retrying", "completed", "cached", "failed",
                             "cancelled"})


def current() -> Theme:
    return _current


def status_color(status: str | None) -> QColor:
    return _current.status_color(status)


def category_color(category: str) -> QColor:
    return _current.category_color(category)


def port_color(port_type: str) -> QColor:
    return _current.port_color(port_type)


def apply(app: QApplication, name: str | None = None) -> None:
    """Make `name` (else the theme in use) the application's: Fusion, its palette, no
    application-wide style sheet. Widgets that paint themselves hear of it as a
    PaletteChange event and repaint (the canvas rebuilds its cached pictures)."""
    global _current
    if name is not None:
        _current = THEMES.get(name, DARK)
    from flowui.style import ThemeStyle  # (it reads this module)

    if app.styleSheet():
        app.setStyleSheet("")
    if not isinstance(app.style(), ThemeStyle):
        app.setStyle(ThemeStyle())
    font = app.font()
    if font.pointSizeF() != FONT_PT:
        font.setPointSizeF(FONT_PT)
        app.setFont(font)
    palette = _current.palette()
    if app.palette() != palette:
        app.setPalette(palette)
        # A widget with a sheet of its own took its palette when the sheet polished it,
        # and keeps it through an application palette change: polish it again.
        for widget in app.allWidgets():
            sheet = widget.styleSheet()
            if sheet:
                widget.setStyleSheet(sheet)


def applied(app: QApplication) -> bool:
    """Whether the application shows the theme in use (tests set it up once)."""
    return (app.style().objectName() == "flowui" and not app.styleSheet()
            and app.palette().color(QPalette.ColorRole.Base) == _current.background)


def tone(label: QWidget, role: str) -> None:
    """A label's part, drawn from the palette (so it follows a theme switch without a
    style sheet): "help" dim and small, "error" in the problem colour, "sectionTitle"
    dim and bold."""
    R = QPalette.ColorRole
    label.setForegroundRole(R.BrightText if role == "error" else R.PlaceholderText)
    font = label.font()
    if role == "sectionTitle":
        font.setWeight(QFont.Weight.DemiBold)
    else:
        font.setPointSizeF(FONT_PT - 1)
    label.setFont(font)


class _SheetFollower(QObject):
    """Keeps a widget's own sheet, made from the theme, in step with a theme switch."""

    def __init__(self, widget: QWidget, make: Callable[[], str]) -> None:
        super().__init__(widget)
        self.widget, self.make = widget, make
        widget.installEventFilter(self)
        self.refresh()

    def refresh(self) -> None:
        sheet = self.make()
        if self.widget.styleSheet() != sheet:  # (setting one sends a palette change)
            self.widget.setStyleSheet(sheet)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.PaletteChange:
            self.refresh()
        return False


def follow(widget: QWidget, make: Callable[[], str]) -> Callable[[], None]:
    """Give `widget` the sheet `make()` returns, now and after every theme switch; the
    function returned sets it again (when what `make` reads changed)."""
    return _SheetFollower(widget, make).refresh


def invalid_sheet() -> str:
    return (f"border: 1px solid {_current.problem.name()}; border-radius: 5px;"
            f" background: {_current.background.name()};")


def style_chrome(*widgets: QWidget) -> None:
    """The theme's small sheet on the window's bars (see Theme.chrome_sheet)."""
    sheet = _current.chrome_sheet()
    for widget in widgets:
        widget.setStyleSheet(sheet)


# The names this module had before themes: each reads the theme in use.
_NAMES = {
    "BACKGROUND": "background", "GRID_MINOR": "grid_minor", "GRID_MAJOR": "grid_major",
    "NODE_BODY": "node_body", "NODE_BORDER": "node_border",
    "SUMMARY_BACKGROUND": "summary_background", "NODE_SELECTED": "node_selected",
    "TEXT": "text", "TEXT_DIM": "text_dim", "WIRE_SELECTED": "wire_selected",
    "PROBLEM": "problem", "CATEGORY_COLORS": "categories",
    "DEFAULT_CATEGORY_COLOR": "default_category", "PORT_COLORS": "ports",
    "STATUS_COLORS": "statuses", "EDITED": "edited", "STYLE_SHEET": "style_sheet",
}

if TYPE_CHECKING:
    BACKGROUND: QColor
    GRID_MINOR: QColor
    GRID_MAJOR: QColor
    NODE_BODY: QColor
    NODE_BORDER: QColor
    SUMMARY_BACKGROUND: QColor
    NODE_SELECTED: QColor
    TEXT: QColor
    TEXT_DIM: QColor
    WIRE_SELECTED: QColor
    PROBLEM: QColor
    CATEGORY_COLORS: dict[str, str]
    DEFAULT_CATEGORY_COLOR: str
    PORT_COLORS: dict[str, str]
    STATUS_COLORS: dict[str, str]
    EDITED: str
    STYLE_SHEET: str


def __getattr__(name: str) -> object:
    attr = _NAMES.get(name)
    if attr is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(_current, attr)
