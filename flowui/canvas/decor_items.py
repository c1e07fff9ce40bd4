"""Groups (tinted, titled frames behind the nodes) and sticky notes (Markdown cards) on
the canvas. Like nodes, they paint what the document holds and never change it: the
gestures that move or resize them and the in-place editor report intents.

A group answers the mouse only on its title bar and its resize corner (its shape), so
a press inside it starts a rubber band as on empty canvas.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QColor,
    QFont,
    QFontMetricsF,
    QKeyEvent,
    QKeySequence,
    QLinearGradient,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsSceneContextMenuEvent,
    QGraphicsSceneHoverEvent,
    QGraphicsSceneMouseEvent,
    QGraphicsTextItem,
    QStyleOptionGraphicsItem,
    QWidget,
)

from flowui import theme
from flowui.decor import MIN_SIZE, Decor, Kind, Rect

TITLE_H = 40.0  # a group's title bar: what drags it
HANDLE = 18.0  # the resize corner
RADIUS = 8.0
PAD = 12.0
GROUP_Z, NOTE_Z = -10.0, -5.0  # under the wires (0) and the nodes (1)
FAR_FILL_ALPHA = 0.22  # how much of a group's colour tints the canvas (also far out)

_TITLE_FONT = QFont()
_TITLE_FONT.setPixelSize(18)  # read from ~50% zoom, where node titles give up
_TITLE_FONT.setWeight(QFont.Weight.DemiBold)
_TITLE_METRICS = QFontMetricsF(_TITLE_FONT)
_NOTE_FONT = QFont()
_NOTE_FONT.setPointSizeF(10.0)
_SOURCE_FONT = QFont("monospace")
_SOURCE_FONT.setStyleHint(QFont.StyleHint.Monospace)
_SOURCE_FONT.setPointSizeF(9.5)
_PLACEHOLDER = "Double-click to write a note (Markdown)"

# Shortcuts the in-place editor keeps for itself while it has the focus (the canvas's
# one-key shortcuts, Delete, Ctrl+Enter for Run... would otherwise fire as one types).
_TEXT_KEYS = (QKeySequence.StandardKey.Undo, QKeySequence.StandardKey.Redo,
              QKeySequence.StandardKey.Copy, QKeySequence.StandardKey.Cut,
              QKeySequence.StandardKey.Paste, QKeySequence.StandardKey.SelectAll)


def mixed(color: QColor, amount: float, base: QColor | None = None) -> QColor:
    """`amount` of `color` over `base` (the theme's canvas), opaque (cheaper to fill
    than alpha). Read when called: the theme can change."""
    if base is None:
        base = theme.current().background
    return QColor(round(base.red() + (color.red() - base.red()) * amount),
                  round(base.green() + (color.green() - base.green()) * amount),
                  round(base.blue() + (color.blue() - base.blue()) * amount))


class DecorItem(QGraphicsItem):
    """What groups and notes share: an id, a colour, a rect (position + size), a
    resize corner, an in-place editor, and a flat look for the far overview."""

    kind: Kind

    def __init__(self, decor: Decor) -> None:
        super().__init__()
        self.decor = decor
        self._size = (decor.rect[2], decor.rect[3])
        self._far = QColor()  # a plain version of its colour, for the far overview
        self.editor: InlineEditor | None = None
        # The layer's (flowui.canvas.decor_layer): the text typed, or None (cancelled).
        self.on_edited: Callable[[DecorItem, str | None], None] | None = None
        self.on_context_menu: Callable[[DecorItem, QGraphicsSceneContextMenuEvent], None] | \
            None = None
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.update_from(decor)

    @property
    def key(self) -> tuple[Kind, str]:
        return self.kind, self.decor.id

    def update_from(self, decor: Decor) -> None:
        self.prepareGeometryChange()
        self.decor = decor
        self._size = (decor.rect[2], decor.rect[3])
        self._color = QColor(decor.color)
        self.setPos(decor.rect[0], decor.rect[1])
        self.refresh()
        self.update()

    def refresh(self) -> None:
        """Text or size changed: what depends on them is computed again."""

    def set_size(self, width: float, height: float) -> None:
        """Resized live by a gesture (the document follows on release)."""
        low_w, low_h = MIN_SIZE[self.kind]
        self.prepareGeometryChange()
        self._size = (max(low_w, round(width)), max(low_h, round(height)))
        self.refresh()
        self.update()

    def rect(self) -> Rect:
        """Where it is now (during a gesture, not yet the document's)."""
        return (round(self.pos().x()), round(self.pos().y()), *self._size)

    def scene_rect(self) -> QRectF:
        return QRectF(self.pos().x(), self.pos().y(), *self._size)

    def far_color(self) -> QColor:
        return theme.NODE_SELECTED if self.isSelected() else self._far

    def boundingRect(self) -> QRectF:
        return QRectF(-2, -2, self._size[0] + 4, self._size[1] + 4)

    def handle_rect(self) -> QRectF:
        w, h = self._size
        return QRectF(w - HANDLE, h - HANDLE, HANDLE, HANDLE)

    def _border(self) -> QPen:
        if self.isSelected():
            return QPen(theme.NODE_SELECTED, 2)
        color = QColor(self._color)
        color.setAlphaF(0.55)
        return QPen(color, 1.5)

    def _paint_handle(self, painter: QPainter) -> None:
        color = QColor(self._color)
        color.setAlphaF(0.8)
        painter.setPen(QPen(color, 1.5))
        w, h = self._size
        for d in (5.0, 9.0, 13.0):
            painter.drawLine(QPointF(w - d, h - 4), QPointF(w - 4, h - d))

    # --- the mouse -------------------------------------------------------------------

    def hoverMoveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        on_handle = self.handle_rect().contains(event.pos())
        self.setCursor(Qt.CursorShape.SizeFDiagCursor if on_handle
                       else Qt.CursorShape.ArrowCursor)
        super().hoverMoveEvent(event)

    def contextMenuEvent(self, event: QGraphicsSceneContextMenuEvent) -> None:
        if self.on_context_menu is not None:
            self.on_context_menu(self, event)
            event.accept()

    # --- editing in place ------------------------------------------------------------

    def start_edit(self) -> None:
        if self.editor is not None:
            return
        self.editor = self._make_editor()
        self.editor.start()
        self.update()

    def _make_editor(self) -> InlineEditor:
        raise NotImplementedError

    def finish_edit(self, text: str | None) -> None:
        """Close the editor; `text` (None: cancelled) goes to the layer."""
        editor, self.editor = self.editor, None
        if editor is None:
            return
        editor.done = True
        editor.hide()
        editor.deleteLater()
        self.update()
        if self.on_edited is not None:
            self.on_edited(self, text)


class GroupItem(DecorItem):
    kind = "groups"

    def __init__(self, decor: Decor) -> None:
        super().__init__(decor)
        self.setZValue(GROUP_Z)

    def refresh(self) -> None:
        self._fill = mixed(self._color, FAR_FILL_ALPHA * 0.6)
        self._far = mixed(self._color, FAR_FILL_ALPHA)
        self._bar = mixed(self._color, 0.42)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRect(QRectF(0, 0, self._size[0], TITLE_H))
        path.addRect(self.handle_rect())
        return path

    def title_rect(self) -> QRectF:
        return QRectF(0, 0, self._size[0], TITLE_H)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        w, h = self._size
        whole = QPainterPath()
        whole.addRoundedRect(QRectF(0, 0, w, h), RADIUS, RADIUS)
        bar = QPainterPath()
        bar.addRect(self.title_rect())
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self._fill)
        painter.drawPath(whole)
        painter.setBrush(self._bar)
        painter.drawPath(whole.intersected(bar))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(self._border())
        painter.drawPath(whole)
        if self.editor is None:
            painter.setFont(_TITLE_FONT)
            painter.setPen(theme.TEXT)
            title = self.decor.text or "Group"
            text_rect = QRectF(PAD, 0, w - 2 * PAD, TITLE_H)
            painter.drawText(text_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                             _TITLE_METRICS.elidedText(title, Qt.TextElideMode.ElideRight,
                                                       text_rect.width()))
        self._paint_handle(painter)

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self.title_rect().contains(event.pos()):
            self.start_edit()
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def _make_editor(self) -> InlineEditor:
        editor = InlineEditor(self, self.decor.text, _TITLE_FONT, multiline=False)
        editor.setTextWidth(self._size[0] - 2 * PAD)
        editor.setPos(PAD - 4, (TITLE_H - editor.boundingRect().height()) / 2)
        return editor


class NoteItem(DecorItem):
    kind = "notes"

    def __init__(self, decor: Decor) -> None:
        self._doc = QTextDocument()
        self._doc.setDefaultFont(_NOTE_FONT)
        self._doc.setDocumentMargin(0)
        self._rendered: tuple[str, float] | None = None
        super().__init__(decor)
        self.setZValue(NOTE_Z)
        # A card of text: blitted from a pixmap, not laid out again, on every pan.
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def refresh(self) -> None:
        self._far = mixed(self._color, 0.3)
        self._card = mixed(self._color, 0.16, theme.current().panel)
        width = self._size[0] - 2 * PAD
        if self._rendered != (self.decor.text, width):
            self._rendered = (self.decor.text, width)
            self._doc.setMarkdown(self.decor.text)
            self._doc.setTextWidth(width)

    def markdown_html(self) -> str:
        """The note as rendered (tests read it)."""
        return self._doc.toHtml()

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRect(QRectF(0, 0, *self._size))
        return path

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        w, h = self._size
        card = QRectF(0, 0, w, h)
        painter.setPen(self._border())
        painter.setBrush(self._card)
        painter.drawRoundedRect(card.adjusted(0.5, 0.5, -0.5, -0.5), 6, 6)
        strip = QPainterPath()
        strip.addRoundedRect(card, 6, 6)
        top = QPainterPath()
        top.addRect(QRectF(0, 0, w, 4))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self._color)
        painter.drawPath(strip.intersected(top))
        if self.editor is None:
            self._paint_text(painter, QRectF(PAD, PAD + 2, w - 2 * PAD, h - 2 * PAD - 2))
        self._paint_handle(painter)

    def _paint_text(self, painter: QPainter, area: QRectF) -> None:
        painter.save()
        painter.setClipRect(area)
        painter.translate(area.topLeft())
        if not self.decor.text.strip():
            font = QFont(_NOTE_FONT)
            font.setItalic(True)
            painter.setFont(font)
            painter.setPen(theme.TEXT_DIM)
            painter.drawText(QRectF(0, 0, area.width(), area.height()),
                             Qt.TextFlag.TextWordWrap, _PLACEHOLDER)
        else:
            context = QAbstractTextDocumentLayout.PaintContext()
            palette = QPalette()
            palette.setColor(QPalette.ColorRole.Text, theme.TEXT)
            palette.setColor(QPalette.ColorRole.Link, theme.current().node_selected)
            context.palette = palette
            context.clip = QRectF(0, 0, area.width(), area.height())
            self._doc.documentLayout().draw(painter, context)
        painter.restore()
        if self._doc.size().height() > area.height() and self.decor.text.strip():
            # More text than card: it fades out instead of stopping mid-line.
            fade = QLinearGradient(0, area.bottom() - 22, 0, area.bottom())
            clear = QColor(self._card)
            clear.setAlpha(0)
            fade.setColorAt(0, clear)
            fade.setColorAt(1, self._card)
            painter.fillRect(QRectF(area.left(), area.bottom() - 22, area.width(), 22), fade)

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        self.start_edit()
        event.accept()

    def _make_editor(self) -> InlineEditor:
        editor = InlineEditor(self, self.decor.text, _SOURCE_FONT, multiline=True)
        editor.setTextWidth(self._size[0] - 2 * PAD + 8)
        editor.setPos(PAD - 4, PAD - 2)
        return editor


class InlineEditor(QGraphicsTextItem):
    """Plain text typed in place: a group's title (Enter commits) or a note's Markdown
    source (Enter is a new line, Ctrl+Enter commits). Focus leaving commits too;
    Escape cancels."""

    def __init__(self, owner: DecorItem, text: str, font: QFont, *, multiline: bool) -> None:
        super().__init__(owner)
        self.owner = owner
        self.multiline = multiline
        self.done = False
        self.setFont(font)
        self.setDefaultTextColor(theme.TEXT)
        self.setPlainText(text)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextEditorInteraction)

    def start(self) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        cursor = self.textCursor()
        cursor.select(cursor.SelectionType.Document)
        self.setTextCursor(cursor)

    def sceneEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            typing = not event.modifiers() & (Qt.KeyboardModifier.ControlModifier
                                              | Qt.KeyboardModifier.AltModifier)
            if typing or event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) or any(
                    event.matches(k) for k in _TEXT_KEYS):
                event.accept()
                return True
        return super().sceneEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_Escape:
            self.owner.finish_edit(None)
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and (
                not self.multiline or event.modifiers() & Qt.KeyboardModifier.ControlModifier):
            self.owner.finish_edit(self.toPlainText())
            return
        if key == Qt.Key.Key_Tab:
            self.textCursor().insertText("    ")  # Tab indents Markdown; focus stays here
            return
        super().keyPressEvent(event)

    def focusOutEvent(self, event: QEvent) -> None:  # type: ignore[override]
        super().focusOutEvent(event)  # type: ignore[arg-type]
        if not self.done:
            # Later, not inside Qt's focus change (a scene being cleared loses its
            # focus item too: then the item is gone and nothing is committed).
            QTimer.singleShot(0, self._commit_if_open)

    def _commit_if_open(self) -> None:
        import shiboken6

        if shiboken6.isValid(self) and not self.done and self.owner.editor is self:
            self.owner.finish_edit(self.toPlainText())
