"""Serve mode's HTTP plumbing (aiohttp's low-level server): reading a request's body
within the limits (docs/limits.md), JSON answers for everything, aiohttp's own
refusals as JSON too, its log as one line, and the answer a finished run gives."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from engine.core.runner import Run, RunResult
from engine.support import bounded_json


class JsonErrors(RequestHandler):
    """aiohttp's answer to a request it cannot parse (a bad chunk, huge headers, a
    method that is not one), as JSON like every other answer, not its plain text."""

    def handle_error(self, request: Any, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> Any:
        super().handle_error(request, status, exc, message)  # logs; refuses a late answer
        reason = message or (str(exc) if exc else "") or HTTPStatus(status).phrase
        response = json_response(status, {"error": one_line(reason) if status < 500 else
                                  "internal error"})
        response.force_close()
        return response


class JsonServer(web.Server):
    def __call__(self) -> RequestHandler:
        return JsonErrors(self, loop=self._loop, **self._kwargs)


def one_line(text: str) -> str:
    return " ".join(str(text).split())[:300]


class OneLineLog(logging.Handler):
    def __init__(self, log: Callable[[str], None]) -> None:
        super().__init__(logging.WARNING)
        self._log = log

    def emit(self, record: logging.LogRecord) -> None:
        error = record.exc_info[1] if record.exc_info else None
        why = f": {type(error).__name__}: {' '.join(str(error).split())}" if error else ""
        self._log(f"warning: http: {record.getMessage()}{why}")


class Unacceptable(Exception):
    """A request refused before any run starts; `status` is the 4xx to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def read_body(request: Any) -> Any:
    """Parsed JSON when the Content-Type says JSON, else the text. Every way a body can
    be unacceptable is a 4xx with a message (FORMAT.md: the client's fault, not ours)."""
    try:
        data = await request.read()
    except web.HTTPException:
        raise  # 413 over aiohttp's size limit: already an answer
    except Exception as e:  # a Content-Encoding the body does not match, a cut stream
        encoding = request.headers.get("Content-Encoding")
        why = (f"it is not valid {encoding} data (Content-Encoding: {encoding})" if encoding
               else " ".join(str(e).split()) or type(e).__name__)
        raise Unacceptable(400, f"the body cannot be read: {why}") from None
    ctype = request.content_type or ""
    charset = request.charset
    if ctype == "application/json" or ctype.endswith("+json"):
        if not data.strip():
            return None
        try:
            return bounded_json.loads(decode_body(data, charset, "utf-8-sig", lenient=False))
        except bounded_json.JsonLimitError as e:
            what = "valid" if e.syntax else "acceptable"
            raise Unacceptable(400, f"the body is not {what} JSON: {e}") from None
    return decode_body(data, charset, "utf-8", lenient=True)


def decode_body(data: bytes, charset: str | None, default: str, *, lenient: bool) -> str:
    """The body as text; a text body that is not quite its charset keeps what can be
    read (U+FFFD for the rest), a JSON body must be exact."""
    try:
        return data.decode(charset or default)
    except UnicodeDecodeError as e:
        if lenient:
            with contextlib.suppress(UnicodeError):  # codecs without "replace" (idna)
                return data.decode(charset or default, "replace")
        raise Unacceptable(400, f"the body is not {charset or 'UTF-8'} text (byte "
                            f"{e.start})") from None
    except (LookupError, UnicodeError):  # unknown, or not a text encoding (rot13, hex...)
        raise Unacceptable(415, f"unknown charset {charset!r} in Content-Type (not a text "
                            "encoding); send UTF-8") from None


def json_response(status: int, value: Any, headers: Mapping[str, str] | None = None) -> Any:
    """A JSON answer; refuses (ValueError) what strict JSON cannot carry (NaN, a lone
    surrogate) rather than send a body a client cannot parse."""
    body = json.dumps(value, ensure_ascii=False, allow_nan=False, default=str)
    return web.Response(status=status, headers=headers, body=body.encode(),
                        content_type="application/json")


def result_response(run: Run | None, result: RunResult) -> Any:
    """FORMAT.md: what http.respond sent (text as text, anything else JSON); 202 and
    {run_id} without it; 500 and {run_id, error} for a failed run."""
    headers = {"X-FlowUI-Run-Id": result.run_id}
    if result.status == "cancelled":
        return json_response(503, {"run_id": result.run_id, "error": {
            "type": "cancelled", "node": None,
            "message": "the server stopped before the run finished; its payload was kept as "
                       "a dead letter"}}, headers)
    if result.status != "completed":
        return json_response(500, {"run_id": result.run_id, "error": result.error}, headers)
    sent = run.response if run is not None else None
    if sent is not None and run is not None and run.redactor:  # a response leaves the run
        sent = run.redactor.scrub(sent)
    if sent is None:
        return json_response(202, {"run_id": result.run_id}, headers)
    body = sent["body"]
    if body is None:
        data = b""
    elif isinstance(body, str):
        data = body.encode()
        headers["Content-Type"] = "text/plain; charset=utf-8"
    else:
        data = json.dumps(body, ensure_ascii=False, allow_nan=False, default=str).encode()
        headers["Content-Type"] = "application/json"
    if sent["headers"]:  # the workflow's own headers win (names are case-insensitive)
        own = {k.lower() for k in sent["headers"]}
        headers = {k: v for k, v in headers.items() if k.lower() not in own} | sent["headers"]
    return web.Response(status=sent["status"], headers=headers, body=data)
