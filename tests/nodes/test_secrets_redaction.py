"""A secret used by http.request, debug.log and llm.chat never appears in anything a run
produces: events, results, stdout, stderr, the result file. The local server echoes it
back on purpose, so every output path is tried."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from engine import Registry, Runner
from engine.secrets.redactor import MASK
from engine.secrets.store import MappingSecrets
from engine.workflow.file import from_data

FLOWCLI = Path(sys.executable).with_name("flowcli")
SECRET = "sk9Zq4TOPSECRETvalue7731"
REF = "{{ secrets.API_TOKEN }}"


def leaky_workflow(base: str) -> dict[str, Any]:
    """Every way a run could carry the secret outwards."""
    auth = {"Authorization": f"Bearer {REF}"}
    return {
        "format": "flowui-workflow", "version": 1, "name": "leaky",
        "nodes": [
            # The echo route sends the headers, query and body back: the secret is in the
            # response's body, json and url.
            {"id": "req", "type": "http.request", "config": {
                "method": "POST", "url": base + "/echo", "headers": auth,
                "query": {"token": REF}, "body": {"key": REF, "note": f"key={REF}"}}},
            {"id": "inspect", "type": "debug.inspect"},
            {"id": "log", "type": "debug.log",
             "config": {"format": f"the token is {REF}; echoed: {{{{ ports.message.headers }}}}"}},
            # The fake model repeats the prompt: the secret comes back in text and raw.
            {"id": "chat", "type": "llm.chat", "config": {
                "base_url": base + "/v1", "api_key": REF, "prompt": f"Repeat {REF}"}},
            # An error whose body echoes the request headers: the secret is in the message.
            {"id": "denied", "type": "http.request", "on_error": "continue",
             "config": {"url": base + "/status/401?echo=1", "headers": auth}},
        ],
        "connections": [{"from": "req.json", "to": "inspect.value"},
                        {"from": "inspect.value", "to": "log.message"}],
    }


def server_saw_the_secret(server: Any) -> bool:
    return any(SECRET in json.dumps(r) for r in server.requests)


def test_in_process_run_redacts_events_results_and_errors(http_server):
    events: list = []
    runner = Runner(Registry.discover(plugins=False),
                    secrets=MappingSecrets({"API_TOKEN": SECRET}))
    result = asyncio.run(runner.run(from_data(leaky_workflow(http_server.url)),
                                    subscribers=(events.append,)))
    assert result.status == "completed", result.error
    assert server_saw_the_secret(http_server)  # it was really used, and really echoed
    [denied] = result.node_errors
    assert "HTTP 401" in denied["message"] and f"Bearer {MASK}" in denied["message"]
    produced = "\n".join([*(json.dumps(e.to_dict()) for e in events),
                          json.dumps(result.to_dict()), json.dumps(result.metadata),
                          repr(result.outputs), repr(result.error)])
    assert SECRET not in produced
    log = next(e for e in events if e.name == "node_log" and e.node_id == "log")
    assert log.message.startswith(f"the token is {MASK}")
    assert result.outputs["chat"]["text"] == f"Summary: Repeat {MASK}"
    assert result.outputs["log"]["value"]["json"] == {"key": MASK, "note": f"key={MASK}"}


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "leaky.flow.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def flowcli(*args: Any, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(FLOWCLI), *map(str, args)], capture_output=True, timeout=60,
                          env=env)


def test_flowcli_never_prints_or_writes_the_secret(tmp_path, http_server):
    flow = write(tmp_path, leaky_workflow(http_server.url))
    env = {**os.environ, "FLOWUI_SECRET_API_TOKEN": SECRET}
    out = tmp_path / "result.json"
    jsonl = flowcli("run", flow, "--events", "jsonl", "--output", out, env=env)
    pretty = flowcli("run", flow, "--events", "pretty", env=env)  # result on stdout, logs on stderr
    for r in (jsonl, pretty):
        assert r.returncode == 0, r.stderr.decode()
    assert server_saw_the_secret(http_server)
    produced = {"jsonl stdout": jsonl.stdout, "jsonl stderr": jsonl.stderr,
                "pretty stdout": pretty.stdout, "pretty stderr": pretty.stderr,
                "result file": out.read_bytes()}
    for where, data in produced.items():
        assert SECRET.encode() not in data, where
    events = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert events[-1]["event"] == "run_completed"
    assert b"the token is ***" in jsonl.stderr  # debug.log text, masked
    assert json.loads(out.read_bytes())["outputs"]["chat"]["text"] == f"Summary: Repeat {MASK}"
    # the flow file itself only ever held the reference
    assert SECRET.encode() not in flow.read_bytes()


def test_missing_secret_fails_validation_before_any_node_runs(tmp_path, http_server):
    data = leaky_workflow(http_server.url)
    flow = write(tmp_path, data)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWUI_SECRET_")}
    r = flowcli("run", flow, "--events", "jsonl", env=env)
    assert r.returncode == 2
    err = r.stderr.decode()
    assert "API_TOKEN" in err
    assert "FLOWUI_SECRET_API_TOKEN" in err and "flowcli secrets set API_TOKEN" in err
    events = [json.loads(line) for line in r.stdout.splitlines()]
    assert [e["event"] for e in events] == ["run_completed"]
    assert events[0]["error"]["type"] == "validation"
    quiet = flowcli("run", flow, "--events", "none", env=env)
    assert quiet.returncode == 2 and b"FLOWUI_SECRET_API_TOKEN" in quiet.stderr
    assert not http_server.requests and not http_server.hits

    result = asyncio.run(Runner(Registry.discover(plugins=False),
                                secrets=MappingSecrets({})).run(from_data(data)))
    assert result.error["type"] == "validation"
    assert "secret 'API_TOKEN' is not set" in result.error["message"]
    assert not http_server.hits
