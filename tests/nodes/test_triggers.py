"""Trigger nodes (http.webhook, time.interval) and http.respond through the real runner, and
a plain `flowcli run` of the webhook example fed by --trigger-payload."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from engine import Registry, Runner
from engine.workflow.file import dumps, load
from tests.engine.toy import workflow

ROOT = Path(__file__).parents[2]
FLOWCLI = Path(sys.executable).with_name("flowcli")
ECHO = ROOT / "resources" / "examples" / "webhook_echo.flow.json"


def hook(node_id: str = "hook", **config: object) -> dict:
    return {"id": node_id, "type": "http.webhook", "config": config}


def test_webhook_outputs_the_trigger_payload(builtin):
    wf = workflow([hook()])
    payload = {"node": "hook", "body": {"a": 1}, "headers": {"x-k": "v"}, "query": {"q": "1"},
               "method": "PUT"}
    result = builtin.run(wf, trigger=payload)
    assert result.status == "completed", result.error
    assert result.outputs["hook"] == {"body": {"a": 1}, "headers": {"x-k": "v"},
                                      "query": {"q": "1"}, "method": "PUT"}


def test_without_a_payload_a_webhook_fires_once_with_defaults(builtin):
    result = builtin.run(workflow([hook(method="PATCH")]))
    assert result.outputs["hook"] == {"body": "", "headers": {}, "query": {}, "method": "PATCH"}
    result = builtin.run(workflow([hook(method="ANY")]))
    assert result.outputs["hook"]["method"] == "POST"


def test_only_the_trigger_that_fired_outputs(builtin):
    wf = workflow([hook("a", path="/a"), hook("b", path="/b"),
                   {"id": "tick", "type": "time.interval", "config": {"every_s": 1}},
                   {"id": "log_a", "type": "debug.log"}, {"id": "log_b", "type": "debug.log"},
                   {"id": "log_tick", "type": "debug.log"}],
                  [("a.body", "log_a.message"), ("b.body", "log_b.message"),
                   ("tick.tick", "log_tick.message")])
    result = builtin.run(wf, trigger={"node": "b", "body": "for b"})
    assert result.status == "completed", result.error
    assert result.outputs == {"log_b": {"value": "for b"}}
    trace = builtin.trace()
    assert ("node_skipped", "log_a", "branch_not_taken") in trace
    assert ("node_skipped", "log_tick", "branch_not_taken") in trace


def test_respond_sets_the_runs_answer():
    wf = workflow([hook(), {"id": "reply", "type": "http.respond",
                            "config": {"status": 201, "headers": {"X-Made": "yes"}}}],
                  [("hook.body", "reply.body")])

    async def go() -> tuple:
        run = Runner(Registry.discover(plugins=False)).start(wf, trigger={"body": {"id": 7}})
        result = await run.wait()
        return result, run.response

    result, response = asyncio.run(go())
    assert result.status == "completed", result.error
    assert response == {"status": 201, "headers": {"X-Made": "yes"}, "body": {"id": 7}}


def test_interval_outputs_its_tick_and_time(builtin):
    wf = workflow([{"id": "every", "type": "time.interval", "config": {"every_s": 5}}])
    first = builtin.run(wf).outputs["every"]
    assert first["tick"] == 0 and first["time"].endswith("Z") and "T" in first["time"]
    fed = builtin.run(wf, trigger={"node": "every", "tick": 4, "time": "2026-01-01T00:00:00Z"})
    assert fed.outputs["every"] == {"tick": 4, "time": "2026-01-01T00:00:00Z"}


def test_two_webhooks_on_one_path_and_method_are_a_validation_problem(builtin):
    clash = builtin.run(workflow([hook("a", path="/x"), hook("b", path="/x", method="ANY"),
                                  hook("c", path="/x", port=9000, method="GET"),
                                  hook("d", path="/y")]))
    assert clash.status == "failed" and clash.error["type"] == "validation"
    flagged = sorted(p.node_id for p in clash.problems)
    assert flagged == ["a", "b", "c"]  # ANY overlaps every method; /y is alone
    fine = builtin.run(workflow([hook("a", path="/x"), hook("b", path="/x", method="GET")]))
    assert fine.status == "completed", fine.error


def test_triggers_inside_a_subgraph_are_a_validation_problem(builtin):
    wf = workflow([{"id": "each", "type": "control.for_each", "config": {"body": "b"}}],
                  subgraphs={"b": {"nodes": [hook("inner")]}})
    result = builtin.run(wf, {"items": []})
    assert result.status == "failed"
    assert any(p.node_id == "b/inner" and "top level" in p.message for p in result.problems)


def test_the_example_is_saved_as_the_program_writes_it():
    assert dumps(load(ECHO)) == ECHO.read_text(encoding="utf-8")
    assert load(ECHO).description


def flowcli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(FLOWCLI), *map(str, args)], capture_output=True, text=True,
                          timeout=60)


def test_plain_run_of_the_example_takes_the_trigger_payload(tmp_path):
    r = flowcli("run", ECHO, "--events", "jsonl",
                "--trigger-payload", '{"body": {"name": "Ada"}, "method": "POST"}')
    assert r.returncode == 0, r.stderr
    events = [json.loads(line) for line in r.stdout.splitlines()]
    hook_done = next(e for e in events if e["event"] == "node_completed"
                     and e["node_id"] == "hook")
    assert hook_done["outputs"]["body"] == {"name": "Ada"}
    assert events[-1]["status"] == "completed"

    payload = tmp_path / "request.json"
    payload.write_text(json.dumps({"body": "from a file"}))
    out = tmp_path / "result.json"
    r = flowcli("run", ECHO, "--events", "none", "--trigger-payload", f"@{payload}",
                "--output", out, "--test-run")
    assert r.returncode == 0, r.stderr
    assert json.loads(out.read_text())["metadata"] == {"test_run": True}


def test_bad_trigger_payloads_are_usage_errors(tmp_path):
    r = flowcli("run", ECHO, "--trigger-payload", "[1, 2]")
    assert r.returncode == 2 and "must be a JSON object" in r.stderr
    r = flowcli("run", ECHO, "--trigger-payload", "{nope")
    assert r.returncode == 2 and "invalid JSON" in r.stderr
    r = flowcli("run", ECHO, "--trigger-payload", f"@{tmp_path / 'missing.json'}")
    assert r.returncode == 2 and "cannot read it" in r.stderr


def test_result_metadata_is_printed_only_when_there_is_some():
    plain = json.loads(flowcli("run", ECHO, "--events", "none").stdout)
    assert "metadata" not in plain
    test_run = json.loads(flowcli("run", ECHO, "--events", "none", "--test-run").stdout)
    assert test_run["metadata"] == {"test_run": True}
