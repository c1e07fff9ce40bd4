"""The application style: Fusion, drawing from the theme's palette, with the editable
fields' frames drawn as the theme wants them (a rounded border, the accent when focused).

Fusion alone draws a field's frame in the window colour darkened, invisible on a dark
window; a style sheet could draw it but polishes every widget through itself (see
flowui/theme.py). A proxy style costs nothing when widgets are built."""

from __future__ import annotations

from PySide6.QtCore import QRectF
from PySide6.QtGui import QPainter, QPen
from PySide6.QtWidgets import QProxyStyle, QStyle, QStyleFactory, QStyleOption, QWidget

from flowui import theme


class ThemeStyle(QProxyStyle):
    def __init__(self) -> None:
        super().__init__(QStyleFactory.create("Fusion"))
        self.setObjectName("flowui")

    def drawPrimitive(self, element: QStyle.PrimitiveElement, option: QStyleOption,
                      painter: QPainter, widget: QWidget | None = None) -> None:
        if element == QStyle.PrimitiveElement.PE_FrameLineEdit:
            look = theme.current()
            focused = bool(option.state & QStyle.StateFlag.State_HasFocus)
            painter.save()
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(QPen(look.node_selected if focused else look.border, 1))
            painter.setBrush(option.palette.base())
            painter.drawRoundedRect(QRectF(option.rect).adjusted(0.5, 0.5, -0.5, -0.5), 5, 5)
            painter.restore()
            return
        super().drawPrimitive(element, option, painter, widget)
