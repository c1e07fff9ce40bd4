"""`flowcli serve` against malformed and hostile requests: every one gets a 4xx JSON
answer (never a 500 or a traceback), nothing runs for it, and a run whose answer cannot
be encoded is a dead letter with its run id (so a retrying client never runs it twice).
A real server process on 127.0.0.1."""

from __future__ import annotations

import gzip
import json
import socket
import stat
import sys

import httpx
import pytest

from tests.engine.test_serve import ECHO, hook, served, write_flow

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")

JSON = {"Content-Type": "application/json"}
MALFORMED = {
    "nested 990 deep": (b"[" * 990 + b"]" * 990, JSON, 400, "nested deeper than the limit"),
    "nested 100,000 deep": (b"[" * 100_000, JSON, 400, "nested deeper than the limit"),
    "lone surrogate": (b'{"name": "\\ud800"}', JSON, 400, "lone UTF-16 surrogate"),
    "NaN": (b'{"n": NaN}', JSON, 400, "NaN is not allowed"),
    "Infinity": (b"[Infinity]", JSON, 400, "Infinity is not allowed"),
    "a 5,000-digit number": (b"9" * 5000, JSON, 400, "an integer of more than 100 digits"),
    "unknown charset (JSON)": (b"{}", {"Content-Type": "application/json; charset=klingon"},
                               415, "unknown charset 'klingon'"),
    "unknown charset (text)": (b"hi", {"Content-Type": "text/plain; charset=x-nope"},
                               415, "unknown charset"),
    "gzip that is not gzip": (b"plain bytes", {**JSON, "Content-Encoding": "gzip"}, 400,
                              "the body cannot be read"),
    "deflate that is not deflate": (b"plain", {**JSON, "Content-Encoding": "deflate"}, 400,
                                    "the body cannot be read"),
    "not UTF-8 JSON": (b'{"a": "\xff\xfe"}', JSON, 400, "not UTF-8 text"),
    "latin-1 JSON said as UTF-16": (b'{"a": 1}', {"Content-Type":
                                                  "application/json; charset=utf-16"},
                                    400, "the body is not"),
    "a codec that is not a text encoding": (b"{}", {"Content-Type":
                                                    "application/json; charset=rot13"},
                                            415, "not a text encoding"),
    "the undefined codec": (b"hi", {"Content-Type": "text/plain; charset=undefined"}, 415,
                            "unknown charset"),
    "hex as a charset": (b"{}", {"Content-Type": "application/json; charset=hex"}, 415,
                         "unknown charset"),
    "a body over 1 MiB": (b"[" + b"1," * 600_000 + b"1]", JSON, 413, "body size"),
    "brotli without brotli": (b"{}", {**JSON, "Content-Encoding": "br"}, 400, ""),
}

# Requests aiohttp itself refuses before any handler runs: JSON all the same.
RAW = {
    "a bad chunk size": b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                        b"Content-Type: application/json\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    "a header of 100 kB": b"POST /echo HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000
                          + b"\r\nContent-Length: 2\r\n\r\n{}",
    "a negative length": b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    "control bytes in a header": b"POST /echo HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n"
                                 b"Content-Length: 2\r\n\r\n{}",
}


def raw_request(url: str, data: bytes) -> tuple[int, bytes]:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def test_malformed_requests_get_a_4xx_json_error_and_run_nothing(tmp_path):
    data_dir = tmp_path / "data"
    with served(tmp_path, ECHO, "--events", "jsonl",
                env={"FLOWUI_DATA_DIR": str(data_dir)}) as s:
        for name, (body, headers, status, words) in MALFORMED.items():
            r = httpx.post(s.url + "/echo", content=body, headers=headers)
            assert r.status_code == status, (name, r.status_code, r.text[:300])
            answer = json.loads(r.text)  # strict JSON, always
            assert words in answer["error"], (name, answer)
            assert "Traceback" not in r.text
        for name, data in RAW.items():
            status, body = raw_request(s.url, data)
            assert 400 <= status < 500, (name, status, body[:200])
            assert json.loads(body)["error"], (name, body[:200])
        # %-escapes that decode to a lone surrogate, in the query string
        r = httpx.post(s.url + "/echo?x=%ED%A0%80", json={"a": 1})
        assert r.status_code in (200, 400), r.text
        json.loads(r.text)
        # a text encoding decodes the same way whatever the content type (idna)
        for ctype in ("application/json", "text/plain"):
            r = httpx.post(s.url + "/echo", content=b'"abc"',
                           headers={"Content-Type": f"{ctype}; charset=idna"})
            assert r.status_code == 200, (ctype, r.text)
        # a real gzip body is fine
        ok = httpx.post(s.url + "/echo", content=gzip.compress(b'{"fine": 1}'),
                        headers={**JSON, "Content-Encoding": "gzip"})
        assert ok.status_code == 200 and ok.json() == {"fine": 1}
        assert s.interrupt() == 0
    started = [e for e in s.events() if e["event"] == "run_started"]
    assert len(started) <= 4  # the two idna ones, the gzip one and, at most, the query one
    assert not (data_dir / "dead-letter").exists()
    assert "Traceback" not in s.err()


def test_an_answer_that_cannot_be_encoded_is_a_dead_letter_with_its_run_id(tmp_path):
    # The run produces NaN (not JSON): the client gets one 500 with the run id, and the
    # payload is kept, once, without the client's credentials.
    flow = write_flow(tmp_path, [
        hook(), {"id": "nan", "type": "flow.constant",
                 "config": {"value": "{{ run.id|length * 1e308 * 10 }}"}},
        {"id": "reply", "type": "http.respond"}], [("nan.value", "reply.body")])
    data_dir = tmp_path / "data"
    with served(tmp_path, flow, env={"FLOWUI_DATA_DIR": str(data_dir)}) as s:
        r = httpx.post(s.url + "/in", json={"x": 1}, headers={
            "Authorization": "Bearer tok-3f9a8b7c6d", "Cookie": "session=cookie-5e4d3c2b",
            "X-Api-Key": "key-1a2b3c4d5e", "X-Trace": "t-1"})
        assert r.status_code == 500
        answer = json.loads(r.text)
        run_id = answer["run_id"]
        assert r.headers["x-flowui-run-id"] == run_id
        assert "cannot be sent as JSON" in answer["error"]["message"]
        assert answer["error"]["type"] == "ResponseError"
        assert s.interrupt() == 0
    letters = list((data_dir / "dead-letter" / "serve_test").iterdir())
    assert [p.name for p in letters] == [f"{run_id}.json"]
    text = letters[0].read_text()
    for secret in ("tok-3f9a8b7c6d", "cookie-5e4d3c2b", "key-1a2b3c4d5e"):
        assert secret not in text
    letter = json.loads(text)
    assert letter["payload"]["headers"]["authorization"] == "***"
    assert letter["payload"]["headers"]["x-trace"] == "t-1"  # the rest is kept
    assert letter["payload"]["body"] == {"x": 1}
    assert stat.S_IMODE(letters[0].stat().st_mode) != 0o600 or _umask() == 0o077


def test_the_clients_credentials_never_leave_the_run(tmp_path):
    # The workflow sees them (it may check a token) but its events, logs and answer
    # mask them, as they mask the workflow's own secrets.
    flow = write_flow(tmp_path, [
        hook(), {"id": "log", "type": "debug.log"},
        {"id": "token", "type": "transform.template",
         "config": {"template": "{{ value.authorization.split(' ')[1] }}"}},
        {"id": "reply", "type": "http.respond"}],
        [("hook.headers", "log.message"), ("hook.headers", "token.value"),
         ("token.text", "reply.body")])
    with served(tmp_path, flow, "--events", "jsonl") as s:
        r = httpx.post(s.url + "/in", json={}, headers={
            "Authorization": "Bearer tok-3f9a8b7c6d", "Cookie": "a=1; session=cookie-5e4d3c2b"})
        assert r.status_code == 200 and r.text == "***"  # it had the token; it is not echoed
        # Basic credentials: the password is masked once decoded too (here in the body)
        basic = httpx.post(s.url + "/in", json={"note": "pw-9c8b7a6f5e"},
                           auth=("ada", "pw-9c8b7a6f5e"))
        assert basic.status_code == 200 and basic.text == "***"
        assert s.interrupt() == 0
    produced = s.stdout.read_text() + s.err()
    assert "node_completed" in produced and "x-trace" not in produced
    for secret in ("tok-3f9a8b7c6d", "cookie-5e4d3c2b", "pw-9c8b7a6f5e"):
        assert secret not in produced


def _umask() -> int:
    import os

    old = os.umask(0)
    os.umask(old)
    return old
