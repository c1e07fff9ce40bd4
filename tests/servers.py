"""A real HTTP server on 127.0.0.1 (ephemeral port) for node tests: JSON, text, errors,
slow, flaky, rate-limited, redirecting, huge and echoing routes, and a fake
OpenAI-compatible `/v1/chat/completions`.

Use the `http_server` fixture (a fresh server, so hit counts are per test) or
`with serve() as server:`. `server.url` is the base URL, `server.hits` counts
requests per route key, `server.requests` records what the echo and chat routes saw.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

CHUNK = 64 * 1024


class LocalServer(ThreadingHTTPServer):
    """The server, with what tests read back from it."""

    daemon_threads = True  # a slow handler must not hold up shutdown

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.hits: Counter[str] = Counter()
        self.requests: list[dict[str, Any]] = []
        self.sent: dict[str, int] = {}  # bytes of a /large body written before the client left
        self.lock = threading.Lock()
        self.closing = threading.Event()  # cuts slow responses short at shutdown

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def hit(self, key: str) -> int:
        with self.lock:
            self.hits[key] += 1
            return self.hits[key]

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up early (timeouts, size limits) are part of the tests


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so a pooled client reuses connections
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stall
    server: LocalServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # --- plumbing -----------------------------------------------------------------------

    def do_GET(self) -> None:
        self.route()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def route(self) -> None:
        parts = urlsplit(self.path)
        self.query = {k: v[0] if len(v) == 1 else v for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""
        path = parts.path
        segments = path.strip("/").split("/")
        head = segments[0]
        arg = segments[1] if len(segments) > 1 else ""
        if path.endswith("/chat/completions"):
            return self.chat(path[: -len("/chat/completions")])
        handler = {
            "json": self.json_ok, "text": self.text, "status": self.status,
            "slow": self.slow, "flaky": self.flaky, "ratelimit": self.ratelimit,
            "redirect": self.redirect, "large": self.large, "echo": self.echo,
            "anything": self.echo,
        }.get(head)
        if handler is None:
            return self.send(404, {"error": f"no route {path}"})
        self.server.hit(head if head not in ("flaky", "ratelimit") else f"{head}/{arg}")
        handler(arg)

    def send(self, status: int, body: Any = None, *, content_type: str | None = None,
             headers: dict[str, str] | None = None) -> None:
        if isinstance(body, str | bytes):
            data = body.encode() if isinstance(body, str) else body
            content_type = content_type or "text/plain; charset=utf-8"
        elif body is None:
            data = b""
        else:
            data = json.dumps(body).encode()
            content_type = content_type or "application/json"
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    # --- routes ---------------------------------------------------------------------------

    def json_ok(self, _: str) -> None:
        self.send(200, {"ok": True, "items": [1, 2, 3], "name": "flowui"})

    def text(self, _: str) -> None:
        self.send(200, "just text, not JSON")

    def status(self, code: str) -> None:
        """/status/<code>: that status, with a body naming it (and the request's
        headers when ?echo=1, to test that error messages are redacted)."""
        body = f"status {code} body: " + ("x" * 500 if "long" in self.query else "details")
        if "echo" in self.query:
            body += " headers=" + json.dumps(dict(self.headers))
        self.send(int(code), body)

    def slow(self, _: str) -> None:
        """/slow?s=SECONDS: answer after a wait (cut short when the server closes)."""
        self.server.closing.wait(float(self.query.get("s", "1")))
        self.send(200, {"slow": True})

    def flaky(self, key: str) -> None:
        """/flaky/<key>?fail=N&status=S: status S (default 503) N times, then 200."""
        n = self.server.hits[f"flaky/{key}"]
        if n <= int(self.query.get("fail", "1")):
            if self.query.get("status") == "drop":  # a connection closed without an answer
                self.close_connection = True
                self.connection.shutdown(2)
                return
            return self.send(int(self.query.get("status", "503")), f"failure {n}")
        self.send(200, {"attempt": n})

    def ratelimit(self, key: str) -> None:
        """/ratelimit/<key>?after=S&fail=N&date=1: 429 with Retry-After S (in seconds, or as
        an HTTP date with date=1) N times, then 200."""
        n = self.server.hits[f"ratelimit/{key}"]
        after = float(self.query.get("after", "1"))
        if n <= int(self.query.get("fail", "1")):
            value = formatdate(time.time() + after, usegmt=True) if "date" in self.query \
                else f"{after:g}"
            return self.send(429, "slow down", headers={"Retry-After": value})
        self.send(200, {"attempt": n})

    def redirect(self, _: str) -> None:
        self.send(302, "moved", headers={"Location": self.query.get("to", "/json")})

    def large(self, key: str) -> None:
        """/large?bytes=N[&chunked=1]: N bytes of 'a'; chunked sends no Content-Length, so
        only the client's own counting can stop it."""
        total = int(self.query.get("bytes", str(CHUNK)))
        chunked = "chunked" in self.query
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(total))
        self.end_headers()
        sent = 0
        try:
            while sent < total:
                n = min(CHUNK, total - sent)
                data = b"a" * n
                self.wfile.write(f"{n:x}\r\n".encode() + data + b"\r\n" if chunked else data)
                sent += n
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True
        self.server.sent[key or "large"] = sent

    def echo(self, _: str) -> None:
        """/echo (and httpbin-style /anything/...): the request as JSON."""
        text = self.body.decode("utf-8", "replace")
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        seen = {"method": self.command, "path": urlsplit(self.path).path, "args": self.query,
                "headers": dict(self.headers), "data": text, "json": parsed,
                "url": f"{self.server.url}{self.path}"}
        with self.server.lock:
            self.server.requests.append(seen)
        self.send(200, seen)

    def chat(self, prefix: str) -> None:
        """An OpenAI-compatible chat completions endpoint. The prefix before /v1 picks a
        mode: /v1 answers; /ratelimited/v1 answers 429 once per test, then answers;
        /nochoices/v1 answers without choices; /notjson/v1 answers with text; /slow/v1
        answers after 5 s."""
        prefix = prefix.removesuffix("/v1")
        n = self.server.hit(f"chat{prefix}")  # "chat", "chat/ratelimited", ...
        if prefix.startswith("/slow"):
            self.server.closing.wait(5)
        if prefix.startswith("/notjson"):
            return self.send(200, "plain text, not an answer")
        try:
            request = json.loads(self.body)
        except ValueError:
            return self.send(400, {"error": {"message": "body is not JSON"}})
        with self.server.lock:
            self.server.requests.append({"path": self.path, "headers": dict(self.headers),
                                         "json": request})
        problem = chat_problem(self.command, self.headers.get("Authorization", ""), request)
        if problem:
            return self.send(401 if "Authorization" in problem else 400,
                             {"error": {"message": problem, "type": "invalid_request_error"}})
        if prefix.startswith("/ratelimited") and n == 1:
            return self.send(429, {"error": {"message": "Rate limit reached"}},
                             headers={"Retry-After": "0.2"})
        last = request["messages"][-1]["content"]
        usage = {"prompt_tokens": sum(len(m["content"].split()) for m in request["messages"]),
                 "completion_tokens": 3, "total_tokens": 0}
        usage["total_tokens"] = usage["prompt_tokens"] + 3
        answer = {"id": "chatcmpl-test", "object": "chat.completion", "created": 0,
                  "model": request["model"], "usage": usage, "choices": [
                      {"index": 0, "finish_reason": "stop",
                       "message": {"role": "assistant", "content": f"Summary: {last[:60]}"}}]}
        if prefix.startswith("/nochoices"):
            answer["choices"] = []
        self.send(200, answer)


def chat_problem(method: str, authorization: str, request: Any) -> str | None:
    """What is wrong with a chat completions request, as the real API would refuse it."""
    if method != "POST":
        return f"method must be POST, not {method}"
    if not authorization.startswith("Bearer ") or len(authorization) <= len("Bearer "):
        return "missing Authorization: Bearer <key>"
    if not isinstance(request, dict) or not isinstance(request.get("model"), str):
        return "'model' is required"
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty list"
    for m in messages:
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant") \
                or not isinstance(m.get("content"), str):
            return f"bad message {m!r}"
    allowed = {"model", "messages", "temperature", "max_tokens"}
    if set(request) - allowed:
        return f"unexpected fields {sorted(set(request) - allowed)}"
    return None


@contextlib.contextmanager
def serve() -> Iterator[LocalServer]:
    server = LocalServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.closing.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def http_server() -> Iterator[LocalServer]:
    with serve() as server:
        yield server
