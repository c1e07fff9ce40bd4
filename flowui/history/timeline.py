"""The replay bar under the canvas while a stored run is shown: a scrubber over the
run's time that sets the canvas to any moment (which nodes were running, done,
failed), and play/pause at 1x-100x.

None of the editors users compare FlowUI with can do this (research/editors.md: run
history with replay).

The bar owns the `Replay` and says when its session moved (`seeked(rebuilt)`): the
run controller shows a rebuilt session afresh and a session brought forward by
what changed. Dragging the scrubber asks for one seek per frame, the latest."""

from __future__ import annotations

import math

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from flowui import resources
from flowui.history.replay import Replay
from flowui.run.overlay import duration_text

SPEEDS = (1, 2, 5, 10, 25, 100)
TICK_MS = 33  # playback advances this often (30 frames a second)


class ReplayBar(QWidget):
    seeked = Signal(bool)  # the replay's session moved; True: it is a new session
    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("replay_bar")
        self.replay: Replay | None = None
        self.play_button = QToolButton()
        self.play_button.setIcon(resources.icon("play"))
        self.play_button.clicked.connect(self.toggle_play)
        self.speed = QComboBox()
        self.speed.setToolTip("Playback speed")
        for speed in SPEEDS:
            self.speed.addItem(f"{speed}x", speed)
        self.speed.setCurrentIndex(SPEEDS.index(10))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip("The moment of the run shown on the canvas")
        self.slider.valueChanged.connect(self._on_slider_moved)
        self.time = QLabel()
        self.time.setMinimumWidth(220)
        close = QToolButton()
        close.setToolTip("Stop replaying: show the run's end")
        close.setIcon(resources.icon("close"))
        close.clicked.connect(self.finish)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 2, 8, 2)
        for widget in (QLabel("Replay"), self.play_button, self.speed):
            row.addWidget(widget)
        row.addWidget(self.slider, 1)
        row.addWidget(self.time)
        row.addWidget(close)
        self._ticker = QTimer(self, interval=TICK_MS)
        self._ticker.timeout.connect(self._on_tick)
        self._wanted: int | None = None  # the slider's latest value, not yet shown
        self._seek_soon = QTimer(self, singleShot=True, interval=0)
        self._seek_soon.timeout.connect(self._seek_now)
        self.pause()  # (sets the play button's tooltip)
        self.hide()

    # --- what is replayed ----------------------------------------------------------------

    def show_replay(self, replay: Replay) -> None:
        """Replay `replay` from its end (the run as it finished); the bar appears."""
        self.pause()
        self.replay = replay
        # Up, not to the nearest: the slider's end must reach the run's last record.
        end = max(1, math.ceil(replay.duration_s * 1000))
        with QSignalBlocker(self.slider):
            self.slider.setRange(0, end)
            self.slider.setPageStep(max(1, end // 20))
            self.slider.setValue(end)
        self._show_time()
        self.show()

    def finish(self) -> None:
        """Leave replay: the run is shown as it ended, the bar goes."""
        self.pause()
        if self.replay is not None:
            self.slider.setValue(self.slider.maximum())
            self._seek_now()
        self.replay = None
        self.hide()
        self.closed.emit()

    def seek_ms(self, ms: int) -> None:
        """Show the run `ms` after its start (at once, as a test or a key press needs)."""
        with QSignalBlocker(self.slider):
            self.slider.setValue(ms)
        self._wanted = self.slider.value()
        self._seek_now()

    # --- playing -------------------------------------------------------------------------

    @property
    def playing(self) -> bool:
        return self._ticker.isActive()

    def toggle_play(self) -> None:
        self.pause() if self.playing else self.play()

    def play(self) -> None:
        if self.replay is None:
            return
        if self.slider.value() >= self.slider.maximum():
            self.seek_ms(0)  # from the start again
        self._ticker.start()
        self.play_button.setIcon(resources.icon("pause"))
        self.play_button.setToolTip("Pause (Space)")

    def pause(self) -> None:
        self._ticker.stop()
        self.play_button.setIcon(resources.icon("play"))
        self.play_button.setToolTip("Play the run (Space)")

    def _on_tick(self) -> None:
        step = TICK_MS * int(self.speed.currentData())
        value = min(self.slider.maximum(), self.slider.value() + step)
        self.slider.setValue(value)
        if value >= self.slider.maximum():
            self.pause()

    # --- seeking -------------------------------------------------------------------------

    def _on_slider_moved(self, value: int) -> None:
        self._wanted = value
        if not self._seek_soon.isActive():
            self._seek_soon.start()

    def _seek_now(self) -> None:
        replay, wanted = self.replay, self._wanted
        self._wanted = None
        if replay is None or wanted is None:
            return
        rebuilt = replay.seek(replay.position_at(wanted / 1000))
        self._show_time()
        self.seeked.emit(rebuilt)

    def _show_time(self) -> None:
        replay = self.replay
        if replay is None:
            return
        at = self.slider.value()
        self.time.setText(f"{duration_text(at)} of {duration_text(replay.duration_s * 1000)}"
                          f" · event {replay.position} of {len(replay.records)}")


def canvas_with_bar(canvas: QWidget, bar: ReplayBar) -> QWidget:
    """The window's centre: the canvas, and the replay bar under it while replaying."""
    holder = QWidget()
    column = QVBoxLayout(holder)
    column.setContentsMargins(0, 0, 0, 0)
    column.setSpacing(0)
    column.addWidget(canvas, 1)
    column.addWidget(bar)
    return holder
