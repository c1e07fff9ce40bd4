"""Hostile or broken input gets a clear error (exit 2, the place named), never a
traceback, a hang or a process out of memory: workflow files, `--input`,
`--inputs-file`, `--trigger-payload`, sub-workflow paths, and new files' modes.
Through the real `flowcli` process, as a user meets them."""

from __future__ import annotations

import json
import math
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine import WorkflowFileError, dumps, loads, save
from engine.support import bounded_json
from engine.support.atomic import write_text_atomic
from engine.workflow.file import from_data
from engine.workflow.model import NodeSpec

FLOWCLI = Path(sys.executable).with_name("flowcli")
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs, signals, umask")


def flowcli(*args: str | Path, timeout: float = 30, env: dict | None = None,
            **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(FLOWCLI), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, **kw)


def workflow(*nodes: dict, connections: list | None = None) -> dict:
    return {"format": "flowui-workflow", "version": 1, "name": "hostile",
            "nodes": list(nodes), "connections": connections or []}


def log_node(message: object = "hi", **extra: object) -> dict:
    return {"id": "a", "type": "debug.log", "position": [0, 0],
            "config": {"message": message}, **extra}


def nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


def refused(r: subprocess.CompletedProcess[str], *words: str) -> None:
    said = r.stderr + r.stdout  # `validate` lists problems on stdout
    assert r.returncode == 2, (r.returncode, said[-2000:])
    assert "Traceback" not in said and "internal error" not in said, said[-2000:]
    for word in words:
        assert word in said, (word, said[-2000:])


# --- the workflow file ---------------------------------------------------------------------

CONFIG = '"config": {"message": "hi"}'
BAD_FILES = {
    # name: (text replacing the config, words the message must hold)
    "json nested 1,000 deep": (f'"config": {{"message": {nested(1000)}}}',
                               ["line 1, column", "nested deeper than the limit of 64"]),
    "json nested 100,000 deep": (f'"config": {{"message": {nested(100_000)}}}',
                                 ["nested deeper than the limit"]),
    "config nested 330 deep": (f'"config": {{"message": {nested(330)}}}',
                               ["nested deeper than the limit"]),
    "object nested 200 deep": ('"config": ' + '{"a": ' * 200 + "1" + "}" * 200,
                               ["nested deeper than the limit"]),
    "integer of 5,000 digits": ('"config": {"message": ' + "7" * 5000 + "}",
                                ["an integer of more than 100 digits", "line 1, column"]),
    "integer of 101 digits": ('"config": {"message": [-' + "3" * 101 + "]}",
                              ["an integer of more than 100 digits",
                               "nodes[0].config.message[0]"]),
    "NaN": ('"config": {"message": NaN}', ["NaN is not allowed"]),
    "Infinity": ('"config": {"message": [1, -Infinity]}', ["-Infinity is not allowed"]),
    "overflowing float": ('"config": {"message": 1e999}', ["Infinity is not allowed",
                                                          "nodes[0].config.message"]),
    "lone surrogate": ('"config": {"message": "a\\ud800b"}', ["lone UTF-16 surrogate",
                                                             "message"]),
    "lone low surrogate key": ('"config": {"\\udc00": 1}', ["lone UTF-16 surrogate"]),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_a_bad_workflow_file_is_a_clear_error_that_names_the_place(tmp_path, name):
    text, words = BAD_FILES[name]
    good = json.dumps(workflow(log_node()))
    assert CONFIG in good
    path = tmp_path / "bad.flow.json"
    path.write_text(good.replace(CONFIG, text))
    for command in ("validate", "run"):
        refused(flowcli(command, path), f"{path.name}: cannot load workflow", *words)


def test_positions_must_be_finite_numbers_on_the_canvas(tmp_path):
    for position in ("[NaN, Infinity]", "[1e308, 0]", "[0, -20000000]"):
        path = tmp_path / "pos.flow.json"
        path.write_text(json.dumps(workflow(log_node())).replace('"position": [0, 0]',
                                                                  f'"position": {position}'))
        refused(flowcli("validate", path), "cannot load workflow")
    # The editor builds workflows in memory: the same limits hold there, so what it
    # holds can always be saved.
    with pytest.raises(WorkflowFileError, match="NaN"):
        from_data(workflow(log_node(position=[math.nan, 0])))
    with pytest.raises(ValueError):
        NodeSpec(id="a", type="debug.log", position=(math.inf, 0))


def test_data_built_in_memory_meets_the_same_limits(tmp_path):
    deep: object = "x"
    for _ in range(100):
        deep = {"k": deep}
    with pytest.raises(WorkflowFileError, match=r"node|nodes\[0\]\.config\.message\.k"):
        from_data(workflow(log_node(deep)))
    # ... and what loads saves and loads back unchanged
    ok = loads(json.dumps(workflow(log_node({"k": [1.5, None, "é😀"]}))))
    save(ok, tmp_path / "ok.flow.json")
    assert loads((tmp_path / "ok.flow.json").read_text()) == ok
    assert dumps(ok) == (tmp_path / "ok.flow.json").read_text()


def test_millions_of_tiny_nodes_are_refused_before_they_are_built(tmp_path):
    from engine.workflow.file import MAX_NODES

    text = json.dumps(workflow(*({"id": f"n{i}", "type": "x"} for i in range(MAX_NODES + 1))))
    path = tmp_path / "many.flow.json"
    path.write_text(text)
    refused(flowcli("validate", path), f"{MAX_NODES + 1:,} nodes in all: more than the limit")
    # the wrong format is named, but not quoted at length
    path.write_text(json.dumps({"format": "x" * 100_000}))
    r = flowcli("validate", path)
    refused(r, "this is not a FlowUI workflow")
    assert len(r.stderr) < 500


def test_millions_of_tiny_values_are_refused_before_they_are_built(tmp_path):
    path = tmp_path / "values.flow.json"
    path.write_text('{"format": "flowui-workflow", "version": 1, "nodes": [], "ui": {"n": ['
                    + "{}," * 3_000_000 + "{}]}}")
    started = time.monotonic()
    refused(flowcli("validate", path), "more than 1,000,000 values")
    assert time.monotonic() - started < 10
    # commas inside strings are not values
    path.write_text(json.dumps({**workflow(log_node("," * 3_000_000))}))
    r = flowcli("validate", path)
    assert r.returncode == 0, r.stderr


@posix_only
def test_command_line_text_that_is_not_utf8_is_refused(tmp_path):
    flow = tmp_path / "in.flow.json"
    flow.write_text(json.dumps({**workflow(log_node("{{ inputs.x }}")),
                                "inputs": {"x": {"type": "string"}}}))
    r = subprocess.run([str(FLOWCLI), "run", str(flow), "--input", b"x=\xff\xed\xa0\x80"],
                       capture_output=True, timeout=30)
    assert r.returncode == 2, r
    said = r.stderr.decode("utf-8", "replace")
    assert "--input x: character 0 is not UTF-8 text" in said and "Traceback" not in said


def test_many_nodes_naming_one_big_sub_workflow_read_it_once(tmp_path):
    (tmp_path / "big.flow.json").write_text(json.dumps(workflow(*(
        {"id": f"c{i}", "type": "flow.constant", "config": {"value": i}}
        for i in range(20_000)))))
    main = tmp_path / "main.flow.json"
    main.write_text(json.dumps(workflow(*(
        {"id": f"s{i}", "type": "flow.subworkflow", "config": {"path": "big.flow.json"}}
        for i in range(40)))))
    started = time.monotonic()
    r = flowcli("validate", main)
    assert r.returncode == 0, r.stdout + r.stderr
    assert time.monotonic() - started < 8  # read once: ~1 s; once per check: ~25 s


def _fan_out(folder: Path, levels: int, width: int) -> Path:
    """Files f0..f<levels>; each runs the next `width` times (3**40 bodies in all)."""
    for i in range(levels + 1):
        calls = [{"id": f"s{j}", "type": "flow.subworkflow",
                  "config": {"path": f"f{i + 1}.flow.json"}} for j in range(width)]
        (folder / f"f{i}.flow.json").write_text(json.dumps(workflow(
            {"id": "c", "type": "flow.constant", "config": {"value": 1}},
            *(calls if i < levels else []))))
    return folder / "f0.flow.json"


def test_sub_workflows_that_fan_out_end_with_a_clear_error(tmp_path):
    first = _fan_out(tmp_path, 40, 3)
    started = time.monotonic()
    r = flowcli("run", first, "--events", "none", timeout=60)
    assert r.returncode == 1, r.stderr[-2000:]
    assert "bodies would run at once" in r.stdout or "bodies (loop" in r.stdout, r.stdout[-2000:]
    assert time.monotonic() - started < 30


def test_validation_of_many_nodes_reaching_many_files_stays_quick(tmp_path):
    _fan_out(tmp_path, 40, 2)  # 41 files: more than a small cache of loaded files holds
    main = tmp_path / "main.flow.json"
    main.write_text(json.dumps(workflow(*(
        {"id": f"s{i}", "type": "flow.subworkflow", "config": {"path": "f0.flow.json"}}
        for i in range(1500)))))
    started = time.monotonic()
    r = flowcli("validate", main, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert time.monotonic() - started < 10  # ~1.3 s; was ~15 s, growing with the nodes


def test_the_limits_leave_real_workflows_alone():
    value = bounded_json.loads(nested(bounded_json.MAX_DEPTH - 1))
    assert value is not None
    assert bounded_json.loads('{"n": ' + "9" * 100 + ', "s": "\\ud83d\\ude00"}')["s"] == "😀"
    assert bounded_json.loads("0." + "3" * 10_000) == 1 / 3  # long, but a finite number
    with pytest.raises(bounded_json.JsonLimitError) as e:
        bounded_json.loads("{oops")
    assert e.value.syntax


@posix_only
def test_special_files_are_never_read(tmp_path):
    fifo = tmp_path / "fifo.flow.json"
    os.mkfifo(fifo)
    started = time.monotonic()
    refused(flowcli("validate", fifo, timeout=10), "FIFO (named pipe), not a regular file")
    refused(flowcli("run", "/dev/zero", timeout=10), "character device")
    # a sub-workflow naming a FIFO or /dev/zero: validation neither hangs nor grows
    flow = tmp_path / "sub.flow.json"
    for path in (str(fifo), "/dev/zero", "/dev/urandom"):
        flow.write_text(json.dumps(workflow({"id": "s", "type": "flow.subworkflow",
                                             "config": {"path": path}})))
        r = flowcli("validate", flow, timeout=10, env={"FLOWUI_FILE_ROOTS": "/"})
        refused(r, "node 's'", "not a regular file")
    assert time.monotonic() - started < 15


def test_a_workflow_file_over_the_size_limit_is_refused_unread(tmp_path):
    big = tmp_path / "big.flow.json"
    with open(big, "wb") as f:  # sparse: 65 MB that take no disk and no time
        f.truncate(65 * 1024 * 1024)
    refused(flowcli("validate", big), "larger than the limit of 64 MB")


# --- inputs and trigger payloads -------------------------------------------------------------

@pytest.mark.parametrize("value,words", [
    (nested(5000), ["--input x", "nested deeper than the limit"]),
    ("1" * 5000, ["--input x", "an integer of more than 100 digits"]),
    ("[NaN]", ["--input x", "NaN is not allowed"]),
    ('{"a": Infinity}', ["--input x", "Infinity is not allowed"]),
    ('"\\udfff"', ["--input x", "lone UTF-16 surrogate"]),
])
def test_bad_input_values_are_clear_errors(tmp_path, value, words):
    flow = tmp_path / "in.flow.json"
    flow.write_text(json.dumps({**workflow(log_node("{{ inputs.x }}")),
                                "inputs": {"x": {"type": "any"}}}))
    refused(flowcli("run", flow, "--input", f"x={value}"), *words)
    data = tmp_path / "inputs.json"
    data.write_text('{"x": ' + value + "}")
    refused(flowcli("run", flow, "--inputs-file", data), f"--inputs-file {data}")
    refused(flowcli("run", flow, "--trigger-payload", '{"body": ' + value + "}"),
            "--trigger-payload")
    refused(flowcli("run", flow, "--trigger-payload", f"@{data}"), f"--trigger-payload {data}")


@pytest.mark.parametrize("payload,words", [
    ('{"headers": "x"}', "'headers' must be an object of header texts"),
    ('{"query": [1]}', "'query' must be an object of query texts"),
    ('{"method": 7}', "'method' must be a method"),
    ('{"headers": {"a": {"b": 1}}}', "headers.a must be text"),
])
def test_a_trigger_payload_of_the_wrong_shape_is_a_clear_error(payload, words):
    echo = Path(__file__).parents[2] / "resources" / "examples" / "webhook_echo.flow.json"
    refused(flowcli("run", echo, "--trigger-payload", payload), "--trigger-payload", words)


def test_an_input_default_of_the_wrong_type_is_a_validation_problem(tmp_path):
    flow = tmp_path / "d.flow.json"
    flow.write_text(json.dumps({**workflow(log_node()), "inputs": {
        "n": {"type": "integer", "default": "abc"}, "ok": {"type": "integer", "default": 3}}}))
    r = flowcli("validate", flow)
    refused(r, "input 'n': its default 'abc' is not integer")
    assert "'ok'" not in r.stdout


@posix_only
def test_an_inputs_file_that_is_a_fifo_is_refused_at_once(tmp_path):
    flow = tmp_path / "in.flow.json"
    flow.write_text(json.dumps(workflow(log_node())))
    fifo = tmp_path / "inputs.json"
    os.mkfifo(fifo)
    refused(flowcli("run", flow, "--inputs-file", fifo, timeout=10), "not a regular file")
    refused(flowcli("run", flow, "--trigger-payload", f"@{fifo}", timeout=10),
            "not a regular file")


# --- what a run produced is always written as valid JSON ----------------------------------------

def strict_json(text: str) -> object:
    def refuse(name: str) -> object:
        raise AssertionError(f"{name} in the output: not JSON")
    return json.loads(text, parse_constant=refuse)


def test_values_json_cannot_carry_are_written_as_valid_json(tmp_path):
    values = {"inf": "{{ run.id|length * 1e308 * 10 }}", "nan": "{{ (run.id|length * 1e308 * 10)"
              " - (run.id|length * 1e308 * 10) }}", "surrogate": "{{ 'a\\ud800b' }}",
              "tuple_key": "{{ {(1, 2): 3} }}", "pair": "{{ '\\ud83d\\ude00' }}",
              "big_int": "{{ {'a': 10**5000} }}"}
    flow = tmp_path / "odd.flow.json"
    flow.write_text(json.dumps(workflow(*({"id": k, "type": "flow.constant",
                                           "config": {"value": v}} for k, v in values.items()))))
    r = flowcli("run", flow, "--events", "jsonl", "--output", tmp_path / "out.json")
    assert r.returncode == 0, r.stderr
    for line in r.stdout.splitlines():
        strict_json(line)
    out = strict_json((tmp_path / "out.json").read_text(encoding="utf-8"))["outputs"]
    assert out == {"inf": {"value": None}, "nan": {"value": None},
                   "surrogate": {"value": "a\ufffdb"}, "tuple_key": {"value": {"(1, 2)": 3}},
                   "pair": {"value": "😀"},
                   "big_int": {"value": {"a": "<an integer of about 5,000 digits>"}}}


# --- a run blocked in a thread ends on Ctrl-C -------------------------------------------------

BLOCKING_PLUGIN = '''
import time
from engine import function_node

@function_node("acme.stuck", title="Stuck")
def stuck(seconds: float = 60.0) -> str:
    """Blocks its worker thread, as a read from a hung network drive does."""
    time.sleep(seconds)
    return "woke"
'''


@posix_only
def test_ctrl_c_ends_a_run_blocked_in_a_thread_within_a_second(tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "acme.py").write_text(BLOCKING_PLUGIN)
    flow = tmp_path / "stuck.flow.json"
    flow.write_text(json.dumps(workflow({"id": "s", "type": "acme.stuck"})))
    proc = subprocess.Popen([str(FLOWCLI), "run", str(flow), "--events", "jsonl"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "FLOWUI_PLUGINS": str(plugins)})
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # until the node is inside its blocking call
            if json.loads(line)["event"] == "node_started":
                break
        time.sleep(0.2)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        code = proc.wait(10)
        took = time.monotonic() - sent
    finally:
        proc.kill()
        proc.wait()
    assert code == 130 and took < 1.5, (code, took, proc.stderr.read() if proc.stderr else "")


# --- new files get the mode the umask gives ------------------------------------------------------

@posix_only
@pytest.mark.parametrize("umask,expected", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_new_files_get_the_mode_the_umask_gives(tmp_path, umask, expected):
    old = os.umask(umask)
    try:
        write_text_atomic(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == expected
    # an existing file keeps its own mode; an explicit mode wins
    os.chmod(tmp_path / "a.txt", 0o640)
    write_text_atomic(tmp_path / "a.txt", "y")
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o640
    write_text_atomic(tmp_path / "b.txt", "z", mode=0o600)
    assert stat.S_IMODE((tmp_path / "b.txt").stat().st_mode) == 0o600


@posix_only
def test_output_and_written_files_follow_the_umask(tmp_path):
    flow = tmp_path / "w.flow.json"
    flow.write_text(json.dumps(workflow({"id": "w", "type": "file.write",
                                         "config": {"path": "out.txt", "text": "hello"}})))
    r = flowcli("run", flow, "--events", "none", "--output", tmp_path / "result.json",
                preexec_fn=lambda: os.umask(0o022))
    assert r.returncode == 0, r.stderr
    for name in ("out.txt", "result.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644, name
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
