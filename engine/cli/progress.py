"""What a person sees on stderr while `flowcli run` works: a live display on a
terminal (done/total, running nodes, elapsed, failures), plain lines otherwise,
and a closing summary either way."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from engine.core.events import Event

_STYLE = {"debug": "dim", "info": "", "warning": "yellow", "error": "red"}
_STATUS_STYLE = {"completed": "bold green", "failed": "bold red", "cancelled": "bold yellow"}


class LogPrinter:
    """Prints node_log events (debug.log text) to the console: every mode shows them."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def __call__(self, event: Event) -> None:
        if event.name == "node_log":
            e: Any = event
            style = _STYLE.get(e.level, "")
            prefix = Text(f"[{e.node_id}] ", style="cyan")
            self.console.print(prefix + Text(e.message, style=style), soft_wrap=True,
                               highlight=False)


class ProgressDisplay:
    """Counts node events and draws them; cheap per event, drawn at most 10x a second."""

    def __init__(self, console: Console, total: int, workflow: str) -> None:
        self.console = console
        self.total = total
        self.workflow = workflow
        self.done = 0
        self.counts = {"completed": 0, "failed": 0, "skipped": 0, "cancelled": 0, "cached": 0}
        self.running: dict[str, float] = {}
        self.failures: list[tuple[str, str]] = []
        self.retries = 0
        self.started = time.monotonic()
        self.live: Live | None = None
        if console.is_terminal:
            self.live = Live(console=console, get_renderable=self._render,
                             refresh_per_second=10, transient=True)

    def __enter__(self) -> ProgressDisplay:
        if self.live is not None:
            self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.stop()

    def __call__(self, event: Event) -> None:
        e: Any = event
        name = event.name
        if name == "node_started":
            self.running[e.node_id] = time.monotonic()
        elif name == "node_completed":
            self._settle(e.node_id, "cached" if e.cached else "completed")
        elif name == "node_failed":
            self._settle(e.node_id, "failed")
            self.failures.append((e.node_id, f"{e.error['type']}: {e.error['message']}"))
            self.console.print(Text(f"✗ {e.node_id} failed: ", style="red")
                               + Text(e.error["message"]), highlight=False)
        elif name == "node_skipped":
            self._settle(e.node_id, "skipped")
        elif name == "node_cancelled":
            self._settle(e.node_id, "cancelled")
        elif name == "node_retrying":
            self.retries += 1
            self.console.print(Text(f"↻ {e.node_id}: retry {e.attempt} in {e.delay_s:g} s "
                                    f"({e.error['message']})", style="yellow"), highlight=False)
        elif name == "run_retrying":
            self.console.print(Text(f"↻ run failed ({e.error['message']}); starting attempt "
                                    f"{e.attempt}", style="yellow"), highlight=False)
            self.done = 0
            self.running.clear()
        elif name == "run_completed":
            if self.live is not None:
                self.live.stop()
            self._summary(e)

    def _settle(self, node_id: str, kind: str) -> None:
        self.running.pop(node_id, None)
        self.counts[kind] += 1
        if "/" not in node_id:  # nodes inside bodies are not part of the top-level total
            self.done += 1

    def _render(self) -> Group:
        elapsed = time.monotonic() - self.started
        head = Table.grid(padding=(0, 1))
        head.add_row(Text(self.workflow or "workflow", style="bold"),
                     ProgressBar(total=max(self.total, 1), completed=self.done, width=30),
                     Text(f"{self.done}/{self.total} nodes"), Text(f"{elapsed:5.1f}s", style="dim"))
        parts: list[Any] = [head]
        now = time.monotonic()
        for node_id, since in list(self.running.items())[:8]:
            parts.append(Text(f"  ⏵ {node_id}  {now - since:4.1f}s", style="cyan"))
        if len(self.running) > 8:
            parts.append(Text(f"  … and {len(self.running) - 8} more running", style="dim"))
        if self.counts["failed"]:
            parts.append(Text(f"  {self.counts['failed']} failed", style="red"))
        return Group(*parts)

    def _summary(self, e: Any) -> None:
        c = self.counts
        bits = [f"{c['completed']} completed"]
        bits += [f"{c[k]} {k}" for k in ("cached", "failed", "skipped", "cancelled") if c[k]]
        if self.retries:
            bits.append(f"{self.retries} retries")
        line = Text(f"{e.status}", style=_STATUS_STYLE.get(e.status, "bold"))
        line += Text(f" in {e.duration_ms / 1000:.2f}s · " + ", ".join(bits))
        self.console.print(line, highlight=False)
        if e.error:
            where = f" at {e.failed_node}" if e.failed_node else ""
            self.console.print(Text(f"error{where}: ", style="red")
                               + Text(f"{e.error['type']}: {e.error['message']}"),
                               highlight=False)
        for err in e.node_errors:
            self.console.print(Text(f"  ✗ {err['node']}: {err['type']}: {err['message']}",
                                    style="red"), highlight=False)
