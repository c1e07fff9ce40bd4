"""Fuzzing the command line with hostile workflow files: mutations of the example
files and of generated workflows. Whatever the file holds, `flowcli validate` and
`flowcli run` end with exit 0, 1 or 2, a message instead of a traceback, and in
bounded time.

A few hundred cases run in the suite; `FLOWUI_FUZZ_EXAMPLES=5000` runs more. The
commands run in this process (`run_command`, the same code path as the console
script, minus process start-up, so hundreds of cases fit in seconds); a handful also
run through the real `flowcli` process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.cli import run_command

ROOT = Path(__file__).parents[2]
EXAMPLES = sorted((ROOT / "resources" / "examples").glob("*.flow.json"))
FLOWCLI = Path(sys.executable).with_name("flowcli")
EXAMPLE_COUNT = int(os.environ.get("FLOWUI_FUZZ_EXAMPLES", "150"))
# Node types that reach the network or wait on purpose: validated, not run.
NOT_RUN = ("http.request", "llm.chat", "time.delay", "time.interval")
RAW = "\ue000RAW\ue000"  # replaced by a raw token after serialising (NaN, 10**5000, ...)

FUZZ = settings(max_examples=EXAMPLE_COUNT, deadline=None, derandomize=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])

# --- what a hostile file may hold -----------------------------------------------------------

RAW_TOKENS = st.sampled_from([
    "NaN", "Infinity", "-Infinity", "1e999", "-1e999", "9" * 5000, "0." + "1" * 3000,
    '"\\ud800"', '"\\udfff\\ud800"', '"a\\u0000b"', "[" * 3000 + "]" * 3000,
    '{"a":' * 400 + "1" + "}" * 400, "[" * 70 + "]" * 70, "1E+400", "-0", "1e-400",
])
TEMPLATES = st.sampled_from([
    "{{ 'x' * 10**9 }}", "{{ range(10**9) | list }}", "{{ ''.__class__.__mro__ }}",
    "{{ '{0:{1}}'.format('x', '1500000000') }}", "{{ inputs }}", "{{ secrets.NOPE }}",
    "{{ range }}", "{{ dict.fromkeys(range(100000), 'x' * 100000) }}", "{{ 1/0 }}",
    "{{ inputs.missing.deeper }}", "{{", "}}", "{% for %}", "{{ 10**10**10 }}",
    "{{ loop }}", "{{ self }}", "{{ cycler }}", "{{ lipsum() }}", "{{ ports | tojson }}",
])
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-10**20, 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40), st.text(alphabet="{}[]%.:'\"\\ \n\t", max_size=30), TEMPLATES,
    st.sampled_from([1_000, 200_000]).map(lambda n: "x" * n),  # (a short repr in reports)
    st.sampled_from(["", "../../../../etc/passwd", "/dev/zero", "~/.ssh/id_rsa",
                     "http://127.0.0.1:9/", "no such node.port", "a.b", "🙂" * 50]),
)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12)
NODE_TYPES = st.sampled_from([
    "flow.constant", "flow.input", "flow.output", "debug.log", "debug.inspect",
    "transform.template", "transform.select", "transform.json_parse",
    "transform.json_stringify", "control.if", "control.merge", "control.for_each",
    "control.loop", "flow.subworkflow", "file.read", "file.write", "code.complexity",
    "no.such_type", "", "http.request", "llm.chat", "time.delay",
])


@st.composite
def generated(draw: st.DrawFn) -> dict[str, Any]:
    """A workflow made up from scratch: random node types, configs and wires."""
    count = draw(st.integers(0, 6))
    ids = draw(st.lists(st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True),
                        min_size=count, max_size=count))
    nodes = [{"id": node_id, "type": draw(NODE_TYPES),
              "position": [draw(st.integers(-5000, 5000)), draw(st.integers(-5000, 5000))],
              "config": draw(st.dictionaries(
                  st.sampled_from(["value", "message", "template", "condition", "path",
                                   "text", "body", "name", "query", "items", "seconds",
                                   "max_iterations", "url", "subgraph", "max_bytes"]),
                  VALUES, max_size=3))} for node_id in ids]
    ports = ["value", "message", "text", "result", "json", "parsed", "items", "true", "path"]
    wires = [{"from": f"{draw(st.sampled_from(ids))}.{draw(st.sampled_from(ports))}",
              "to": f"{draw(st.sampled_from(ids))}.{draw(st.sampled_from(ports))}"}
             for _ in range(draw(st.integers(0, 6)))] if ids else []
    data: dict[str, Any] = {"format": "flowui-workflow", "version": 1, "name": "fuzz",
                            "nodes": nodes, "connections": wires}
    if draw(st.booleans()):
        data["subgraphs"] = {"body": {"nodes": [{"id": "i", "type": "flow.input",
                                                 "config": {"name": "item"}}],
                                      "connections": []}}
    if draw(st.booleans()):
        data["settings"] = draw(st.dictionaries(
            st.sampled_from(["timeout_s", "max_parallel", "max_iterations", "on_error"]),
            VALUES, max_size=2))
    return data


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


def _replace(data: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(data, dict):
        return {**data, head: _replace(data[head], rest, new)}
    copy = list(data)
    copy[head] = _replace(copy[head], rest, new)
    return copy


@st.composite
def hostile_text(draw: st.DrawFn) -> str:
    """A workflow file's text: an example or a generated workflow, mutated."""
    if draw(st.booleans()):
        data = json.loads(draw(st.sampled_from(EXAMPLES)).read_text())
    else:
        data = draw(generated())
    for _ in range(draw(st.integers(0, 3))):  # values replaced anywhere in the document
        path = draw(st.sampled_from(_paths(data)))
        data = _replace(data, path, draw(st.one_of(VALUES, st.just(RAW))))
    text = json.dumps(data, ensure_ascii=False)
    while f'"{RAW}"' in text:  # a raw token where JSON has a value
        text = text.replace(f'"{RAW}"', draw(RAW_TOKENS), 1)
    for _ in range(draw(st.integers(0, 2))):  # the text itself cut, doubled or salted
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 40)))
        text = draw(st.sampled_from([
            text[:i] + text[j:], text[:j] + text[i:j] + text[j:],
            text[:i] + draw(st.text(max_size=8)) + text[i:]]))
    return text


# --- the property ------------------------------------------------------------------------------

def _command(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, float]:
    started = time.monotonic()
    code = run_command(list(args))
    out = capsys.readouterr()
    return code, out.out + out.err, time.monotonic() - started


def _runnable(text: str) -> bool:
    return not any(f'"{t}"' in text for t in NOT_RUN)


@pytest.mark.timeout(max(120, EXAMPLE_COUNT))  # up to 1 s a case, for long local runs
@FUZZ
@given(text=hostile_text())
def test_any_file_validates_and_runs_to_a_clear_end(capsys, text):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.flow.json"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        commands = [("validate", str(path))]
        if _runnable(text):
            commands.append(("run", str(path), "--events", "none", "--timeout", "5"))
        for args in commands:
            code, said, took = _command(capsys, *args)
            assert code in (0, 1, 2), (args[0], code, said[-3000:])
            assert "Traceback" not in said and "internal error" not in said, said[-3000:]
            assert took < 20, (args[0], took)


CASES = [
    '{"format": "flowui-workflow", "version": 1, "nodes": [' + "[" * 5000 + "]" * 5000 + "]}",
    '{"format": "flowui-workflow", "version": 1, "nodes": [{"id": "a", "type": "debug.log", '
    '"position": [NaN, Infinity], "config": {}}], "connections": []}',
    '{"format": "flowui-workflow", "version": 1, "nodes": [{"id": "a", "type": "flow.constant"'
    ', "config": {"value": ' + "9" * 10_000 + '}}], "connections": []}',
    '{"format": "flowui-workflow", "version": 1, "nodes": [{"id": "a", "type": "flow.constant"'
    ', "config": {"value": "{{ \'x\' * 10**9 }}"}}], "connections": []}',
    "\ufeff{",
    "",
]


@pytest.mark.parametrize("text", CASES, ids=range(len(CASES)))
def test_the_real_process_ends_clearly_too(tmp_path, text):
    path = tmp_path / "fuzz.flow.json"
    path.write_text(text, encoding="utf-8")
    for command in ("validate", "run"):
        r = subprocess.run([str(FLOWCLI), command, str(path)], capture_output=True, text=True,
                           timeout=60)
        expected = (0, 1, 2) if command == "validate" else (1, 2)  # none of them completes
        assert r.returncode in expected, (command, r.returncode, r.stderr[-2000:])
        assert "Traceback" not in r.stderr + r.stdout
