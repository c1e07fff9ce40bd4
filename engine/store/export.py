"""A stored run as files a colleague can open without FlowUI (FORMAT.md section 4):
`trace.json` (the events), `logs.txt` (one line per event), `metadata.json` (the
workflow snapshot, masked inputs, status and the time of each lifecycle step,
versions) and `outputs.json` (the run's result and every node's full outputs).
Each file is written atomically; what the store holds is already masked."""

from __future__ import annotations

import platform
import sqlite3
from pathlib import Path
from typing import Any

from engine.core.events import Event, iso_utc
from engine.core.execution import NodeOutputs
from engine.store.records import RunDetail
from engine.store.store import RunStore
from engine.support import json_out
from engine.support.atomic import write_text_atomic

FILES = ("trace.json", "logs.txt", "metadata.json", "outputs.json")


def export_run(store: RunStore, run_id: str, folder: str | Path) -> list[Path]:
    """Write the run's files into `folder` (created if needed); the paths written."""
    texts = run_files(store, run_id)
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name in FILES:
        write_text_atomic(target / name, texts[name])
        written.append(target / name)
    return written


def run_files(store: RunStore, run_id: str) -> dict[str, str]:
    """The text of each of FILES for one run (flowserver serves them as they are)."""
    detail = store.get(run_id)
    events = store.events(detail.id)
    outputs = store.outputs(detail.id)
    return {
        "trace.json": json_out.dumps([e.to_dict() for e in events], indent=2) + "\n",
        "logs.txt": "".join(log_line(e) + "\n" for e in events),
        "metadata.json": json_out.dumps(metadata(detail), indent=2) + "\n",
        "outputs.json": json_out.dumps(outputs_data(detail, outputs), indent=2) + "\n",
    }


def metadata(detail: RunDetail) -> dict[str, Any]:
    s = detail.summary
    return {
        "run_id": s.id, "status": s.status, "dead_letter": s.dead_letter, "source": s.source,
        "retry_of": s.retry_of,
        "times": {step: iso_utc(at) for step, at in s.times.items()},
        "duration_ms": s.duration_ms, "error": s.error, "failed_node": s.failed_node,
        "node_errors": detail.node_errors, "inputs": detail.inputs, "trigger": detail.trigger,
        "workflow": {"name": s.workflow, "path": s.workflow_path,
                     "hash": detail.workflow_hash, "snapshot": detail.snapshot},
        "versions": versions(),
    }


def versions() -> dict[str, str]:
    from engine.core.run_context import _version

    return {"flowui": _version(), "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version}


def outputs_data(detail: RunDetail, outputs: list[NodeOutputs]) -> dict[str, Any]:
    return {"run_id": detail.id, "outputs": detail.outputs, "nodes": [
        {"node_id": o.node_id, "node_type": o.node_type, "iteration": o.iteration,
         "index": o.index, "cached": o.cached, "outputs": o.outputs, "inputs": o.inputs,
         "error": o.error} for o in outputs]}


def log_line(event: Event) -> str:
    """One readable line: time, event, node, what happened."""
    data = event.to_dict()
    ts, name = data.pop("ts"), data.pop("event")
    for key in ("run_id", "seq"):
        data.pop(key)
    node = data.pop("node_id", None)
    where = node if node is not None else "-"
    if "iteration" in data:
        where += f"[iteration {data.pop('iteration')}]"
    if "index" in data:
        where += f"[index {data.pop('index')}]"
    if name == "node_log":
        return f"{ts} {data['level'].upper():7} {where}: {data['message']}"
    detail = " ".join(f"{k}={json_out.dumps(v)}" for k, v in data.items())
    return f"{ts} {name:15} {where} {detail}".rstrip()
