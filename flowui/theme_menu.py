"""View > Theme: Dark / Light as radio actions, the choice remembered in the settings and
applied at once to the whole application (nothing needs a restart)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSettings
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QApplication, QMainWindow, QMenu, QToolBar

from flowui import theme

LABELS = {"dark": "&Dark Theme", "light": "&Light Theme"}  # (also how the palette lists them)


def stored(settings: QSettings) -> str | None:
    """The theme the settings remember, if any (read before the window is built, so
    the window is built in it rather than switched as it opens)."""
    name = settings.value(theme.SETTINGS_KEY)
    return name if isinstance(name, str) and name in theme.THEMES else None


class ThemeSwitcher(QObject):
    """Owns the theme actions of one window; restyles that window's bars (their small
    sheets, see theme.chrome_sheet) whenever the application's palette changes."""

    def __init__(self, window: QMainWindow, settings: QSettings) -> None:
        super().__init__(window)
        self.window, self.settings = window, settings
        self.group = QActionGroup(self)
        self.group.setExclusive(True)
        self.actions: dict[str, QAction] = {}
        for name, label in LABELS.items():
            action = QAction(label, window)
            action.setCheckable(True)
            action.setStatusTip(f"Show FlowUI in the {name} theme")
            action.triggered.connect(lambda _=False, n=name: self.use(n))
            self.group.addAction(action)
            window.addAction(action)
            self.actions[f"theme_{name}"] = action
        self.menu = QMenu("&Theme", window)
        self.menu.addActions(list(self.actions.values()))
        window.installEventFilter(self)
        remembered = stored(settings)
        if remembered is not None and remembered != theme.current().name:
            self.use(remembered)
        self._check()

    def use(self, name: str) -> None:
        """Switch the whole application to `name` and remember it."""
        self.settings.setValue(theme.SETTINGS_KEY, name)
        app = QApplication.instance()
        if isinstance(app, QApplication) and (name != theme.current().name
                                              or not theme.applied(app)):
            theme.apply(app, name)
        self._check()

    def style_bars(self) -> None:
        """The menu bar (with its menus), the toolbars, the status bar, and the menus
        the window holds outside the menu bar (submenus, Theme itself)."""
        w = self.window
        menus = [m for m in w.findChildren(QMenu) if m.parent() is w]
        theme.style_chrome(w.menuBar(), w.statusBar(), *w.findChildren(QToolBar), *menus)

    def _check(self) -> None:
        self.actions[f"theme_{theme.current().name}"].setChecked(True)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.PaletteChange:
            self.style_bars()
            self._check()
        return super().eventFilter(watched, event)
