"""What the run store hands its readers (the CLI, the editor, flowserver): typed,
frozen records of runs, built from rows. Times are seconds since the epoch."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from engine.core.events import iso_utc

ACTIVE = ("queued", "validating", "running")
FINAL = ("completed", "failed", "cancelled", "interrupted")
STATUSES = (*ACTIVE, *FINAL, "dead_letter")  # what `--status` accepts
LIFECYCLE = ("queued", "validating", "running", "finished", "interrupted", "dead_letter")

SUMMARY_COLUMNS = ("id, workflow, workflow_path, source, status, queued_at, validating_at, "
                   "running_at, finished_at, interrupted_at, dead_letter_at, duration_ms, "
                   "error, failed_node, retry_of")


@dataclass(frozen=True)
class RunSummary:
    """One run as a list shows it."""

    id: str
    workflow: str
    workflow_path: str | None
    source: str  # cli | serve | editor | retry | api (flowserver)
    status: str  # queued validating running completed failed cancelled interrupted
    times: dict[str, float]  # lifecycle step -> when (LIFECYCLE names; `finished` = the end)
    duration_ms: float | None
    error: dict[str, Any] | None
    failed_node: str | None
    retry_of: str | None

    @property
    def dead_letter(self) -> bool:
        """A serve-mode run that did not complete: its payload can be retried."""
        return "dead_letter" in self.times

    @property
    def started_at(self) -> float:
        return self.times["queued"]

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.id, "workflow": self.workflow,
                "workflow_path": self.workflow_path, "source": self.source,
                "status": self.status, "dead_letter": self.dead_letter,
                "times": {k: iso_utc(v) for k, v in self.times.items()},
                "duration_ms": self.duration_ms, "error": self.error,
                "failed_node": self.failed_node, "retry_of": self.retry_of}

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> RunSummary:
        (run_id, workflow, path, source, status, *stamps, duration, error, failed,
         retry_of) = row
        times = {name: t for name, t in zip(LIFECYCLE, stamps, strict=True) if t is not None}
        return cls(run_id, workflow, path, source, status, times, duration,
                   _json(error), failed, retry_of)


@dataclass(frozen=True)
class RunDetail:
    """One run in full, but for its events and outputs (read those separately)."""

    summary: RunSummary
    workflow_hash: str | None
    snapshot: dict[str, Any] | None  # the workflow file's data as it was run
    inputs: dict[str, Any] | None  # masked; None when the run died before they were safe
    trigger: dict[str, Any] | None  # masked
    outputs: dict[str, Any] | None  # the run's result outputs
    node_errors: list[dict[str, Any]] = field(default_factory=list)
    pid: int | None = None
    host: str | None = None

    @property
    def id(self) -> str:
        return self.summary.id


@dataclass(frozen=True)
class RunPage:
    """A page of a list, newest first; `cursor` fetches the next (None: no more)."""

    runs: list[RunSummary]
    cursor: str | None


def _json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def loads(text: str | None) -> Any:
    return _json(text)
