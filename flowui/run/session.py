"""The live state of one run in the editor (no Qt): fed in order by the engine's events
and the full-outputs hook, it keeps each node's state, values and log lines, the
counters of the status bar, and which nodes changed since the views last looked.

The run controller appends whatever the engine reports to a list and hands the list
to `apply` at most once a frame; everything here is cheap per record so that a run
of 10,000 nodes never holds up the window.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from engine.core.events import (
    Event,
    NodeCancelled,
    NodeCompleted,
    NodeFailed,
    NodeLogged,
    NodeProgressed,
    NodeRetrying,
    NodeSkipped,
    NodeStarted,
    RunCompleted,
    RunRetrying,
    RunStarted,
)
from engine.core.execution import NodeOutputs
from engine.workflow.model import Workflow
from flowui.run.keep import Kept, ValueBudget
from flowui.run.records import LogLine

FINAL = frozenset({"completed", "cached", "failed", "skipped", "cancelled"})
MAX_NODE_LOG = 500  # lines kept per node (the Log dock keeps the whole run's, bounded too)
MAX_ITERATIONS_KEPT = 1000  # per node inside a body: the most recent iterations


@dataclass(slots=True, eq=False)
class NodeState:
    """One node of the run (for a node inside a loop body: one iteration of it)."""

    path: str  # "loop1/inc" inside a body
    iteration: int | None = None  # the iteration or item index, inside a body
    status: str = "queued"  # queued running retrying completed cached failed skipped cancelled
    node_type: str = ""
    attempt: int = 1
    retry_delay_s: float | None = None
    retry_error: dict[str, Any] | None = None
    started_at: float | None = None  # the event's timestamp, seconds since the epoch
    duration_ms: float | None = None
    error: dict[str, Any] | None = None  # {type, message[, traceback]}
    routed: bool = False  # the failure went to the node's error port
    skip_reason: str | None = None
    progress: float | None = None
    progress_message: str = ""
    outputs: Kept | None = None  # full outputs (bounded); the event's preview until they come
    inputs: Kept | None = None
    logs: deque[LogLine] = field(default_factory=lambda: deque(maxlen=MAX_NODE_LOG))
    body_failures: int = 0  # for a node that runs a body: failures inside it
    iterations_seen: int = 0  # for a node that runs a body: the highest iteration + 1


class RunSession:
    """Everything the editor knows about one run, from the events it has been given."""

    def __init__(self, workflow: Workflow, *, max_value_bytes: int,
                 budget_bytes: int, log_limit: int = 50_000,
                 max_attempts: dict[str, int] | None = None) -> None:
        self.workflow = workflow  # the snapshot the run uses
        self.run_id = ""
        self.status = "queued"  # then running, completed, failed, cancelled
        self.started_at: float | None = None
        self.duration_ms: float | None = None
        self.result: dict[str, Any] | None = None  # run_completed's fields
        self.nodes: dict[str, NodeState] = {}  # by path: the latest state (iteration)
        self.iterations: dict[str, dict[int, NodeState]] = {}  # by path inside bodies
        self.budget = ValueBudget(max_value_bytes, budget_bytes)
        self.log: deque[LogLine] = deque(maxlen=log_limit)
        self.new_log: list[LogLine] = []  # since the views last took them
        self.errors: list[NodeState] = []  # failed nodes, in order
        self.dirty: set[str] = set()  # paths changed since the views last looked
        self._max_attempts = max_attempts or {}
        top = [n.id for n in workflow.nodes]
        for node_id in top:  # (shown as queued by whoever shows the session: not dirty)
            self.nodes[node_id] = NodeState(node_id)
        self.total = len(top)  # the status bar's done/total counts the top-level graph
        self.done = 0
        self.failed = 0  # anywhere, bodies included
        self.running: set[str] = set()  # top-level paths running or retrying
        self.completions: dict[str, int] = {}  # by path: how many times it completed

    # --- feeding -------------------------------------------------------------------------

    def apply(self, records: Iterable[Event | NodeOutputs]) -> None:
        for record in records:
            if type(record) is NodeOutputs:
                self._outputs(record)
            else:
                handler = _HANDLERS.get(type(record))
                if handler is not None:
                    handler(self, record)

    def take_log(self) -> list[LogLine]:
        lines, self.new_log = self.new_log, []
        return lines

    def take_dirty(self) -> set[str]:
        dirty, self.dirty = self.dirty, set()
        return dirty

    # --- queries ---------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        return self.status in ("completed", "failed", "cancelled")

    def max_attempts(self, path: str) -> int:
        return self._max_attempts.get(path.rsplit("/", 1)[-1], 1)

    def state(self, path: str, iteration: int | None = None) -> NodeState | None:
        """A node's latest state, or (inside a body) its state in one iteration."""
        if iteration is None:
            return self.nodes.get(path)
        return self.iterations.get(path, {}).get(iteration)

    def iterations_under(self, prefix: str) -> list[int]:
        """The iterations kept for the nodes of a body (prefix: the path that runs it)."""
        start = prefix + "/"
        seen: set[int] = set()
        for path, kept in self.iterations.items():
            if path.startswith(start) and "/" not in path[len(start):]:
                seen.update(kept)
        return sorted(seen)

    def durations(self) -> list[tuple[str, float]]:
        """(path, duration) of every node that ran, slowest first."""
        timed = [(p, s.duration_ms) for p, s in self.nodes.items()
                 if s.duration_ms is not None and s.status in ("completed", "failed")]
        return sorted(timed, key=lambda t: -t[1])

    # --- the events ----------------------------------------------------------------------

    def _node(self, event: Any) -> NodeState:
        """The state an event is about: per iteration inside bodies, latest otherwise."""
        path: str = event.node_id
        key = _iteration(event)
        self.dirty.add(path)
        if key is None:
            state = self.nodes.get(path)
            if state is None:
                state = self.nodes[path] = NodeState(path)
            return state
        kept = self.iterations.get(path)
        if kept is None:
            kept = self.iterations[path] = {}
        state = kept.get(key)
        if state is None:
            state = kept[key] = NodeState(path, key)
            if len(kept) > MAX_ITERATIONS_KEPT:
                del kept[next(iter(kept))]
            parent = self.nodes.get(path.rsplit("/", 1)[0])
            if parent is not None and key + 1 > parent.iterations_seen:
                parent.iterations_seen = key + 1
        self.nodes[path] = state  # the latest iteration is what the node shows
        return state

    def _set_top_status(self, state: NodeState, status: str) -> None:
        """Status change with the counters kept right (top-level nodes only count)."""
        old = state.status
        state.status = status
        if "/" in state.path or state.iteration is not None:
            return
        if old in FINAL and status not in FINAL:
            self.done -= 1
        elif status in FINAL and old not in FINAL:
            self.done += 1
        if status in ("running", "retrying"):
            self.running.add(state.path)
        else:
            self.running.discard(state.path)

    def _run_started(self, e: RunStarted) -> None:
        self.run_id, self.status, self.started_at = e.run_id, "running", e.timestamp
        self._say(e.timestamp, "info", f"Run {e.run_id} of {e.workflow or 'the workflow'} "
                                        "started")

    def _run_retrying(self, e: RunRetrying) -> None:
        for path, state in list(self.nodes.items()):  # a new attempt starts from scratch
            if "/" not in path:
                self._set_top_status(state, "queued")
                state.duration_ms = state.error = None
                self.dirty.add(path)
        self._say(e.timestamp, "warning", f"Workflow attempt {e.attempt} after: "
                                          f"{e.error.get('message', '')}")

    def _started(self, e: NodeStarted) -> None:
        s = self._node(e)
        s.node_type, s.attempt, s.started_at = e.node_type, e.attempt, e.timestamp
        s.retry_delay_s = None
        self._set_top_status(s, "running")

    def _retrying(self, e: NodeRetrying) -> None:
        s = self._node(e)
        s.attempt, s.retry_delay_s, s.retry_error = e.attempt, e.delay_s, e.error
        self._set_top_status(s, "retrying")
        self._say(e.timestamp, "warning", f"attempt {e.attempt - 1} failed "
                  f"({e.error.get('message', '')}); retrying in {e.delay_s:g} s", e)

    def _completed(self, e: NodeCompleted) -> None:
        s = self._node(e)
        s.node_type, s.duration_ms = e.node_type, e.duration_ms
        self.completions[e.node_id] = self.completions.get(e.node_id, 0) + 1
        s.progress = None
        if s.outputs is None:  # the full outputs come through the hook (if it was given)
            s.outputs = Kept(e.outputs, cut=True, size=None)
        self._set_top_status(s, "cached" if e.cached else "completed")

    def _failed(self, e: NodeFailed) -> None:
        s = self._node(e)
        s.node_type, s.attempt, s.routed = e.node_type, e.attempt, e.routed
        if s.error is None or "traceback" not in s.error:
            s.error = e.error
        if s.started_at is not None:
            s.duration_ms = round((e.timestamp - s.started_at) * 1000, 3)
        self._set_top_status(s, "failed")
        self.failed += 1
        self.errors.append(s)
        if "/" in s.path:
            parent = self.nodes.get(s.path.rsplit("/", 1)[0])
            if parent is not None:
                parent.body_failures += 1
                self.dirty.add(parent.path)
        where = " (sent to its error port)" if e.routed else ""
        self._say(e.timestamp, "error", f"{e.error.get('type', 'error')}: "
                                        f"{e.error.get('message', '')}{where}", e)

    def _skipped(self, e: NodeSkipped) -> None:
        s = self._node(e)
        s.skip_reason = e.reason
        self._set_top_status(s, "skipped")

    def _cancelled(self, e: NodeCancelled) -> None:
        self._set_top_status(self._node(e), "cancelled")

    def _logged(self, e: NodeLogged) -> None:
        s = self._node(e)
        line = LogLine(e.timestamp, e.level, e.node_id, e.message, _iteration(e))
        s.logs.append(line)
        self.log.append(line)
        self.new_log.append(line)

    def _progressed(self, e: NodeProgressed) -> None:
        s = self._node(e)
        s.progress, s.progress_message = e.fraction, e.message

    def _run_completed(self, e: RunCompleted) -> None:
        self.status, self.duration_ms = e.status, e.duration_ms
        self.result = {"status": e.status, "duration_ms": e.duration_ms, "outputs": e.outputs,
                       "error": e.error, "failed_node": e.failed_node,
                       "node_errors": e.node_errors}
        # Nodes the run never reached, and any still marked running, end plainly.
        for path, state in self.nodes.items():
            if state.status in ("queued", "running", "retrying"):
                if state.status == "queued":
                    state.skip_reason = "not reached" if e.status != "cancelled" else "cancelled"
                    self._set_top_status(state, "skipped")
                else:
                    self._set_top_status(state, "cancelled")
                self.dirty.add(path)
        self.running.clear()
        if e.error is not None and e.error.get("type") in ("validation", "timeout"):
            self._say(e.timestamp, "error", e.error.get("message", ""))
        self._say(e.timestamp, "error" if e.status == "failed" else "info",
                  f"Run {e.status} in {e.duration_ms / 1000:.2f} s")

    def end(self, status: str, message: str) -> None:
        """The run ended without saying so (cancelled before it started): end it here."""
        if self.finished:
            return
        self.status = status
        for path, state in self.nodes.items():
            if state.status not in FINAL:
                state.skip_reason = status
                self._set_top_status(state, "skipped")
                self.dirty.add(path)
        self.running.clear()
        self._say(time.time(), "warning", message)

    def _outputs(self, r: NodeOutputs) -> None:
        key = _iteration(r)
        s = self.nodes.get(r.node_id) if key is None else \
            self.iterations.get(r.node_id, {}).get(key)
        if s is None:
            return
        s.outputs = self.budget.keep(r.outputs)
        if r.inputs is not None:
            s.inputs = self.budget.keep(r.inputs)
        if r.error is not None:
            s.error = r.error
        self.dirty.add(r.node_id)

    def _say(self, ts: float, level: str, message: str, about: Any = None) -> None:
        """A line of the run's own in the log (about a node when `about` is its event)."""
        node = about.node_id if about is not None else None
        line = LogLine(ts, level, node, message, _iteration(about) if about else None)
        self.log.append(line)
        self.new_log.append(line)


def _iteration(record: Any) -> int | None:
    """Which iteration of a body an event or outputs record is about: for_each's item
    index, else the loop's iteration; None outside bodies."""
    return record.index if record.index is not None else record.iteration  # type: ignore[no-any-return]


_HANDLERS: dict[type, Any] = {
    RunStarted: RunSession._run_started, RunRetrying: RunSession._run_retrying,
    NodeStarted: RunSession._started, NodeRetrying: RunSession._retrying,
    NodeCompleted: RunSession._completed, NodeFailed: RunSession._failed,
    NodeSkipped: RunSession._skipped, NodeCancelled: RunSession._cancelled,
    NodeLogged: RunSession._logged, NodeProgressed: RunSession._progressed,
    RunCompleted: RunSession._run_completed,
}
