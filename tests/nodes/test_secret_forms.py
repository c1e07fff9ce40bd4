"""A secret never leaves a run in any spelling: JSON-escaped (once or twice), as a
Python repr of its text or bytes, URL-quoted, as bytes, base64 or hex, nor cut in
half by a preview or an error message. The property test at the end pushes random
awkward secrets through a real `flowcli run` and searches every byte it produced."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from jinja2.utils import htmlsafe_json_dumps

from engine import Registry, Runner
from engine.core.preview import MAX_STR
from engine.secrets.redactor import MASK, Redactor
from engine.secrets.store import MappingSecrets
from engine.workflow.file import from_data

FLOWCLI = Path(sys.executable).with_name("flowcli")
AWKWARD = 'sk"q\\u%41+b/&c d\x01\n\'é😀<z>'


def spellings(secret: str) -> dict[str, str]:
    """How a leak would show: the forms the probe searches the output for."""
    data = secret.encode("utf-8")
    forms = {
        "raw": secret,
        "json": json.dumps(secret)[1:-1],
        "json unicode": json.dumps(secret, ensure_ascii=False)[1:-1],
        "json twice": json.dumps(json.dumps(secret))[3:-3],
        "json unicode twice": json.dumps(json.dumps(secret, ensure_ascii=False),
                                         ensure_ascii=False)[3:-3],
        "json html-safe": str(htmlsafe_json_dumps(secret))[1:-1],  # Jinja's own tojson
        "json slash-escaped": json.dumps(secret)[1:-1].replace("/", "\\/"),
        "repr": repr(secret)[1:-1],
        "ascii": ascii(secret)[1:-1],
        "repr beside quotes": repr("\"'" + secret)[4:-1],
        "bytes repr": repr(data)[2:-1],
        "quote": quote(data, safe=""),
        "quote /": quote(data),
        "quote_plus": quote_plus(data),
        # only the %XX digits lower-cased
        "quote lower": re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(),
                              quote(data, safe="")),
        "base64": base64.b64encode(data).decode(),
        "hex": data.hex(),
    }
    return forms


def leaks(secret: str, produced: str) -> list[str]:
    return [name for name, form in spellings(secret).items() if form in produced]


# --- the redactor ----------------------------------------------------------------------


@pytest.mark.parametrize("name", list(spellings(AWKWARD)))
def test_every_spelling_of_a_secret_is_masked(name):
    form = spellings(AWKWARD)[name]
    masked = Redactor([AWKWARD]).text(f"before {form} after")
    assert masked == f"before {MASK} after"


def test_json_inside_json_and_json_in_a_url_are_masked():
    r = Redactor([AWKWARD])
    nested = json.dumps({"outer": json.dumps({"inner": AWKWARD})})
    assert not leaks(AWKWARD, r.text(nested))
    assert r.text(quote(json.dumps(AWKWARD))) == quote('"') + MASK + quote('"')
    assert not leaks(AWKWARD, r.text(json.dumps(repr(AWKWARD.encode()))))


def test_base64_of_a_value_holding_the_secret_is_masked_at_any_offset():
    r = Redactor([AWKWARD])
    for user in ("u", "us", "use"):  # e.g. HTTP basic auth: base64("user:secret")
        encoded = base64.b64encode(f"{user}:{AWKWARD}".encode()).decode()
        masked = r.text(encoded)
        # what is left: the characters of `user:` (and one that mixes in its bits),
        # one that mixes in the bits after the secret, the padding
        head, tail = masked.split(MASK)
        assert len(head) <= -(-(len(user) + 1) * 4 // 3) and len(tail) <= 3


def test_scrub_masks_bytes_sets_tuples_keys_and_exceptions():
    r = Redactor([AWKWARD])
    data = AWKWARD.encode()
    value = {AWKWARD: [b"x" + data, bytearray(data), (AWKWARD,), {AWKWARD}, frozenset([data])],
             data: ValueError(f"bad token {AWKWARD!r}"), "n": 1, "ok": None}
    out = r.scrub(value)
    assert out == {MASK: [b"x" + MASK.encode(), bytearray(MASK.encode()), (MASK,), {MASK},
                          frozenset([MASK.encode()])],
                   MASK.encode(): f"bad token '{MASK}'", "n": 1, "ok": None}
    assert type(out[MASK][1]) is bytearray
    assert not leaks(AWKWARD, repr(out))


def test_a_secret_that_reads_as_a_number_is_masked_in_numbers():
    assert Redactor(["20260412"]).scrub({"pin": 20260412, "other": 7}) == \
        {"pin": MASK, "other": 7}


def test_cut_masks_a_secret_across_the_cut_whole():
    r = Redactor([AWKWARD])
    text = "x" * (MAX_STR - 3) + json.dumps(AWKWARD) + "tail"
    cut = r.cut(text, MAX_STR)
    assert cut == "x" * (MAX_STR - 3) + '"' + MASK
    assert not any(AWKWARD[:k] in cut for k in range(3, len(AWKWARD)))


def test_a_redactor_without_secrets_costs_nothing():
    r = Redactor([])
    assert not r
    text = "a value"
    assert r.text(text) is text and r.scrub(text) is text
    value = {"a": [1, 2]}
    assert r.scrub(value) is value


# --- in a run ------------------------------------------------------------------------------


def run_in_process(nodes: list[dict[str, Any]], secret: str) -> tuple[str, Any]:
    """(every event and the result as JSON text, the result)"""
    events: list[Any] = []
    wf = from_data({"format": "flowui-workflow", "version": 1, "name": "forms",
                    "nodes": nodes, "connections": []})
    runner = Runner(Registry.discover(plugins=False), secrets=MappingSecrets({"TOK": secret}))
    result = asyncio.run(runner.run(wf, subscribers=(events.append,)))
    produced = "\n".join([*(json.dumps(e.to_dict(), ensure_ascii=False, default=str)
                            for e in events),
                          json.dumps(result.to_dict(), ensure_ascii=False, default=str)])
    return produced, result


def test_a_long_value_is_masked_before_its_preview_is_cut():
    secret = "PREFIXsk_live_4f9Qw8"
    for pad in (MAX_STR - 3, MAX_STR - len(secret) + 1):
        produced, result = run_in_process([
            {"id": "long", "type": "flow.constant",
             "config": {"value": f"{{{{ 'x' * {pad} ~ secrets.TOK ~ 'y' * 50 }}}}"}},
            {"id": "inspect", "type": "debug.inspect",
             "config": {"value": f"{{{{ 'x' * {pad} ~ secrets.TOK }}}}"}},
        ], secret)
        assert result.status == "completed", result.error
        assert "PREF" not in produced  # not even the start of it
        assert MASK in produced


def test_error_messages_cut_after_masking():
    secret = "PREFIXsk_live_4f9Qw8"
    produced, result = run_in_process([
        {"id": "parse", "type": "transform.json_parse", "on_error": "continue",
         "config": {"json": "{{ 'x' * 76 ~ secrets.TOK }}"}},
    ], secret)
    assert result.node_errors and "not valid JSON" in result.node_errors[0]["message"]
    assert "PREF" not in produced


def test_bytes_of_a_secret_are_masked_in_events_and_results():
    produced, result = run_in_process([
        {"id": "b", "type": "flow.constant",
         "config": {"value": "{{ secrets.TOK.encode() }}"}},
        {"id": "j", "type": "transform.template", "config": {
            "value": 1, "template": "{{ secrets.TOK|tojson }} {{ secrets.TOK|urlencode }}"}},
    ], AWKWARD)
    assert result.status == "completed", result.error
    assert result.outputs["b"]["value"] == MASK.encode()
    assert not leaks(AWKWARD, produced)


# --- the property test: a real flowcli run -----------------------------------------------

SECRETS_PER_RUN = 3
_alphabet = st.one_of(
    st.sampled_from(list('"\\\'%+/&= \t\n\r\x01\x1f\x7f{}<>#?;:é€ßñ😀🔑\u200b\u2028')),
    st.characters(exclude_categories=("Cs",), exclude_characters="\x00"))
_secret = st.text(_alphabet, min_size=8, max_size=40).filter(lambda s: set(s) != {"*"})


def fuzz_workflow(n: int) -> dict[str, Any]:
    """Every secret through every form: plain, json_stringify (once and twice), |tojson,
    |urlencode (text and query), .encode(), debug.log, error messages, and a long
    value with the secret across the preview's cut."""
    nodes: list[dict[str, Any]] = []
    connections: list[dict[str, str]] = []
    for i in range(n):
        ref = f"secrets.S{i}"
        nodes += [
            {"id": f"c{i}", "type": "flow.constant",
             "config": {"value": {"s": f"{{{{ {ref} }}}}"}}},
            {"id": f"js{i}", "type": "transform.json_stringify"},
            {"id": f"jj{i}", "type": "transform.json_stringify"},
            {"id": f"t{i}", "type": "transform.template", "config": {"value": 1, "template": (
                f"{{{{ {ref} }}}} {{{{ {ref}|tojson }}}} {{{{ {ref}|urlencode }}}} "
                f"{{{{ {{'k': {ref}}}|urlencode }}}} {{{{ [{ref}]|tojson|tojson }}}}")}},
            {"id": f"b{i}", "type": "flow.constant",
             "config": {"value": f"{{{{ {ref}.encode() }}}}"}},
            {"id": f"log{i}", "type": "debug.log", "config": {
                "message": 1, "format": f"{{{{ {ref} }}}} / {{{{ {ref}|tojson }}}}"}},
            {"id": f"long{i}", "type": "flow.constant",
             "config": {"value": f"{{{{ 'x' * {MAX_STR - 4} ~ {ref} ~ 'y' * 20 }}}}"}},
            {"id": f"ins{i}", "type": "debug.inspect",
             "config": {"value": f"{{{{ 'x' * {MAX_STR - 4} ~ {ref} }}}}"}},
            {"id": f"bad{i}", "type": "transform.json_parse", "on_error": "continue",
             "config": {"json": f"{{{{ 'x' * 77 ~ {ref} }}}}"}},
        ]
        connections += [{"from": f"c{i}.value", "to": f"js{i}.value"},
                        {"from": f"js{i}.json", "to": f"jj{i}.value"}]
    return {"format": "flowui-workflow", "version": 1, "name": "fuzz", "nodes": nodes,
            "connections": connections}


@pytest.fixture(scope="module")
def fuzz_flow(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.flow.json"
    path.write_text(json.dumps(fuzz_workflow(SECRETS_PER_RUN)), encoding="utf-8")
    return path


def flowcli_run(flow: Path, out: Path, secrets: list[str]) -> dict[str, str]:
    """Every byte a `flowcli run --events jsonl --output` produced, as text."""
    # Its own data folder: the module-scoped fixture below runs before the per-test
    # isolation (tests/conftest.py) applies, and must not touch the real store.
    env = {**os.environ, **{f"FLOWUI_SECRET_S{i}": s for i, s in enumerate(secrets)},
           "FLOWUI_DATA_DIR": str(out.parent / "flowui-data")}
    r = subprocess.run([str(FLOWCLI), "run", str(flow), "--events", "jsonl",
                        "--output", str(out)], capture_output=True, timeout=60, env=env)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    assert b"node_log" in r.stdout and b"not valid JSON" in r.stdout  # every path was taken
    return {where: data.decode("utf-8", "surrogateescape") for where, data in
            {"stdout": r.stdout, "stderr": r.stderr, "output file": out.read_bytes()}.items()}


@pytest.fixture(scope="module")
def structure(fuzz_flow: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """What the run prints whatever its secrets: event names, node ids, the padding the
    workflow makes. Hypothesis tries the test's own literals as secrets ("node_fai"):
    such a secret is found in the output without being leaked, so it is skipped."""
    canaries = [f"canary-{i}-Zq" for i in range(SECRETS_PER_RUN)]
    produced = flowcli_run(fuzz_flow, tmp_path_factory.mktemp("base") / "r.json", canaries)
    return "\n".join(produced.values())


FUZZ_EXAMPLES = int(os.environ.get("FLOWUI_FUZZ_EXAMPLES", "15"))


@pytest.mark.timeout(60 + 3 * FUZZ_EXAMPLES)  # one flowcli run each, ~0.5 s
@settings(max_examples=FUZZ_EXAMPLES, deadline=None,
          database=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                HealthCheck.too_slow])
@given(st.lists(_secret, min_size=SECRETS_PER_RUN, max_size=SECRETS_PER_RUN, unique=True))
def test_flowcli_never_emits_a_random_secret_in_any_form(fuzz_flow, structure, tmp_path,
                                                          secrets):
    # Two secrets where one holds the other are masked as the longer one: fine, but the
    # search below would then find the shorter one's forms inside the longer one's.
    assume(not any(a != b and a in b for a in secrets for b in secrets))
    assume(not any(leaks(s, structure) for s in secrets))
    out = tmp_path / f"result-{abs(hash(tuple(secrets)))}.json"
    for where, text in flowcli_run(fuzz_flow, out, secrets).items():
        for s in secrets:
            assert not leaks(s, text), (where, s, leaks(s, text))
