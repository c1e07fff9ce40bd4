"""The network examples in resources/examples run to completion against the local server
(their URL inputs pointed at it), with the outputs they promise."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from engine import Registry, Runner
from engine.secrets.store import MappingSecrets
from engine.workflow import file as workflow_file

EXAMPLES = Path(__file__).parents[2] / "resources" / "examples"
FLOWCLI = Path(sys.executable).with_name("flowcli")


def run_example(name: str, inputs: dict[str, Any], secrets: dict[str, str] | None = None,
                events: list | None = None):
    path = EXAMPLES / name
    wf = workflow_file.load(path)
    assert wf.description, f"{name} has no description"
    runner = Runner(Registry.discover(plugins=False), secrets=MappingSecrets(secrets or {}))
    return asyncio.run(runner.run(wf, inputs, base_dir=path.parent,
                                  subscribers=(events.append,) if events is not None else ()))


def test_hello_fetches_parses_and_logs(http_server):
    events: list = []
    result = run_example("hello.flow.json", {"url": http_server.url + "/json"}, events=events)
    assert result.status == "completed", result.error
    assert result.outputs == {"data": {"ok": True, "items": [1, 2, 3], "name": "flowui"}}
    [log] = [e for e in events if e.name == "node_log"]
    assert json.loads(log.message) == result.outputs["data"]


def test_hello_through_flowcli(http_server):
    r = subprocess.run([str(FLOWCLI), "run", str(EXAMPLES / "hello.flow.json"), "--events",
                        "none", "--input", f"url={http_server.url}/json"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["outputs"]["data"]["name"] == "flowui"
    assert '"name": "flowui"' in r.stderr  # debug.log's text


def test_parallel_requests_run_at_once_and_merge_in_wiring_order(http_server):
    events: list = []
    result = run_example("parallel_requests.flow.json", {"base_url": http_server.url},
                         events=events)
    assert result.status == "completed", result.error
    base = http_server.url
    assert result.outputs == {"urls": [f"{base}/anything/one?n=1", f"{base}/anything/two?n=2",
                                       f"{base}/anything/three?n=3"], "count": 3}
    requests = [(e.name, e.node_id) for e in events
                if e.name in ("node_started", "node_completed") and e.node_id.startswith("get_")]
    # all three were sent before any answer was handled: they ran concurrently
    assert [name for name, _ in requests[:3]] == ["node_started"] * 3
    inspected = next(e for e in events if e.name == "node_completed" and e.node_id == "inspect")
    assert inspected.outputs["summary"]["type"] == "array"
    assert inspected.outputs["summary"]["size"] == 3


def test_llm_summary_with_a_local_compatible_server(http_server):
    result = run_example("llm_summary.flow.json",
                         {"base_url": http_server.url + "/v1", "text": "Cats sleep a lot."},
                         secrets={"OPENAI_API_KEY": "sk-example"})
    assert result.status == "completed", result.error
    assert result.outputs["summary"] == "Summary: Summarise this text:\n\nCats sleep a lot."
    assert result.outputs["usage"]["total_tokens"] == result.outputs["usage"]["prompt_tokens"] + 3
    [seen] = http_server.requests
    assert seen["headers"]["Authorization"] == "Bearer sk-example"
    assert seen["json"]["model"] == "gpt-4o-mini" and seen["json"]["max_tokens"] == 200
    assert seen["json"]["messages"][0]["role"] == "system"


def test_llm_summary_without_the_secret_is_invalid(http_server):
    result = run_example("llm_summary.flow.json", {"base_url": http_server.url + "/v1"})
    assert result.error["type"] == "validation"
    assert "OPENAI_API_KEY" in result.error["message"]
    assert not http_server.hits


def test_examples_are_saved_in_canonical_form():
    for name in ("hello", "parallel_requests", "llm_summary", "if_else"):
        text = (EXAMPLES / f"{name}.flow.json").read_text(encoding="utf-8")
        assert workflow_file.dumps(workflow_file.loads(text)) == text, name
