"""A node on the canvas: paints itself from the document's node and reports nothing
but its id and where its ports are. It never changes the document.

Painting has three levels of detail: zoomed far out a node is a coloured block;
at middle zoom it has a title but no port labels; close up everything. A
5,000-node workflow stays interactive because the far levels cost a rectangle.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsSceneHoverEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

from engine.core.sdk import ERROR_PORT, Node, Port
from engine.workflow.model import NodeSpec
from flowui import resources, theme

WIDTH = 200.0
TITLE_H = 28.0
ROW_H = 22.0
FOOTER_H = 20.0  # run status lives here (duration, progress, message)
SUMMARY_H = 20.0  # the key config values' line under the title, when the type has one
PORT_R = 5.0
RADIUS = 7.0
HALO = 6.0  # room around the body for the running halo
FAR_LOD = 0.35  # below this level of detail a node is a filled block
NODE_Z, SELECTED_Z = 1.0, 2.0  # wires are at 0: under every node

_TITLE_FONT = QFont()
_TITLE_FONT.setPointSizeF(9.5)
_TITLE_FONT.setWeight(QFont.Weight.DemiBold)
_LABEL_FONT = QFont()
_LABEL_FONT.setPointSizeF(8.5)
_TITLE_METRICS = QFontMetricsF(_TITLE_FONT)
_LABEL_METRICS = QFontMetricsF(_LABEL_FONT)
_SUMMARY_FONT = QFont("monospace")
_SUMMARY_FONT.setStyleHint(QFont.StyleHint.Monospace)
_SUMMARY_FONT.setPointSizeF(8.0)
_SUMMARY_METRICS = QFontMetricsF(_SUMMARY_FONT)


class _Pulse:
    """The phase (0..1) of the running nodes' halo, advanced by the run overlay's timer:
    one number shared by every node, so the animation costs a repaint and nothing else."""

    phase = 0.0


RUN_PULSE = _Pulse()


@dataclass(frozen=True, slots=True)
class PortRef:
    node_id: str
    name: str
    output: bool
    type: str
    multiple: bool

    @property
    def endpoint(self) -> str:
        return f"{self.node_id}.{self.name}"


class NodeItem(QGraphicsItem):
    def __init__(self, node_id: str) -> None:
        super().__init__()
        self.node_id = node_id
        self.title = node_id
        self.type_id = ""
        self.category = ""
        self.icon = ""
        self.disabled = False
        self.unknown = False
        self.inputs: tuple[Port, ...] = ()
        self.outputs: tuple[Port, ...] = ()  # without the error port (drawn in the footer)
        self.problems: list[str] = []
        self.summary = ""  # what the node does at a glance: its type's `summary` of its config
        self._ports_top = TITLE_H + 4  # below the summary line when there is one
        # The live-run view's (flowui.run.overlay): never part of the document.
        self.status: str | None = None
        self.status_text = ""
        self.progress: float | None = None
        self.edited = False  # changed since the run shown started
        # Development mode's (flowui.run.dev_mode): why its kept output is out of date,
        # and whether runs use a pinned output instead of running it.
        self.stale: tuple[str, ...] = ()
        self.pinned = False
        self.heat: QColor | None = None  # the timing view's colour
        self._run_tip: str | Callable[[], str] = ""
        self._tip_stale = False  # the tooltip is built when it can be seen (hover)
        self._scene_rect: QRectF | None = None
        self.port_hint: dict[str, bool] = {}  # endpoint -> compatible, while a wire is dragged
        self.on_moved: Callable[[NodeItem], None] | None = None  # the scene's: wires follow
        self._size = (WIDTH, TITLE_H + FOOTER_H)
        self._bounds = QRectF(-PORT_R - 1, -HALO, WIDTH + 2 * PORT_R + 2,
                              TITLE_H + FOOTER_H + 2 * HALO)
        self._title_color = QColor(theme.DEFAULT_CATEGORY_COLOR)
        self._tip = ""
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
                      | QGraphicsItem.GraphicsItemFlag.ItemIsMovable
                      | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges)
        self.setAcceptHoverEvents(True)
        self.setZValue(NODE_Z)
        # Unchanged nodes are blitted from a pixmap instead of repainted through Python:
        # dragging one node or panning then costs little whatever the graph's size.
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    # --- from the document ----------------------------------------------------------------

    def update_from(self, spec: NodeSpec, cls: type[Node] | None,
                    ports: tuple[tuple[Port, ...], tuple[Port, ...]]) -> None:
        self.prepareGeometryChange()
        self.type_id = spec.type
        self.unknown = cls is None
        self.title = spec.title or (cls.title if cls else spec.type)
        self.category = cls.category if cls else ""
        self.icon = (cls.icon if cls else "") or "plugin"
        self.disabled = spec.disabled
        self.pinned = spec.pinned is not None
        self.inputs = ports[0]
        self.outputs = tuple(p for p in ports[1] if p.name != ERROR_PORT)
        self._title_color = self._category_color()
        self.summary = cls.summary(spec.config) if cls else ""
        extra = SUMMARY_H if self.summary else 0.0
        self._ports_top = TITLE_H + 4 + extra
        rows = max(len(self.inputs), len(self.outputs), 1)
        width = max(WIDTH, _TITLE_METRICS.horizontalAdvance(self.title) + 64)
        self._size = (width, TITLE_H + extra + rows * ROW_H + 8 + FOOTER_H)
        self._scene_rect = None
        self._far_changed(moved=True)
        self._bounds = QRectF(-PORT_R - 1, -HALO, width + 2 * PORT_R + 2,
                              self._size[1] + 2 * HALO)
        dim = theme.TEXT_DIM.name()
        tip = f"<b>{self.title}</b> <span style='color:{dim}'>{spec.id} · {spec.type}</span>"
        if cls and cls.description:
            tip += f"<br>{cls.description}"
        self._tip = tip
        self._tip_stale = True
        self.update()

    def _category_color(self) -> QColor:
        look = theme.current()
        return QColor(look.unknown_category) if self.unknown else look.category_color(
            self.category)

    def restyle(self) -> None:
        """The theme changed: colours again, and the cached pixmap painted afresh."""
        self._title_color = self._category_color()
        self._far_changed(moved=False)
        self.update()

    def set_problems(self, problems: list[str]) -> None:
        """Validation's messages about this node: a badge, and the end of its tooltip."""
        if problems != self.problems:
            self.problems = problems
            self._tip_stale = True
            self.update()

    def set_stale(self, reasons: tuple[str, ...]) -> None:
        """Why this node's kept output is out of date (empty: it is not): a badge, and
        the reasons in its tooltip."""
        if reasons != self.stale:
            self.stale = reasons
            self._tip_stale = True
            self.update()

    def set_run(self, status: str | None, text: str = "", progress: float | None = None,
                tip: str | Callable[[], str] = "", *, edited: bool = False,
                heat: QColor | None = None, repaint: bool = True) -> bool:
        """The run's view of this node: its state, the footer's text, a progress bar,
        what its tooltip adds (an error; or what makes it, called when the tooltip is
        shown: a run repaints thousands of nodes, a person hovers one), whether it was
        edited since the run started,
        and its timing colour. None clears it. Whether anything changed (a caller that
        said `repaint=False` repaints what changed itself)."""
        changed = (status, text, progress, edited, heat) != (
            self.status, self.status_text, self.progress, self.edited, self.heat)
        self.status, self.status_text, self.progress = status, text, progress
        self.edited, self.heat = edited, heat
        if tip != self._run_tip:
            self._run_tip = tip
            self._tip_stale = True
        if changed:
            self._far_changed(moved=False)
            if repaint:  # (else the caller repaints it with the rest, once)
                self.update()
        return changed

    def toolTip(self) -> str:
        if self._tip_stale:
            self._show_tip()
        return super().toolTip()

    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        if self._tip_stale:  # before Qt asks for the tooltip, which it does in C++
            self._show_tip()
        super().hoverEnterEvent(event)

    def _show_tip(self) -> None:
        run_tip = self._run_tip() if callable(self._run_tip) else self._run_tip
        self._tip_stale = False
        found = self.problems
        red = theme.PROBLEM.name()
        amber = theme.EDITED
        dev = ""
        if self.pinned:
            dev += ("<hr><b>Pinned</b>: runs use its pinned output instead of running it "
                    "(Run ▸ Unpin Output)")
        if self.stale:
            dev += (f"<hr><span style='color:{amber}'><b>Stale</b>: "
                    + "; ".join(html.escape(r, quote=False) for r in self.stale) + "</span>")
        self.setToolTip(self._tip + (f"<hr><span style='color:{red}'>" + "<br>".join(found)
                                     + "</span>" if found else "")
                        + dev + (f"<hr>{run_tip}" if run_tip else ""))

    # --- geometry -------------------------------------------------------------------------

    def boundingRect(self) -> QRectF:
        return self._bounds  # asked for several times per frame: computed once per change

    def body_rect(self) -> QRectF:
        return QRectF(0, 0, *self._size)

    def scene_body_rect(self) -> QRectF:
        rect = self._scene_rect
        if rect is None:  # kept until the node moves or resizes: the overview asks a lot
            pos = self.pos()
            rect = self._scene_rect = QRectF(pos.x(), pos.y(), *self._size)
        return rect

    def far_color(self) -> QColor:
        """The block's colour when zoomed far out: selection, timing, run state, category;
        a disabled node's dimmed as it is up close."""
        if self.isSelected():
            return theme.NODE_SELECTED
        status = self.status
        color = self.heat or (theme.status_color(status) if status else self._title_color)
        return color.darker(260) if self.disabled else color

    def _far_changed(self, *, moved: bool) -> None:
        """The far picture's block changed: its place or size, or only its colour."""
        overview = getattr(self.scene(), "overview", None)
        if overview is not None:
            overview.changed(self, moved=moved)

    def update(self, *args: Any) -> None:
        scene = self.scene()
        if scene is not None and getattr(scene, "far", False):
            scene.update(self.sceneBoundingRect())  # drawn by the overview: no contents
        else:
            super().update(*args)

    def port_pos(self, name: str, output: bool) -> QPointF:
        """Where a port sits, in scene coordinates."""
        if output and name == ERROR_PORT:
            w, h = self._size
            return self.mapToScene(QPointF(w, h - FOOTER_H / 2))
        ports = self.outputs if output else self.inputs
        for i, p in enumerate(ports):
            if p.name == name:
                x = self._size[0] if output else 0.0
                return self.mapToScene(QPointF(x, self._ports_top + (i + 0.5) * ROW_H))
        return self.mapToScene(QPointF(self._size[0] if output else 0.0, TITLE_H / 2))

    def port_refs(self) -> list[PortRef]:
        refs = [PortRef(self.node_id, p.name, False, p.type, p.multiple) for p in self.inputs]
        refs += [PortRef(self.node_id, p.name, True, p.type, False) for p in self.outputs]
        refs.append(PortRef(self.node_id, ERROR_PORT, True, "object", False))
        return refs

    def port_at(self, scene_pos: QPointF, tolerance: float = 9.0) -> PortRef | None:
        """The port under a scene position (generous, so ports are easy to hit)."""
        best, best_d = None, tolerance * tolerance
        for ref in self.port_refs():
            d = self.port_pos(ref.name, ref.output) - scene_pos
            dist = d.x() * d.x() + d.y() * d.y()
            if dist <= best_d:
                best, best_d = ref, dist
        return best

    # --- painting ---------------------------------------------------------------------------

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        rect = self.body_rect()
        selected = self.isSelected()
        status = self.status
        if lod < FAR_LOD:  # far away: a block (the overview draws it in a batched view)
            painter.fillRect(rect, self.far_color())
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, lod >= 0.6)
        if self.disabled or status == "skipped":
            painter.setOpacity(0.45)
        run_border = theme.status_color(status) if status in theme.STRONG_STATUSES else None
        border = theme.NODE_SELECTED if selected else (
            theme.PROBLEM if self.problems else run_border or theme.NODE_BORDER)
        painter.setPen(QPen(border, 2.0 if selected or self.problems or run_border else 1.0))
        painter.setBrush(theme.NODE_BODY)
        painter.drawRoundedRect(rect, RADIUS, RADIUS)
        if self.heat is not None:  # the timing view: the body tinted by duration
            tint = QColor(self.heat)
            tint.setAlpha(70)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(tint)
            painter.drawRoundedRect(rect.adjusted(1, TITLE_H, -1, -1), RADIUS, RADIUS)
        if status == "running" and lod >= 0.35:
            self._paint_running_glow(painter, rect)
        self._paint_title(painter, rect, lod)
        if self.summary and lod >= 0.6:
            self._paint_summary(painter, rect)
        self._paint_ports(painter, rect, lod)
        self._paint_footer(painter, rect, lod)

    def _paint_title(self, painter: QPainter, rect: QRectF, lod: float) -> None:
        title = QPainterPath()
        title.setFillRule(Qt.FillRule.WindingFill)
        title.addRoundedRect(QRectF(rect.x(), rect.y(), rect.width(), TITLE_H), RADIUS, RADIUS)
        title.addRect(QRectF(rect.x(), rect.y() + TITLE_H / 2, rect.width(), TITLE_H / 2))
        color = self._title_color
        look = theme.current()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(look.header_fill(color))
        painter.drawPath(title)
        painter.fillRect(QRectF(rect.x() + 1, TITLE_H - 2, rect.width() - 2, 2), color)
        x = 8.0
        if lod >= 0.6:
            painter.drawPixmap(QPointF(x, (TITLE_H - 16) / 2), resources.icon_pixmap(self.icon, 16))
            x += 22
        painter.setFont(_TITLE_FONT)
        painter.setPen(look.header_text)
        badges = 18 * (bool(self.problems) + bool(self.stale) + self.pinned)
        text = _TITLE_METRICS.elidedText(self.title, Qt.TextElideMode.ElideRight,
                                         rect.width() - x - 26 - max(0, badges - 18))
        painter.drawText(QRectF(x, 0, rect.width() - x - 24 - max(0, badges - 18), TITLE_H),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)
        right = rect.width() - 14
        if self.problems:  # a validation badge; its tooltip is the node's tooltip
            painter.setBrush(theme.PROBLEM)
            painter.setPen(Qt.PenStyle.NoPen)
            center = QPointF(right, TITLE_H / 2)
            painter.drawEllipse(center, 7, 7)
            painter.setPen(QPen(look.node_body, 2))
            painter.drawLine(center + QPointF(0, -3.5), center + QPointF(0, 1))
            painter.drawPoint(center + QPointF(0, 3.5))
            right -= 18
        if self.stale and lod >= 0.35:  # out of date: a warning triangle, as n8n marks it
            _paint_stale_badge(painter, QPointF(right, TITLE_H / 2), look.node_body)
            right -= 18
        if self.pinned and lod >= 0.35:
            _paint_pin_badge(painter, QPointF(right, TITLE_H / 2), look.node_body)

    def _paint_summary(self, painter: QPainter, rect: QRectF) -> None:
        """The key config values in a code face under the title: what the node does."""
        box = QRectF(10, TITLE_H + 3, rect.width() - 20, SUMMARY_H - 2)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.SUMMARY_BACKGROUND)
        painter.drawRoundedRect(box.adjusted(-4, 0, 4, 0), 4, 4)
        painter.setFont(_SUMMARY_FONT)
        painter.setPen(theme.TEXT_DIM)
        painter.drawText(box, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                         _SUMMARY_METRICS.elidedText(self.summary, Qt.TextElideMode.ElideRight,
                                                     box.width()))

    def _paint_ports(self, painter: QPainter, rect: QRectF, lod: float) -> None:
        labels = lod >= 0.6
        painter.setFont(_LABEL_FONT)
        for output, ports in ((False, self.inputs), (True, self.outputs)):
            for i, p in enumerate(ports):
                y = self._ports_top + (i + 0.5) * ROW_H
                x = rect.width() if output else 0.0
                self._paint_port(painter, QPointF(x, y), p.type, p.multiple,
                                 f"{self.node_id}.{p.name}")
                if labels:
                    painter.setPen(theme.TEXT_DIM)
                    box = QRectF(12, y - ROW_H / 2, rect.width() - 24, ROW_H)
                    align = (Qt.AlignmentFlag.AlignRight if output else Qt.AlignmentFlag.AlignLeft)
                    painter.drawText(box, align | Qt.AlignmentFlag.AlignVCenter, p.name)

    def _paint_port(self, painter: QPainter, center: QPointF, port_type: str, multiple: bool,
                    endpoint: str) -> None:
        color = theme.port_color(port_type)
        hint = self.port_hint.get(endpoint)
        if hint is False:
            color.setAlpha(50)
        painter.setPen(QPen(theme.NODE_BODY, 1.5))
        painter.setBrush(color)
        r = PORT_R + (2 if hint else 0)
        if multiple:
            painter.drawRoundedRect(QRectF(center.x() - r, center.y() - r, 2 * r, 2 * r), 2, 2)
        else:
            painter.drawEllipse(center, r, r)

    def _paint_running_glow(self, painter: QPainter, rect: QRectF) -> None:
        """A soft halo whose strength follows the overlay's pulse: running, visibly."""
        color = QColor(theme.status_color("running"))
        color.setAlphaF(0.25 + 0.35 * RUN_PULSE.phase)
        painter.setPen(QPen(color, 5.0))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(rect.adjusted(-2.5, -2.5, 2.5, 2.5), RADIUS + 2, RADIUS + 2)

    def _paint_footer(self, painter: QPainter, rect: QRectF, lod: float) -> None:
        top = rect.height() - FOOTER_H
        painter.setPen(QPen(theme.NODE_BORDER, 1))
        painter.drawLine(QPointF(8, top), QPointF(rect.width() - 8, top))
        if self.edited and lod >= 0.6:  # changed since the run shown started
            painter.setFont(_LABEL_FONT)
            painter.setPen(QColor(theme.EDITED))
            painter.drawText(QRectF(rect.width() - 62, top, 50, FOOTER_H),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                             "✎ edited")
        if self.status is not None:
            color = theme.status_color(self.status)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(color)
            painter.drawEllipse(QPointF(12, top + FOOTER_H / 2), 4, 4)
            if self.progress is not None:
                painter.fillRect(QRectF(1, rect.height() - 3, (rect.width() - 2) * self.progress,
                                        2), color)
            if lod >= 0.6:
                painter.setFont(_LABEL_FONT)
                painter.setPen(theme.PROBLEM if self.status == "failed" else theme.TEXT_DIM)
                room = rect.width() - (90 if self.edited else 44)
                painter.drawText(QRectF(22, top, room, FOOTER_H), Qt.AlignmentFlag.AlignVCenter,
                                 _LABEL_METRICS.elidedText(self.status_text or self.status,
                                                           Qt.TextElideMode.ElideRight, room))
        elif lod >= 0.6:
            painter.setFont(_LABEL_FONT)
            painter.setPen(theme.TEXT_DIM.darker(130))
            label = "disabled" if self.disabled else (
                "unknown node type" if self.unknown else self.type_id)
            painter.drawText(QRectF(10, top, rect.width() - 36, FOOTER_H),
                             Qt.AlignmentFlag.AlignVCenter,
                             _LABEL_METRICS.elidedText(label, Qt.TextElideMode.ElideRight,
                                                       rect.width() - 40))
        # the error output: a small port at the footer's right end
        error_hint = self.port_hint.get(f"{self.node_id}.{ERROR_PORT}")
        color = QColor(theme.PROBLEM)
        if error_hint is False:
            color.setAlpha(50)
        painter.setPen(QPen(theme.NODE_BODY, 1.5))
        painter.setBrush(color.darker(120))
        painter.drawEllipse(QPointF(rect.width(), top + FOOTER_H / 2), PORT_R - 1, PORT_R - 1)

    # --- movement ---------------------------------------------------------------------------

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: Any) -> Any:
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            self._scene_rect = None
            self._far_changed(moved=True)
            if self.on_moved is not None:
                self.on_moved(self)
        elif change == QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged:
            # A selected (so also a dragged) node is drawn over its neighbours.
            self.setZValue(SELECTED_Z if value else NODE_Z)
        return super().itemChange(change, value)


def _paint_stale_badge(painter: QPainter, center: QPointF, ink: QColor) -> None:
    """An amber triangle with an exclamation mark: this node's output is out of date."""
    triangle = QPainterPath()
    triangle.moveTo(center + QPointF(0, -7))
    triangle.lineTo(center + QPointF(7.5, 6))
    triangle.lineTo(center + QPointF(-7.5, 6))
    triangle.closeSubpath()
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(theme.EDITED))
    painter.drawPath(triangle)
    painter.setPen(QPen(ink, 1.8))
    painter.drawLine(center + QPointF(0, -2.5), center + QPointF(0, 1.5))
    painter.drawPoint(center + QPointF(0, 4))


def _paint_pin_badge(painter: QPainter, center: QPointF, ink: QColor) -> None:
    """A push pin: runs use this node's pinned output."""
    color = theme.status_color("cached")
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    painter.drawEllipse(center, 7, 7)
    painter.setPen(QPen(ink, 1.6))
    painter.setBrush(ink)
    painter.drawEllipse(center + QPointF(0, -1.5), 2.2, 2.2)
    painter.drawLine(center + QPointF(0, 0.5), center + QPointF(0, 4.5))
