"""A node's failure policies in the inspector: retry, timeout, on_error and disabled.

Each change is handed to `edit(field, value)` with the NodeSpec field it sets.
`retry` None means the type's default policy (`Node.default_retry`), which is a
single attempt for most types: one attempt is then stored as None, and as an
explicit `{"max_attempts": 1}` only where the type would otherwise retry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QHBoxLayout, QWidget

from engine.workflow.model import NodeSpec, RetryPolicy, Settings
from flowui import resources
from flowui.inspector.base import CheckBox, ComboBox, DoubleSpinBox, SpinBox, small_button
from flowui.inspector.form import FormGrid

ON_ERROR_LABELS = {"stop": "Stop run", "continue": "Continue", "retry_workflow": "Retry workflow"}
ON_ERROR_TIPS = {"stop": "Cancel the running nodes; the run fails",
                 "continue": "Skip what depends on the failed node, finish the other branches",
                 "retry_workflow": "Start the whole run again (settings.max_workflow_attempts)"}
BACKOFFS = ("exponential", "fixed")


def seconds_box(minimum: float, maximum: float = 1e6) -> DoubleSpinBox:
    box = DoubleSpinBox(decimals=2)
    box.setRange(minimum, maximum)
    box.setSuffix(" s")
    box.setMinimumWidth(90)
    return box


def optional_seconds(default: float, maximum: float = 1e6,
                     ) -> tuple[QWidget, CheckBox, DoubleSpinBox]:
    """A check box (set or not) beside a duration: optional timeouts."""
    enabled = CheckBox()
    seconds = seconds_box(0.01, maximum)
    seconds.setValue(default)
    line = QWidget()
    box = QHBoxLayout(line)
    box.setContentsMargins(0, 0, 0, 0)
    box.setSpacing(8)
    box.addWidget(enabled)
    box.addWidget(seconds, 1)
    line.setFocusProxy(enabled)
    return line, enabled, seconds


class PolicyEditor:
    """The policy rows of a NodeForm; `show` reads a NodeSpec without pushing anything."""

    def __init__(self, form: FormGrid, edit: Callable[[str, Any], None],
                 default_retry: RetryPolicy | None = None) -> None:
        self.edit = edit
        self.default_retry = default_retry
        self._quiet = False
        defaults = default_retry or RetryPolicy()
        self.attempts = SpinBox()
        self.attempts.setRange(1, 100)
        self.attempts.setSuffix(" attempts")
        self.attempts.setSpecialValueText("1 (no retry)")
        self.backoff = ComboBox()
        self.backoff.addItems(["Exponential", "Fixed"])
        self.delay = seconds_box(0)
        self.delay.setValue(defaults.delay_s)
        self.max_delay = seconds_box(0)
        self.max_delay.setValue(defaults.max_delay_s)
        self.jitter = CheckBox("Randomise waits")
        self.jitter.setChecked(defaults.jitter)
        self.retry_reset = small_button("", "Back to the node type's default")
        self.retry_reset.setIcon(resources.icon("revert"))
        self.retry_reset.setIconSize(QSize(14, 14))
        self.retry_reset.setVisible(False)  # the form resets it: every widget then follows
        typical = f"; this type's default: {default_retry.max_attempts} with " \
                  f"{default_retry.backoff} backoff" if default_retry else ""
        form.add_row("Tries", self.attempts, trailing=self.retry_reset,
                     help="In all; failures that a retry cannot fix (bad input, 4xx) are "
                          f"not retried{typical}")
        self.retry_rows = [
            form.add_row("Backoff", self.backoff),
            form.add_row("First wait", self.delay, help="Before the 2nd attempt"),
            form.add_row("Longest wait", self.max_delay),
            form.add_row("Jitter", self.jitter, help="Each wait is 50-100% of its value"),
        ]
        line, self.timeout_on, self.timeout = optional_seconds(30)
        form.add_row("Timeout", line, help="Limit for each attempt; unchecked: none")
        self.on_error = ComboBox()
        self.on_error_values: list[str | None] = [None, *ON_ERROR_LABELS]
        self.on_error.addItems(["Default", *ON_ERROR_LABELS.values()])
        self.on_error.setItemData(0, "The workflow's setting", Qt.ItemDataRole.ToolTipRole)
        for i, tip in enumerate(ON_ERROR_TIPS.values(), start=1):
            self.on_error.setItemData(i, tip, Qt.ItemDataRole.ToolTipRole)
        form.add_row("On error", self.on_error,
                     help="What a failure does, unless the error output is wired")
        self.disabled = CheckBox("Skip this node in runs")
        form.add_row("Disabled", self.disabled)
        for signal in (self.attempts.valueChanged, self.backoff.currentIndexChanged,
                       self.delay.valueChanged, self.max_delay.valueChanged,
                       self.jitter.toggled):
            signal.connect(self._retry_changed)
        self.timeout_on.toggled.connect(self._timeout_changed)
        self.timeout.valueChanged.connect(self._timeout_changed)
        self.on_error.currentIndexChanged.connect(
            lambda i: self._edit("on_error", self.on_error_values[i]))
        self.disabled.toggled.connect(lambda on: self._edit("disabled", bool(on)))

    def widgets(self) -> list[QWidget]:
        """The editors, in Tab order."""
        return [self.attempts, self.backoff, self.delay, self.max_delay, self.jitter,
                self.timeout_on, self.timeout, self.on_error, self.disabled]

    def _edit(self, field: str, value: Any) -> None:
        if not self._quiet:
            self.edit(field, value)

    def retry_value(self) -> dict[str, Any] | None:
        """The `retry` to store for what the widgets show (None: the type's default)."""
        n = self.attempts.value()
        if n <= 1:
            return {"max_attempts": 1} if self.default_retry else None
        policy = RetryPolicy(max_attempts=n, backoff=BACKOFFS[self.backoff.currentIndex()],
                             delay_s=self.delay.value(), max_delay_s=self.max_delay.value(),
                             jitter=self.jitter.isChecked())
        return None if policy == self.default_retry else policy.model_dump()

    def _retry_changed(self, *_: Any) -> None:
        self._enable_retry()
        self._edit("retry", self.retry_value())

    def _enable_retry(self) -> None:
        on = self.attempts.value() > 1
        for row in self.retry_rows:
            row.editor.setEnabled(on)
            row.label.setEnabled(on)

    def _timeout_changed(self, *_: Any) -> None:
        on = self.timeout_on.isChecked()
        self.timeout.setEnabled(on)
        value = self.timeout.value()
        self._edit("timeout_s", (int(value) if value.is_integer() else value) if on else None)

    def show(self, spec: NodeSpec, settings: Settings) -> None:
        self._quiet = True
        try:
            retry = spec.retry or self.default_retry
            self.retry_reset.setVisible(spec.retry is not None)
            self.attempts.setValue(retry.max_attempts if retry else 1)
            if retry is not None:  # keep the last values shown while retries are off
                self.backoff.setCurrentIndex(BACKOFFS.index(retry.backoff))
                self.delay.setValue(retry.delay_s)
                self.max_delay.setValue(retry.max_delay_s)
                self.jitter.setChecked(retry.jitter)
            self._enable_retry()
            self.timeout_on.setChecked(spec.timeout_s is not None)
            if spec.timeout_s is not None:
                self.timeout.setValue(spec.timeout_s)
            self.timeout.setEnabled(spec.timeout_s is not None)
            self.on_error.setItemText(0, f"Default ({ON_ERROR_LABELS[settings.on_error].lower()})")
            self.on_error.setCurrentIndex(self.on_error_values.index(spec.on_error))
            self.disabled.setChecked(spec.disabled)
        finally:
            self._quiet = False
