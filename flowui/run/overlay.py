"""The run on the canvas: node items of the graph shown take their state from the run
session (colour, footer text, progress, error tooltip), wires light up as values pass.

Nodes edited since the run started are marked; the timing view tints nodes by duration.
It reads the session; it never touches the document."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from functools import partial
from typing import Any

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QColor

from engine.core.locate import locate
from engine.core.registry import Registry
from flowui import theme
from flowui.canvas.edge_item import NO_RUN, WAITING, EdgeItem
from flowui.canvas.node_item import RUN_PULSE, NodeItem
from flowui.canvas.scene import GraphScene
from flowui.document import GraphKey
from flowui.run.keep import human_size
from flowui.run.session import NodeState, RunSession

PULSE_MS = 80  # the running halo's animation step
REFRESH_SLICE_S = 0.006  # a repaint of every node yields to the loop this often

SKIP_REASONS = {
    "disabled": "disabled", "branch_not_taken": "branch not taken",
    "upstream_skipped": "upstream skipped", "upstream_failed": "upstream failed",
    "cancelled": "cancelled", "not reached": "not reached",
}


def duration_text(ms: float | None) -> str:
    if ms is None:
        return ""
    if ms < 1:
        return f"{ms * 1000:.0f} µs"
    if ms < 1000:
        return f"{ms:.1f} ms" if ms < 100 else f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.2f} s"
    return f"{int(ms // 60_000)} min {ms % 60_000 / 1000:.0f} s"


def heat_color(ms: float, fastest: float, slowest: float) -> QColor:
    """Blue (fastest) through yellow to red (slowest), on a log scale: durations of one
    run span orders of magnitude."""
    lo, hi = math.log10(max(fastest, 0.001)), math.log10(max(slowest, 0.001))
    t = 0.0 if hi <= lo else (math.log10(max(ms, 0.001)) - lo) / (hi - lo)
    t = min(1.0, max(0.0, t))
    hue = 220 - 220 * t if t < 0.5 else 60 - 120 * (t - 0.5)  # 220 (blue) .. 60 .. 0 (red)
    return QColor.fromHsv(int(max(hue, 0)), 200, 235)


def footer_text(s: NodeState, max_attempts: int, *, pinned: bool = False) -> str:
    status = s.status
    if status == "running":
        text = s.progress_message or "running"
        if s.attempt > 1:
            text += f" · attempt {s.attempt} of {max_attempts}"
        return text
    if status == "retrying":
        wait = f" in {s.retry_delay_s:g} s" if s.retry_delay_s else ""
        return f"attempt {s.attempt} of {max_attempts}{wait}"
    if status in ("completed", "cached"):
        parts = [("pinned" if pinned else "cached") if status == "cached"
                 else duration_text(s.duration_ms)]
        if s.iterations_seen:
            parts.append(s.progress_message or f"{s.iterations_seen} iterations")
        if s.body_failures:
            parts.append(f"{s.body_failures} failed inside")
        return " · ".join(p for p in parts if p)
    if status == "failed":
        kind = (s.error or {}).get("type", "error")
        return f"{'routed: ' if s.routed else 'failed: '}{kind}"
    if status == "skipped":
        return f"skipped: {SKIP_REASONS.get(s.skip_reason or '', s.skip_reason or '')}"
    return status


def tooltip(s: NodeState) -> str:
    color = (theme.status_color(s.status) if s.status in ("failed", "cancelled")
             else theme.TEXT_DIM).name()
    lines = [f"<span style='color:{color}'><b>{s.status}</b></span>"]
    if s.duration_ms is not None:
        lines[0] += f" in {duration_text(s.duration_ms)}"
    if s.iteration is not None:
        lines.append(f"iteration {s.iteration}")
    if s.error:
        message = str(s.error.get("message", ""))[:600].replace("<", "&lt;")
        lines.append(f"<span style='color:{theme.PROBLEM.name()}'>{s.error.get('type', 'error')}: "
                     f"{message}</span>")
    if s.status == "retrying" and s.retry_error:
        lines.append(f"last error: {str(s.retry_error.get('message', ''))[:300]}")
    if s.skip_reason:
        lines.append(f"reason: {SKIP_REASONS.get(s.skip_reason, s.skip_reason)}")
    return "<br>".join(lines)


class RunOverlay(QObject):
    def __init__(self, scene: GraphScene, registry: Registry,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.scene = scene
        self.registry = registry
        self.session: RunSession | None = None
        self.edited: set[tuple[GraphKey, str]] = set()  # changed since the run started
        self.iteration: int | None = None  # the body iteration shown (None: the latest)
        self.timing = False
        self._places: dict[str, tuple[GraphKey, str] | None] = {}
        self._prefixes: dict[GraphKey, str] = {}  # body graph -> the path that runs it
        self._heat_range = (0.0, 0.0)
        self._running: set[str] = set()  # node ids of the graph shown with a halo
        self._tick = 0
        self._refreshing = 0  # the generation of the refresh going on
        self._pulse = QTimer(self, interval=PULSE_MS)
        self._pulse.timeout.connect(self._on_pulse)
        scene.rebuilt.connect(self.refresh)

    # --- what is shown -----------------------------------------------------------------

    def show_session(self, session: RunSession | None) -> None:
        self.session = session
        self._places.clear()
        self._prefixes.clear()
        self.edited.clear()
        self.iteration = None
        self.refresh()

    def set_timing(self, on: bool) -> None:
        self.timing = on
        self.refresh()

    def set_iteration(self, iteration: int | None) -> None:
        self.iteration = iteration
        self.refresh()

    def mark_edited(self, graph: GraphKey, node_id: str) -> None:
        if self.session is not None and (graph, node_id) not in self.edited:
            self.edited.add((graph, node_id))
            item = self.scene.nodes.get(node_id) if graph == self.scene.graph_key else None
            if item is not None:
                self._paint(node_id, item)

    # --- places --------------------------------------------------------------------------

    def place(self, path: str) -> tuple[GraphKey, str] | None:
        """The graph and node id of a run path, in the workflow the run uses."""
        try:
            return self._places[path]
        except KeyError:
            assert self.session is not None
            found: tuple[GraphKey, str] | None
            if "/" not in path:  # a node of the workflow itself: no search needed
                found = self._places[path] = (None, path) if path in self.session.nodes \
                    else None
                return found
            found = self._places[path] = locate(self.session.workflow, self.registry, path)
            if found is not None and found[0] is not None and "/" in path:
                self._prefixes.setdefault(found[0], path.rsplit("/", 1)[0])
            return found

    def prefix(self, graph: GraphKey) -> str | None:
        """The path of the node whose body `graph` is ("" for the workflow)."""
        return "" if graph is None else self._prefixes.get(graph)

    def path_of(self, graph: GraphKey, node_id: str) -> str | None:
        prefix = self.prefix(graph)
        if prefix is None:
            return None
        return f"{prefix}/{node_id}" if prefix else node_id

    def state_of(self, graph: GraphKey, node_id: str) -> NodeState | None:
        """The state shown for a node of a graph: in a body, the iteration chosen."""
        session, path = self.session, self.path_of(graph, node_id)
        if session is None or path is None:
            return None
        if graph is not None and self.iteration is not None:
            return session.state(path, self.iteration)
        return session.nodes.get(path)

    # --- painting --------------------------------------------------------------------------

    def update_paths(self, paths: set[str]) -> None:
        """The session changed these paths: repaint the ones on the canvas."""
        if self.session is None:
            return
        graph, nodes = self.scene.graph_key, self.scene.nodes
        # Far out the overview is one picture: one update for the frame, rather than
        # one per node and wire (thousands a frame, each a rectangle Qt merges).
        each = not self.scene.far
        for path in paths:
            found = self.place(path)
            if found is None or found[0] != graph:
                continue
            item = nodes.get(found[1])
            if item is not None and (graph is None or path == self.path_of(graph, found[1])):
                self._paint(found[1], item, repaint=each)
        if not each:
            self.scene.update()
        if self.timing and self.session.finished:
            self.refresh()
        self._pulse_if_running()

    def refresh(self) -> None:
        """Repaint every node and wire of the graph shown from the session."""
        session = self.session
        if session is not None:
            for path in list(session.nodes):
                self.place(path)  # learns which paths run the bodies
        if self.timing and session is not None:
            durations = [ms for _, ms in session.durations()]
            self._heat_range = (min(durations), max(durations)) if durations else (0.0, 0.0)
        self._running.clear()
        self._refreshing += 1  # a refresh still going on is superseded
        self._refresh_slice(self._refreshing, iter(list(self.scene.nodes.items())), [])

    def _refresh_slice(self, generation: int, items: Iterator[tuple[str, NodeItem]],
                       changed: list[NodeItem]) -> None:
        """Paint nodes for at most REFRESH_SLICE_S, then let the loop breathe and go
        on: a 10,000-node canvas takes ~120 ms to repaint, a freeze if done at once.
        Each node is painted from the session as it is then, so a later slice is never
        out of date."""
        if generation != self._refreshing:
            return
        nodes = self.scene.nodes
        deadline = time.perf_counter() + REFRESH_SLICE_S
        for n, (node_id, item) in enumerate(items, 1):
            if nodes.get(node_id) is item and self._paint(node_id, item, repaint=False):
                changed.append(item)
            if n % 64 == 0 and time.perf_counter() > deadline:
                # (no repaint of a half-done canvas: a frame costs as much as a slice)
                QTimer.singleShot(0, self, lambda: self._refresh_slice(generation, items,
                                                                      changed))
                return
        # Only now, all at once: the changed items' cached pictures are out of date (a
        # node left out of a partial run, or a cleared run, must not keep its old look).
        for item in changed:
            item.update()
        self.scene.update()
        self._pulse_if_running()

    def _paint(self, node_id: str, item: NodeItem, repaint: bool = True) -> bool:
        graph, session = self.scene.graph_key, self.session
        # (the workflow's own nodes: a direct lookup, as many times as nodes change)
        state = session.nodes.get(node_id) if graph is None and session is not None \
            else self.state_of(graph, node_id)
        edited = (graph, node_id) in self.edited
        if state is not None and state.status == "running":
            self._running.add(node_id)
        else:
            self._running.discard(node_id)
        changed = False
        if state is None:  # (a run's first repaint: every node, so kept to checks)
            if item.status is not None or item.edited != edited or item.heat is not None:
                changed = item.set_run(None, edited=edited, repaint=repaint)
            flow = NO_RUN if self.session is None else WAITING
            for edge in self.scene.edges_from(node_id):
                if edge.flow != flow:
                    edge.set_flow(flow, repaint)
                edge.describe = None
            return changed
        assert session is not None
        heat = None
        if self.timing and state.duration_ms is not None and self._heat_range[1] > 0:
            heat = heat_color(state.duration_ms, *self._heat_range)
        changed = item.set_run(state.status, footer_text(state, session.max_attempts(state.path),
                                                         pinned=item.pinned),
                               state.progress, partial(tooltip, state), edited=edited, heat=heat,
                               repaint=repaint)
        produced = _ports_with_values(state)
        # Values that passed: every iteration's when each node shows its latest.
        passed = 1 if self.iteration is not None or state.iteration is None else \
            max(session.completions.get(state.path, 1), 1)
        for edge in self.scene.edges_from(node_id):
            edge.set_flow(passed if edge.source_port in produced else WAITING, repaint)
            edge.describe = self._describe_edge
        return changed

    def _describe_edge(self, edge: EdgeItem) -> str:
        node_id, port = edge.source.split(".", 1)
        state = self.state_of(self.scene.graph_key, node_id)
        if state is None or state.outputs is None or port not in produced_keys(state):
            return "no value has passed yet"
        value = state.outputs.value[port]
        text = json.dumps(value, ensure_ascii=False, default=repr)
        kind = type(value).__name__
        size = f", {human_size(len(text))}" if len(text) > 200 else ""
        shown = text if len(text) <= 400 else text[:400] + " …"
        cut = " (a preview)" if state.outputs.cut else ""
        where = f" · iteration {state.iteration}" if state.iteration is not None else ""
        return f"last value{where}: {kind}{size}{cut}\n{shown}"

    # --- the running halo --------------------------------------------------------------------

    def _pulse_if_running(self) -> None:
        running = self.session is not None and not self.session.finished
        if running and not self._pulse.isActive():
            self._pulse.start()
        elif not running:
            self._pulse.stop()

    def _on_pulse(self) -> None:
        if self.scene.far:  # blocks have no halo: a repaint would show nothing new
            return
        self._tick += 1
        RUN_PULSE.phase = abs((self._tick * PULSE_MS / 700) % 2.0 - 1.0)  # 1 -> 0 -> 1
        nodes = self.scene.nodes
        for node_id in self._running:
            item = nodes.get(node_id)
            if item is not None:
                item.update()


def produced_keys(state: NodeState) -> Any:
    outputs = state.outputs
    return outputs.value.keys() if outputs is not None and isinstance(outputs.value, dict) \
        else ()


def _ports_with_values(state: NodeState) -> Any:
    if state.status in ("completed", "cached"):
        return produced_keys(state)
    if state.status == "failed" and state.routed:
        return ("error",)
    return ()
