"""How `flowcli runs list` and `flowcli runs show` put stored runs into words: plain
text tables on stdout (machine output is `--json`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.core.events import Event
from engine.core.execution import NodeOutputs
from engine.store.records import RunDetail, RunSummary
from engine.support import json_out

VALUE_CHARS = 200  # `show` cuts each output shown to this many characters


def status_text(run: RunSummary) -> str:
    return f"{run.status} (dead letter)" if run.dead_letter else run.status


def local_time(at: float | None) -> str:
    return "-" if at is None else datetime.fromtimestamp(at).strftime("%Y-%m-%d %H:%M:%S")


def duration(ms: float | None) -> str:
    if ms is None:
        return "-"
    return f"{ms:.0f} ms" if ms < 10_000 else f"{ms / 1000:.1f} s"


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in (header, *rows)]
    return "\n".join(lines) + "\n"


def runs_table(runs: list[RunSummary]) -> str:
    return table(("RUN ID", "STATUS", "WORKFLOW", "STARTED", "DURATION", "SOURCE"),
                 [(r.id, status_text(r), r.workflow, local_time(r.started_at),
                   duration(r.duration_ms), r.source) for r in runs])


def node_rows(events: list[Event]) -> list[dict[str, Any]]:
    """Each node (by path, iteration and index) once, with its latest state."""
    nodes: dict[tuple[Any, ...], dict[str, Any]] = {}
    for e in events:
        node = getattr(e, "node_id", None)
        if node is None:
            continue
        key = (node, getattr(e, "iteration", None), getattr(e, "index", None))
        row = nodes.setdefault(key, {"node": _where(*key), "status": "-", "duration_ms": None,
                                     "attempts": 0, "error": None})
        if e.name == "node_started":
            row.update(status="running", attempts=row["attempts"] + 1)
        elif e.name == "node_completed":
            row.update(status="cached" if e.cached else "completed",  # type: ignore[attr-defined]
                       duration_ms=e.duration_ms)  # type: ignore[attr-defined]
        elif e.name == "node_failed":
            row.update(status="failed", error=e.error)  # type: ignore[attr-defined]
        elif e.name == "node_skipped":
            row.update(status=f"skipped ({e.reason})")  # type: ignore[attr-defined]
        elif e.name == "node_cancelled":
            row.update(status="cancelled")
    return list(nodes.values())


def _where(node: str, iteration: int | None, index: int | None) -> str:
    if iteration is not None:
        return f"{node}[iteration {iteration}]"
    return node if index is None else f"{node}[index {index}]"


def show_text(detail: RunDetail, events: list[Event], outputs: list[NodeOutputs]) -> str:
    s = detail.summary
    out = [f"run        {s.id}",
           f"workflow   {s.workflow}" + (f" ({s.workflow_path})" if s.workflow_path else ""),
           f"status     {status_text(s)}",
           f"source     {s.source}" + (f", a retry of {s.retry_of}" if s.retry_of else ""),
           f"duration   {duration(s.duration_ms)}"]
    out += [f"{step + ':':11}{local_time(at)}" for step, at in s.times.items()]
    if s.error:
        node = s.failed_node or s.error.get("node")
        out.append(f"error      {s.error.get('type')}: {s.error.get('message')}"
                   + (f" (node {node})" if node else ""))
    if detail.inputs:
        out.append(f"inputs     {_cut(json_out.dumps(detail.inputs))}")
    rows = node_rows(events)
    if rows:
        out += ["", table(("NODE", "STATUS", "DURATION", "ATTEMPTS"),
                          [(r["node"], r["status"], duration(r["duration_ms"]),
                            str(r["attempts"])) for r in rows]).rstrip()]
    failed = [r for r in rows if r["error"]]
    for r in failed:
        out.append(f"  {r['node']} failed: {r['error'].get('type')}: {r['error'].get('message')}")
    if detail.outputs:
        out += ["", "outputs"] + [f"  {k}: {_cut(json_out.dumps(v))}"
                                  for k, v in detail.outputs.items()]
    if outputs:
        out += ["", "node outputs"] + [
            f"  {_where(o.node_id, o.iteration, o.index)}.{port}: {_cut(json_out.dumps(v))}"
            for o in outputs for port, v in o.outputs.items()]
    return "\n".join(out) + "\n"


def _cut(text: str) -> str:
    return text if len(text) <= VALUE_CHARS else text[:VALUE_CHARS] + "…"
