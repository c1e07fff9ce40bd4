"""What a person sees on stderr while `flowcli run` works: a live display on a
terminal (done/total, running nodes, elapsed, failures), plain lines otherwise,
and a closing summary either way."""

from __future__ import annotations

import time
from typing import Any

from engine.cli.common import BOLD, CYAN, DIM, GREEN, RED, YELLOW, Printer
from engine.core.events import (
    Event,
    NodeCancelled,
    NodeCompleted,
    NodeFailed,
    NodeLogged,
    NodeRetrying,
    NodeSkipped,
    NodeStarted,
    RunCompleted,
    RunRetrying,
)

_LEVEL_STYLE = {"debug": DIM, "info": "", "warning": YELLOW, "error": RED}
_STATUS_STYLE = {"completed": f"{BOLD} {GREEN}", "failed": f"{BOLD} {RED}",
                 "cancelled": f"{BOLD} {YELLOW}"}


class LogPrinter:
    """Prints node_log events (debug.log text): every mode shows them."""

    def __init__(self, out: Printer) -> None:
        self.out = out

    def __call__(self, event: Event) -> None:
        if isinstance(event, NodeLogged):
            self.out.line((f"[{event.node_id}] ", CYAN),
                          (event.message, _LEVEL_STYLE.get(event.level, "")))


class ProgressDisplay:
    """Counts node events and draws them; cheap per event, drawn at most 10x a second."""

    def __init__(self, out: Printer, total: int, workflow: str) -> None:
        self.out = out
        self.total = total
        self.workflow = workflow
        self.done = 0
        self.counts = {"completed": 0, "failed": 0, "skipped": 0, "cancelled": 0, "cached": 0}
        self.running: dict[str, float] = {}
        self.retries = 0
        self.started = time.monotonic()
        self.live: Any = None
        if out.is_terminal:
            from rich.live import Live

            self.live = Live(console=out.console, get_renderable=self._render,
                             refresh_per_second=10, transient=True)

    def __enter__(self) -> ProgressDisplay:
        if self.live is not None:
            self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.stop()

    def __call__(self, event: Event) -> None:
        match event:
            case NodeStarted():
                self.running[event.node_id] = time.monotonic()
            case NodeCompleted():
                self._settle(event.node_id, "cached" if event.cached else "completed")
            case NodeFailed():
                self._settle(event.node_id, "failed")
                self.out.line((f"✗ {event.node_id} failed: ", RED), event.error["message"])
            case NodeSkipped():
                self._settle(event.node_id, "skipped")
            case NodeCancelled():
                self._settle(event.node_id, "cancelled")
            case NodeRetrying():
                self.retries += 1
                self.out.line((f"↻ {event.node_id}: retry {event.attempt} in "
                               f"{event.delay_s:g} s ({event.error['message']})", YELLOW))
            case RunRetrying():
                self.out.line((f"↻ run failed ({event.error['message']}); starting attempt "
                               f"{event.attempt}", YELLOW))
                self.done = 0
                self.running.clear()
            case RunCompleted():
                if self.live is not None:
                    self.live.stop()
                self._summary(event)

    def _settle(self, node_id: str, kind: str) -> None:
        self.running.pop(node_id, None)
        self.counts[kind] += 1
        if "/" not in node_id:  # nodes inside bodies are not part of the top-level total
            self.done += 1

    def _render(self) -> Any:
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        elapsed = time.monotonic() - self.started
        head = Table.grid(padding=(0, 1))
        head.add_row(Text(self.workflow or "workflow", style=BOLD),
                     ProgressBar(total=max(self.total, 1), completed=self.done, width=30),
                     Text(f"{self.done}/{self.total} nodes"), Text(f"{elapsed:5.1f}s", style=DIM))
        parts: list[Any] = [head]
        now = time.monotonic()
        for node_id, since in list(self.running.items())[:8]:
            parts.append(Text(f"  ⏵ {node_id}  {now - since:4.1f}s", style=CYAN))
        if len(self.running) > 8:
            parts.append(Text(f"  … and {len(self.running) - 8} more running", style=DIM))
        if self.counts["failed"]:
            parts.append(Text(f"  {self.counts['failed']} failed", style=RED))
        return Group(*parts)

    def _summary(self, e: RunCompleted) -> None:
        if e.error is not None and e.error["type"] == "validation":
            return  # nothing ran; the command lists every problem itself
        c = self.counts
        bits = [f"{c['completed']} completed"]
        bits += [f"{c[k]} {k}" for k in ("cached", "failed", "skipped", "cancelled") if c[k]]
        if self.retries:
            bits.append(f"{self.retries} retries")
        self.out.line((e.status, _STATUS_STYLE.get(e.status, BOLD)),
                      f" in {e.duration_ms / 1000:.2f}s · " + ", ".join(bits))
        if e.error:
            where = f" at {e.failed_node}" if e.failed_node else ""
            self.out.line((f"error{where}: ", RED), f"{e.error['type']}: {e.error['message']}")
        for err in e.node_errors:
            self.out.line((f"  ✗ {err['node']}: {err['type']}: {err['message']}", RED))
