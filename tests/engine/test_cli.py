"""`flowcli` end to end, run as a user runs it: a real subprocess, real files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
FLOWCLI = Path(sys.executable).with_name("flowcli")
HELLO = ROOT / "resources" / "examples" / "if_else.flow.json"


def flowcli(*args: str, timeout: float = 60, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(FLOWCLI), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, **kw)


def write_flow(tmp_path: Path, nodes: list, connections: list = (), name: str = "t.flow.json",
               **extra) -> Path:
    data = {"format": "flowui-workflow", "version": 1, "name": "test", "nodes": nodes,
            "connections": [{"from": a, "to": b} for a, b in connections], **extra}
    p = tmp_path / name
    p.write_text(json.dumps(data), encoding="utf-8")
    return p


def test_run_prints_result_object_on_stdout():
    r = flowcli("run", HELLO, "--events", "none")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert set(result) == {"run_id", "status", "outputs", "error", "failed_node", "node_errors",
                           "duration_ms"}
    assert result["status"] == "completed" and result["outputs"]["name"] == "world"
    assert "Hello, world!" in r.stderr  # debug.log text goes to stderr


def test_jsonl_stdout_holds_only_events_with_run_completed_last():
    r = flowcli("run", HELLO, "--events", "jsonl", "--input", "name=Ada")
    assert r.returncode == 0, r.stderr
    events = [json.loads(line) for line in r.stdout.splitlines()]
    assert events[0]["event"] == "run_started" and events[-1]["event"] == "run_completed"
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert all(set(e) >= {"event", "run_id", "seq", "ts"} for e in events)
    assert events[-1]["status"] == "completed"
    assert events[-1]["outputs"]["name"] == "Ada"


def test_a_disabled_node_is_skipped_with_what_needs_it(tmp_path):
    """FORMAT.md: disabled nodes are skipped; a required input left skipped skips too."""
    flow = write_flow(tmp_path, [
        {"id": "a", "type": "flow.constant", "config": {"value": 2}},
        {"id": "off", "type": "debug.log", "disabled": True},
        {"id": "after", "type": "debug.log"},
        {"id": "kept", "type": "flow.output", "config": {"name": "kept"}},
        {"id": "lost", "type": "flow.output", "config": {"name": "lost"}}],
        [("a.value", "off.message"), ("off.value", "after.message"),
         ("after.value", "lost.value"), ("a.value", "kept.value")])
    r = flowcli("run", flow, "--events", "jsonl", "--no-store")
    assert r.returncode == 0, r.stderr
    events = [json.loads(line) for line in r.stdout.splitlines()]
    skipped = {e["node_id"]: e["reason"] for e in events if e["event"] == "node_skipped"}
    assert skipped == {"off": "disabled", "after": "upstream_skipped",
                       "lost": "upstream_skipped"}
    assert events[-1]["outputs"] == {"kept": 2}


def test_output_file_gets_the_result_and_stdout_stays_empty(tmp_path):
    out = tmp_path / "result.json"
    r = flowcli("run", HELLO, "--events", "none", "--output", out)
    assert r.returncode == 0 and r.stdout == ""
    assert json.loads(out.read_text())["status"] == "completed"


def test_inputs_are_typed_by_their_declaration(tmp_path):
    flow = write_flow(tmp_path, [
        {"id": "o", "type": "flow.constant", "config": {"value": {
            "n": "{{ inputs.n }}", "s": "{{ inputs.s }}", "u": "{{ inputs.u }}",
            "t": "{{ inputs.t }}", "obj": "{{ inputs.obj }}"}}}],
        inputs={"n": {"type": "number"}, "s": {"type": "string"}, "obj": {"type": "object"}})
    r = flowcli("run", flow, "--events", "none", "--input", "n=20", "--input", "s=20",
                "--input", "u=[1, 2]", "--input", "t=hello=world", "--input", 'obj={"a": 1}')
    assert r.returncode == 0, r.stderr
    value = json.loads(r.stdout)["outputs"]["o"]["value"]
    assert value == {"n": 20, "s": "20", "u": [1, 2], "t": "hello=world", "obj": {"a": 1}}


def test_inputs_file_and_flag_precedence(tmp_path):
    flow = write_flow(tmp_path, [{"id": "o", "type": "flow.constant",
                                  "config": {"value": "{{ inputs.a }}-{{ inputs.b }}"}}],
                      inputs={"a": {"type": "string"}, "b": {"type": "integer"}})
    f = tmp_path / "in.json"
    f.write_text(json.dumps({"a": "file", "b": 1}))
    r = flowcli("run", flow, "--events", "none", "--inputs-file", f, "--input", "a=flag")
    assert json.loads(r.stdout)["outputs"]["o"]["value"] == "flag-1"


@pytest.mark.parametrize(("args", "message"), [
    (["--input", "n=abc"], "'abc' is not a JSON number"),
    (["--input", 'n="ten"'], "input 'n' must be number, got string"),
    ([], "required input 'n' (number) has no value"),
    (["--input", "novalue"], "write it as NAME=VALUE"),
])
def test_bad_inputs_exit_2_with_clear_message(tmp_path, args, message):
    flow = write_flow(tmp_path, [{"id": "o", "type": "flow.constant",
                                  "config": {"value": "{{ inputs.n }}"}}],
                      inputs={"n": {"type": "number"}})
    r = flowcli("run", flow, *args)
    assert r.returncode == 2
    assert message in r.stderr and r.stdout == ""


def test_invalid_workflow_exits_2_listing_every_problem(tmp_path):
    flow = write_flow(tmp_path, [{"id": "a", "type": "flow.nope"},
                                 {"id": "b", "type": "time.delay", "config": {"seconds": -1}},
                                 {"id": "c", "type": "debug.log"}])
    for cmd in ("run", "validate"):
        r = flowcli(cmd, flow)
        assert r.returncode == 2
        text = r.stdout + r.stderr
        assert "3 problems" in text
        assert "node 'a', type: unknown node type 'flow.nope'" in text
        assert "node 'b', config.seconds" in text
        assert "node 'c', inputs.message: required input 'message'" in text


def test_broken_file_exits_2_with_place(tmp_path):
    p = tmp_path / "broken.flow.json"
    p.write_text('{"format": "flowui-workflow",\n "version": 1,\n "nodes": [}')
    r = flowcli("run", p)
    assert r.returncode == 2 and "line 3, column 12" in r.stderr and "Traceback" not in r.stderr
    r = flowcli("run", tmp_path / "missing.flow.json")
    assert r.returncode == 2 and "cannot read the file" in r.stderr


def test_failed_run_exits_1_with_error_in_result(tmp_path):
    flow = write_flow(tmp_path, [
        {"id": "c", "type": "flow.constant", "config": {"value": "not json"}},
        {"id": "p", "type": "transform.json_parse"}], [("c.value", "p.json")])
    r = flowcli("run", flow, "--events", "pretty")
    assert r.returncode == 1
    result = json.loads(r.stdout)
    assert result["status"] == "failed" and result["failed_node"] == "p"
    assert "not valid JSON" in result["error"]["message"]
    assert "failed" in r.stderr and "p" in r.stderr  # the summary says what failed


def test_timeout_flag_fails_the_run(tmp_path):
    flow = write_flow(tmp_path, [{"id": "d", "type": "time.delay", "config": {"seconds": 30}}])
    t0 = time.monotonic()
    r = flowcli("run", flow, "--events", "none", "--timeout", "0.3")
    assert time.monotonic() - t0 < 20
    assert r.returncode == 1
    assert json.loads(r.stdout)["error"]["type"] == "timeout"


def test_max_parallel_flag_overrides_settings(tmp_path):
    nodes = [{"id": f"d{i}", "type": "time.delay", "config": {"seconds": 0.2}} for i in range(3)]
    flow = write_flow(tmp_path, nodes)
    t0 = time.monotonic()
    r = flowcli("run", flow, "--events", "none", "--max-parallel", "1")
    assert r.returncode == 0 and time.monotonic() - t0 >= 0.6


def test_sigint_cancels_cleanly_with_exit_130(tmp_path):
    flow = write_flow(tmp_path, [{"id": "d", "type": "time.delay", "config": {"seconds": 30}},
                                 {"id": "after", "type": "debug.log"}],
                      [("d.value", "after.message")])
    proc = subprocess.Popen([str(FLOWCLI), "run", str(flow), "--events", "jsonl"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()  # run_started: the run is under way
    assert json.loads(first)["event"] == "run_started"
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    events = [json.loads(line) for line in out.splitlines()]
    assert events[-1]["event"] == "run_completed" and events[-1]["status"] == "cancelled"
    assert any(e["event"] == "node_cancelled" and e["node_id"] == "d" for e in events)
    assert any(e["event"] == "node_skipped" and e["node_id"] == "after" for e in events)
    assert "Traceback" not in err


def test_validate_valid_file_exits_0():
    r = flowcli("validate", HELLO)
    assert r.returncode == 0 and "valid" in r.stdout
    r = flowcli("validate", HELLO, "--json")
    assert json.loads(r.stdout) == {"valid": True, "problems": []}


def test_nodes_lists_every_builtin_with_ports_and_schema():
    r = flowcli("nodes", "--json")
    assert r.returncode == 0, r.stderr
    types = {n["type"]: n for n in json.loads(r.stdout)}
    for t in ("flow.constant", "flow.input", "flow.output", "debug.log", "transform.json_parse",
              "transform.json_stringify", "control.if", "control.merge", "time.delay"):
        assert t in types
    merge = types["control.merge"]
    assert merge["inputs"][0] == {"name": "values", "type": "any", "required": True,
                                  "multiple": True, "description": ""}
    assert merge["config_schema"]["properties"]["mode"]["enum"] == ["first", "all"]
    assert merge["outputs"][-1]["name"] == "error"
    table = flowcli("nodes")
    assert table.returncode == 0 and "control.merge" in table.stdout


def test_usage_errors_exit_2():
    assert flowcli("run").returncode == 2
    assert flowcli("frobnicate").returncode == 2
    assert flowcli("run", HELLO, "--events", "loud").returncode == 2


PLUGIN = '''
from engine import function_node

@function_node("acme.shout", title="Shout", category="Acme")
def shout(text: str, times: int = 1) -> str:
    """Upper-cases text."""
    return (text.upper() + "!") * times
'''


def test_plugin_folder_nodes_are_listed_and_run(tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "acme.py").write_text(PLUGIN)
    env = {**os.environ, "FLOWUI_PLUGINS": str(plugins)}
    listed = json.loads(flowcli("nodes", "--json", env=env).stdout)
    shout = next(n for n in listed if n["type"] == "acme.shout")
    assert [p["name"] for p in shout["inputs"]] == ["text", "times"]
    assert shout["origin"].startswith("plugin ")
    flow = write_flow(tmp_path, [{"id": "s", "type": "acme.shout",
                                  "config": {"text": "hi", "times": 2}}])
    r = flowcli("run", flow, "--events", "none", env=env)
    assert json.loads(r.stdout)["outputs"] == {"s": {"result": "HI!HI!"}}


def test_duplicate_type_id_is_a_clear_error(tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "a.py").write_text(PLUGIN)
    (plugins / "b.py").write_text(PLUGIN.replace("def shout", "def shout_again"))
    r = flowcli("nodes", env={**os.environ, "FLOWUI_PLUGINS": str(plugins)})
    assert r.returncode == 2
    assert "'acme.shout' is defined twice" in r.stderr and "Traceback" not in r.stderr


def test_broken_plugin_is_reported_and_others_still_load(tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "broken.py").write_text("import nonexistent_module_xyz\n")
    r = flowcli("run", HELLO, "--events", "none",
                env={**os.environ, "FLOWUI_PLUGINS": str(plugins)})
    assert r.returncode == 0
    assert "warning" in r.stderr and "broken.py" in r.stderr
    assert "nonexistent_module_xyz" in r.stderr


def test_headless_path_never_imports_qt():
    import importlib.util

    assert importlib.util.find_spec("PySide6") is not None, "without Qt this guard means nothing"
    code = (
        "import sys, runpy\n"
        "sys.argv = ['flowcli', 'run', sys.argv[1], '--events', 'none']\n"
        "import engine, nodes, engine.cli\n"
        "try:\n"
        "    engine.cli.main()\n"
        "except SystemExit as e:\n"
        "    assert e.code == 0, e.code\n"
        "qt = ('PySide6', 'shiboken6', 'qasync', 'flowui')\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in qt)\n"
        "assert not bad, bad\n"
        "print('clean')\n"
    )
    r = subprocess.run([sys.executable, "-c", code, str(HELLO)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith("clean")
