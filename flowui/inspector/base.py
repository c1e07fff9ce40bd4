"""The inspector's building blocks: the UNSET marker, widgets with the panel's manners
(no stray wheel edits, text fields that grow) and the FieldEditor base class."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QLocale, QPointF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QKeyEvent,
    QPainter,
    QPalette,
    QPen,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QPlainTextEdit,
    QSpinBox,
    QToolButton,
    QWidget,
)

from flowui import theme
from flowui.inspector.schema import FieldSchema


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()  # "the key is not in the config"
INT_LIMIT = 2**31 - 2  # QSpinBox is 32-bit; one value below is kept for "not set"
NOT_SET = "not set"


def monospace() -> QFont:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setPointSizeF(9.5)
    return font


def same_value(a: Any, b: Any) -> bool:
    """Equal as JSON keeps them apart: 1, 1.0 and True differ, and so does key order
    (config objects keep theirs in the file)."""
    if a is UNSET or b is UNSET:
        return a is b
    try:
        return json.dumps(a) == json.dumps(b)
    except (TypeError, ValueError):
        return bool(a == b)


def small_button(text: str, tip: str, *, checkable: bool = False) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    button.setCheckable(checkable)
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keeps Tab moving between values
    button.setFixedSize(24, 24)
    look = theme.current()
    on = QColor(look.ports["object"])
    button.setStyleSheet(f"QToolButton {{ color: {look.text_dim.name()}; font-size: 9pt; "
                         "padding: 0; border: 1px solid transparent; border-radius: 5px; }"
                         f"QToolButton:hover {{ background: {look.raised.name()}; }}"
                         f"QToolButton:checked {{ color: {on.name()}; "
                         f"background: {theme.mix(on, look.window, 0.18).name()}; "
                         f"border-color: {on.name()}; }}")
    return button


# --- plain widgets with the inspector's manners --------------------------------------------


def wheel_when_focused(widget: QWidget, event: QWheelEvent,
                       handle: Callable[[QWheelEvent], None]) -> None:
    """Spin boxes and combos change only when focused: scrolling the panel over
    them must not edit the workflow."""
    if widget.hasFocus():
        handle(event)
    else:
        event.ignore()


# Arrow buttons are hidden (NoButtons leaves a style-sheeted edit field 1 px wide):
# the field looks like every other; arrow keys and the wheel (when focused) still step.
def _no_arrows() -> str:
    look = theme.current()
    return ("QAbstractSpinBox::up-button, QAbstractSpinBox::down-button "
            "{ width: 0px; border: none; } QAbstractSpinBox { padding: 4px 6px; "
            f"border: 1px solid {look.border.name()}; border-radius: 5px; "
            f"background: {look.background.name()}; }}"
            f" QAbstractSpinBox:focus {{ border-color: {look.node_selected.name()}; }}")


def dim_when_unset(spin: QSpinBox | QDoubleSpinBox) -> None:
    """Show the "not set" position (the special value) in the placeholder colour."""
    def update(*_: Any) -> None:
        unset = bool(spin.specialValueText()) and spin.value() == spin.minimum()
        dim = theme.current().text_dim.name()
        spin.setStyleSheet(_no_arrows() + (f" QAbstractSpinBox {{ color: {dim}; }}" if unset
                                           else ""))
    spin.valueChanged.connect(update)
    update()


class SpinBox(QSpinBox):
    def __init__(self) -> None:
        super().__init__()
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setStyleSheet(_no_arrows())
        self.setKeyboardTracking(False)  # one change per value typed, not per digit

    def wheelEvent(self, event: QWheelEvent) -> None:
        wheel_when_focused(self, event, super().wheelEvent)


class DoubleSpinBox(QDoubleSpinBox):
    def __init__(self, decimals: int = 3) -> None:
        super().__init__()
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setStyleSheet(_no_arrows())
        self.setKeyboardTracking(False)
        self.setLocale(QLocale.c())  # files hold "0.5"; the editor shows the same
        self.setDecimals(decimals)

    def textFromValue(self, value: float) -> str:
        return f"{value:.{self.decimals()}f}".rstrip("0").rstrip(".")  # 30, not 30.000

    def wheelEvent(self, event: QWheelEvent) -> None:
        wheel_when_focused(self, event, super().wheelEvent)


class ComboBox(QComboBox):
    """A combo that draws its own chevron: the theme's drop-down box is a black block."""

    def __init__(self) -> None:
        super().__init__()
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        # A long choice must not widen the panel; the popup still shows it whole.
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(6)
        look = theme.current()
        self.setStyleSheet("QComboBox::drop-down { border: none; background: transparent; "
                           "width: 18px; } QComboBox { padding: 4px 18px 4px 6px; "
                           f"border: 1px solid {look.border.name()}; border-radius: 5px; "
                           f"background: {look.background.name()}; }}"
                           f" QComboBox:focus {{ border-color: {look.node_selected.name()}; }}"
                           f" QComboBox QAbstractItemView {{ background: {look.panel.name()}; "
                           f"border: 1px solid {look.border.name()}; }}")

    def wheelEvent(self, event: QWheelEvent) -> None:
        wheel_when_focused(self, event, super().wheelEvent)

    def paintEvent(self, event: Any) -> None:
        super().paintEvent(event)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        look = theme.current()
        pen = QPen(look.text_dim if self.isEnabled() else look.border, 1.5)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        x, y = self.width() - 14.0, self.height() / 2.0
        painter.drawPolyline([QPointF(x - 4, y - 2), QPointF(x, y + 2), QPointF(x + 4, y - 2)])
        painter.end()


class CheckBox(QCheckBox):
    """The theme's box outline is the window colour darkened: invisible on this panel."""

    def __init__(self, text: str = "") -> None:
        super().__init__(text)
        palette = self.palette()
        palette.setColor(QPalette.ColorRole.Window, theme.current().text_dim)
        self.setPalette(palette)


class TextEdit(QPlainTextEdit):
    """A text field that grows with its text: one line looks like a line edit (Enter
    does not add a line; Shift+Enter does), `multiline` starts taller. A QLineEdit
    cannot carry a QSyntaxHighlighter, which every config string gets."""

    return_pressed = Signal()
    editing_finished = Signal()  # focus left after the text changed

    def __init__(self, *, multiline: bool = False, mono: bool = False,
                 min_lines: int | None = None, max_lines: int = 12) -> None:
        super().__init__()
        self.multiline = multiline
        self.min_lines = min_lines or (3 if multiline else 1)
        self.max_lines = max_lines
        self._dirty = False
        self._hint = ""
        self.setTabChangesFocus(True)
        # Each keystroke is already an undo command on the editor's stack; a second,
        # private undo history in the field would disagree with it.
        self.setUndoRedoEnabled(False)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.document().setDocumentMargin(1)
        self.setViewportMargins(4, 2, 4, 2)  # inside the rounded frame the style draws
        if mono:
            self.setFont(monospace())
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self.textChanged.connect(self._mark_dirty)
        self._fit()

    def _mark_dirty(self) -> None:
        self._dirty = True

    def _fit(self, *_: Any) -> None:
        lines = int(self.document().documentLayout().documentSize().height())
        shown = max(self.min_lines, min(self.max_lines, lines))
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded if lines > shown
                                        else Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        m, v = self.contentsMargins(), self.viewportMargins()
        self.setFixedHeight(shown * self.fontMetrics().lineSpacing()
                            + 2 * int(self.document().documentMargin()) + m.top() + m.bottom()
                            + v.top() + v.bottom() + 2)  # bold highlights: 1 px taller lines

    def placeholderText(self) -> str:
        return self._hint

    def setPlaceholderText(self, text: str) -> None:
        # Drawn here: Qt wraps a placeholder by words, so a long one in a one-line field
        # shows only its first word.
        if text != self._hint:
            self._hint = text
            self.viewport().update()

    def paintEvent(self, event: Any) -> None:
        super().paintEvent(event)
        if not self._hint or not self.document().isEmpty():
            return
        painter = QPainter(self.viewport())
        painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
        rect = self.viewport().rect()
        left = self.cursorRect().left()
        rect.adjust(left, self.cursorRect().top(), -left, 0)
        if self.multiline:
            painter.drawText(rect, int(Qt.TextFlag.TextWordWrap), self._hint)
        else:
            painter.drawText(rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop),
                             self.fontMetrics().elidedText(self._hint, Qt.TextElideMode.ElideRight,
                                                           rect.width()))
        painter.end()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self._fit()  # the style sheet's padding is known only once the widget is polished

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.StyleChange, QEvent.Type.FontChange):
            self._fit()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        shift = event.modifiers() & Qt.KeyboardModifier.ShiftModifier
        # A value that already has several lines is edited as such.
        if enter and not (self.multiline or shift or self.document().blockCount() > 1):
            self.return_pressed.emit()
            return
        super().keyPressEvent(event)

    def focusOutEvent(self, event: Any) -> None:
        super().focusOutEvent(event)
        if self._dirty:
            self._dirty = False
            self.editing_finished.emit()

    def set_text(self, text: str) -> None:
        """Replace the text, keeping the cursor where it was (as far as it still fits)."""
        if self.toPlainText() == text:
            return
        cursor = self.textCursor()
        pos = cursor.position()
        self.setPlainText(text)
        cursor = self.textCursor()
        cursor.setPosition(min(pos, len(text)))
        self.setTextCursor(cursor)
        self._dirty = False


class FieldEditor(QWidget):
    edited = Signal(object)
    problem = Signal(str)

    def __init__(self, schema: FieldSchema) -> None:
        super().__init__()
        self.schema = schema
        self._quiet = False  # set while showing a value: not an edit

    def set_value(self, value: Any) -> None:
        self._quiet = True
        try:
            self._show(value)
        finally:
            self._quiet = False

    def accepts(self, value: Any) -> bool:
        """Whether this editor can show `value` (a typed editor cannot show a template)."""
        return True

    def _show(self, value: Any) -> None:
        raise NotImplementedError

    def _emit(self, value: Any) -> None:
        if not self._quiet:
            self.edited.emit(value)

    def _box(self, *widgets: QWidget) -> QHBoxLayout:
        box = QHBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(4)
        for w in widgets:
            box.addWidget(w)
        self.setFocusProxy(widgets[0])
        return box
