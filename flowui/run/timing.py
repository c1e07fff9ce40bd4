"""The timing view's panel: the heat scale's legend (fastest to slowest node of the run
shown) and the slowest nodes with their share of the run; the canvas tints nodes by
duration while the view is on (flowui.run.overlay)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QLinearGradient, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from flowui import theme
from flowui.run.overlay import RunOverlay, duration_text, heat_color
from flowui.run.session import RunSession

SLOWEST = 25  # rows in the list
PATH_ROLE = Qt.ItemDataRole.UserRole + 1


class HeatLegend(QWidget):
    """A bar from the fastest duration's colour to the slowest's, with both labels."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.range = (0.0, 0.0)
        self.setMinimumHeight(38)

    def sizeHint(self) -> QSize:
        return QSize(240, 38)

    def set_range(self, fastest: float, slowest: float) -> None:
        self.range = (fastest, slowest)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        bar = QRectF(8, 4, self.width() - 16, 12)
        fastest, slowest = self.range
        gradient = QLinearGradient(QPointF(bar.left(), 0), QPointF(bar.right(), 0))
        if slowest > 0:
            for i in range(11):
                t = i / 10
                ms = fastest * (slowest / max(fastest, 0.001)) ** t if fastest > 0 else slowest * t
                gradient.setColorAt(t, heat_color(ms, fastest, slowest))
        else:
            gradient.setColorAt(0, theme.NODE_BORDER)
            gradient.setColorAt(1, theme.NODE_BORDER)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(gradient)
        painter.drawRoundedRect(bar, 4, 4)
        painter.setPen(theme.TEXT_DIM)
        below = QRectF(bar.left(), bar.bottom() + 2, bar.width(), 18)
        if slowest > 0:
            painter.drawText(below, Qt.AlignmentFlag.AlignLeft,
                             f"fastest {duration_text(fastest)}")
            painter.drawText(below, Qt.AlignmentFlag.AlignRight,
                             f"slowest {duration_text(slowest)}")
        else:
            painter.drawText(below, Qt.AlignmentFlag.AlignHCenter, "no timings yet")


class TimingPanel(QWidget):
    node_activated = Signal(object, str)  # graph key, node id

    def __init__(self, overlay: RunOverlay, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.overlay = overlay
        self.legend = HeatLegend()
        self.heading = QLabel("Slowest nodes")
        self.heading.setObjectName("sectionTitle")
        theme.tone(self.heading, "sectionTitle")
        self.list = QTreeWidget()
        self.list.setColumnCount(3)
        self.list.setHeaderLabels(["Node", "Duration", "Share"])
        self.list.setRootIsDecorated(False)
        self.list.setUniformRowHeights(True)
        header = self.list.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.legend)
        layout.addWidget(self.heading)
        layout.addWidget(self.list, 1)
        self.list.itemActivated.connect(self._on_list_item_activated)
        self.list.itemClicked.connect(self._on_list_item_activated)

    def show_run(self, session: RunSession | None) -> None:
        self.list.clear()
        timed = session.durations() if session is not None else []
        if not timed:
            self.legend.set_range(0.0, 0.0)
            return
        durations = [ms for _, ms in timed]
        fastest, slowest = min(durations), max(durations)
        self.legend.set_range(fastest, slowest)
        total = session.duration_ms if session and session.duration_ms else sum(durations)
        for path, ms in timed[:SLOWEST]:
            share = f"{100 * ms / total:.0f}%" if total else ""
            item = QTreeWidgetItem(self.list, [path, duration_text(ms), share])
            item.setForeground(1, heat_color(ms, fastest, slowest))
            item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            item.setTextAlignment(2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            item.setData(0, PATH_ROLE, path)
        self.heading.setText(f"Slowest nodes ({min(SLOWEST, len(timed))} of {len(timed)})")

    def _on_list_item_activated(self, item: QTreeWidgetItem, column: int) -> None:
        place = self.overlay.place(item.data(0, PATH_ROLE))
        if place is not None:
            self.node_activated.emit(place[0], place[1])
