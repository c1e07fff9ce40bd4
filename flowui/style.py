"""The application style: Fusion, drawing from the theme's palette, with the editable
fields drawn as the theme wants them (a rounded border, the accent when focused, the
height the inspector's rows are laid out for).

Fusion alone draws a field's frame in the window colour darkened, invisible on a dark
window; a style sheet could draw it but polishes every widget through itself (see
flowui/theme.py). A proxy style costs nothing when widgets are built."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import (
    QLineEdit,
    QPlainTextEdit,
    QProxyStyle,
    QStyle,
    QStyleFactory,
    QStyleOption,
    QStyleOptionDockWidget,
    QStyleOptionMenuItem,
    QTextEdit,
    QToolButton,
    QWidget,
)

from flowui import theme

FIELD_H = 27  # a one-line field's height (flowui.inspector.form.LINE_H)
FIELD_PAD = 4
MENU_ITEM_H = 26  # a menu entry's height: menus are read and aimed at, not skimmed


class ThemeStyle(QProxyStyle):
    def __init__(self) -> None:
        super().__init__(QStyleFactory.create("Fusion"))
        self.setObjectName("flowui")

    def polish(self, target: Any) -> Any:
        """Tool buttons outside toolbars (a field's reset, a panel's actions) are flat
        until hovered, as the toolbar's are."""
        if isinstance(target, QToolButton):
            target.setAutoRaise(True)
        return super().polish(target)

    def drawPrimitive(self, element: QStyle.PrimitiveElement, option: QStyleOption,
                      painter: QPainter, widget: QWidget | None = None) -> None:
        if element == QStyle.PrimitiveElement.PE_FrameLineEdit or (
                element == QStyle.PrimitiveElement.PE_Frame
                and isinstance(widget, QPlainTextEdit | QTextEdit)):
            focused = bool(option.state & QStyle.StateFlag.State_HasFocus) or (
                widget is not None and element == QStyle.PrimitiveElement.PE_Frame
                and widget.hasFocus())
            self._field_frame(painter, QRectF(option.rect), focused,
                              fill=element == QStyle.PrimitiveElement.PE_FrameLineEdit,
                              option=option)
            return
        super().drawPrimitive(element, option, painter, widget)

    def drawControl(self, element: QStyle.ControlElement, option: QStyleOption,
                    painter: QPainter, widget: QWidget | None = None) -> None:
        if element == QStyle.ControlElement.CE_DockWidgetTitle and isinstance(
                option, QStyleOptionDockWidget):
            # A dock's title as a bar (a sheet on the dock would polish all it holds).
            look = theme.current()
            rect = option.rect
            painter.fillRect(rect, look.panel)
            painter.fillRect(rect.left(), rect.bottom(), rect.width(), 1, look.border)
            font = painter.font()
            font.setWeight(QFont.Weight.DemiBold)
            painter.save()
            painter.setFont(font)
            painter.setPen(look.text)
            room = rect.adjusted(8, 0, -8 - 2 * rect.height(), 0)  # the float, close buttons
            text = QFontMetrics(font).elidedText(option.title, Qt.TextElideMode.ElideRight,
                                                 room.width())
            painter.drawText(room, int(Qt.AlignmentFlag.AlignVCenter
                                       | Qt.AlignmentFlag.AlignLeft), text)
            painter.restore()
            return
        if (element == QStyle.ControlElement.CE_MenuItem
                and isinstance(option, QStyleOptionMenuItem)
                and option.menuItemType == QStyleOptionMenuItem.MenuItemType.Separator):
            rect = option.rect  # Fusion's separator is lost in a dark menu's background
            painter.fillRect(rect.left() + 8, rect.center().y(), rect.width() - 16, 1,
                             theme.current().border)
            return
        super().drawControl(element, option, painter, widget)

    def pixelMetric(self, metric: QStyle.PixelMetric, option: QStyleOption | None = None,
                    widget: QWidget | None = None) -> int:
        if metric == QStyle.PixelMetric.PM_DockWidgetTitleMargin:
            return 6
        if metric in (QStyle.PixelMetric.PM_MenuHMargin, QStyle.PixelMetric.PM_MenuVMargin):
            return 4
        if metric == QStyle.PixelMetric.PM_DefaultFrameWidth and isinstance(widget, QLineEdit):
            return FIELD_PAD  # room between the rounded border and the text
        return super().pixelMetric(metric, option, widget)

    def sizeFromContents(self, kind: QStyle.ContentsType, option: QStyleOption,
                         size: QSize, widget: QWidget | None = None) -> QSize:
        found = super().sizeFromContents(kind, option, size, widget)  # type: ignore[arg-type]  # (Qt passes none for some)
        if kind == QStyle.ContentsType.CT_LineEdit and found.height() < FIELD_H:
            found.setHeight(FIELD_H)
        if (kind == QStyle.ContentsType.CT_MenuItem and isinstance(option, QStyleOptionMenuItem)
                and option.menuItemType != QStyleOptionMenuItem.MenuItemType.Separator):
            found = QSize(found.width() + 16, max(found.height(), MENU_ITEM_H))  # room to aim
        return found

    @staticmethod
    def _field_frame(painter: QPainter, rect: QRectF, focused: bool, *, fill: bool,
                     option: QStyleOption) -> None:
        look = theme.current()
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(look.node_selected if focused else look.border, 1))
        if fill:
            painter.setBrush(option.palette.base())
        painter.drawRoundedRect(rect.adjusted(0.5, 0.5, -0.5, -0.5), 5, 5)
        painter.restore()
