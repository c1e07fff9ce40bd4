"""`GET /metrics` in the Prometheus text format (version 0.0.4): runs by final status,
node executions, runs waiting for a slot and running, and a histogram of run durations.
Counted by this server process since it started."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

# Run duration buckets in seconds: from a trivial run to a long batch job.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


@dataclass
class Metrics:
    runs: Counter[str] = field(default_factory=Counter)  # final status -> count
    started: int = 0
    buckets: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    duration_sum: float = 0.0
    duration_count: int = 0

    def finished(self, status: str, duration_s: float) -> None:
        self.runs[status] += 1
        self.duration_sum += duration_s
        self.duration_count += 1
        for i, bound in enumerate(BUCKETS):
            if duration_s <= bound:
                self.buckets[i] += 1

    def render(self, *, queued: int, running: int, node_runs: int) -> str:
        lines = [
            "# HELP flowui_runs_started_total Runs accepted by this server.",
            "# TYPE flowui_runs_started_total counter",
            f"flowui_runs_started_total {self.started}",
            "# HELP flowui_runs_total Runs finished, by final status.",
            "# TYPE flowui_runs_total counter",
        ]
        for status in sorted({"completed", "failed", "cancelled", *self.runs}):
            lines.append(f'flowui_runs_total{{status="{status}"}} {self.runs[status]}')
        lines += [
            "# HELP flowui_node_executions_total Node executions (completed or failed).",
            "# TYPE flowui_node_executions_total counter",
            f"flowui_node_executions_total {node_runs}",
            "# HELP flowui_queue_depth Runs waiting for a run slot.",
            "# TYPE flowui_queue_depth gauge",
            f"flowui_queue_depth {queued}",
            "# HELP flowui_runs_running Runs holding a run slot.",
            "# TYPE flowui_runs_running gauge",
            f"flowui_runs_running {running}",
            "# HELP flowui_run_duration_seconds Wall time of finished runs.",
            "# TYPE flowui_run_duration_seconds histogram",
        ]
        for bound, count in zip(BUCKETS, self.buckets, strict=True):
            lines.append(f'flowui_run_duration_seconds_bucket{{le="{bound:g}"}} {count}')
        lines += [
            f'flowui_run_duration_seconds_bucket{{le="+Inf"}} {self.duration_count}',
            f"flowui_run_duration_seconds_sum {self.duration_sum:.6f}",
            f"flowui_run_duration_seconds_count {self.duration_count}",
        ]
        return "\n".join(lines) + "\n"
