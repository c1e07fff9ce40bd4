"""The loop examples in resources/examples run to completion through the real `flowcli`,
and are saved exactly as the program saves them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine.workflow.file import dumps, load

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
FLOWCLI = Path(sys.executable).with_name("flowcli")


def run_events(path: Path, *args: str) -> list[dict[str, Any]]:
    proc = subprocess.run([FLOWCLI, "run", str(path), "--events", "jsonl", *args], cwd="/",
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


@pytest.mark.parametrize("name", ["for_each", "loop_until"])
def test_example_is_canonical_and_described(name):
    path = EXAMPLES / f"{name}.flow.json"
    wf = load(path)
    assert wf.description and all(sg.description for sg in wf.subgraphs.values())
    assert dumps(wf) == path.read_text(encoding="utf-8")


def test_for_each_example_squares_in_input_order():
    events = run_events(EXAMPLES / "for_each.flow.json")
    assert events[-1]["status"] == "completed"
    assert events[-1]["outputs"] == {"squares": [1, 4, 9, 16, 25]}
    logs = [(e["index"], e["message"]) for e in events
            if e["event"] == "node_log" and e["node_id"] == "each/log"]
    assert sorted(logs) == [(i, f"item {i}: {i + 1} squared is {(i + 1) ** 2}")
                            for i in range(5)]
    assert [i for i, _ in logs] != sorted(i for i, _ in logs)  # finished out of order


def test_for_each_example_takes_its_numbers_from_the_command_line():
    events = run_events(EXAMPLES / "for_each.flow.json", "--input", "numbers=[7, 0.5]")
    assert events[-1]["outputs"] == {"squares": [49, 0.25]}


def test_loop_until_example_doubles_past_the_limit():
    events = run_events(EXAMPLES / "loop_until.flow.json")
    assert events[-1]["status"] == "completed"
    assert events[-1]["outputs"] == {"final": 128, "iterations": 7}
    logs = [(e["iteration"], e["message"]) for e in events
            if e["event"] == "node_log" and e["node_id"] == "grow/log"]
    assert logs == [(i, f"iteration {i}: {2 ** i} -> {2 ** (i + 1)}") for i in range(7)]
    events = run_events(EXAMPLES / "loop_until.flow.json", "--input", "limit=1000",
                        "--input", "start=3")
    assert events[-1]["outputs"] == {"final": 1536, "iterations": 9}
