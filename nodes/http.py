"""HTTP requests: the `http.request` node, and the request helper `llm.chat` shares
(streamed size limit, total timeout, retry classification, Retry-After)."""

from __future__ import annotations

import asyncio
import codecs
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import httpx
from pydantic import Field

from engine import (
    Node,
    NodeConfig,
    NodeContext,
    NodeError,
    NodeTimeoutError,
    Port,
    parse_json,
)

DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024
EXCERPT_CHARS = 300


@dataclass(frozen=True, slots=True)
class Fetched:
    """A response read to the end (within the size limit)."""

    status: int
    reason: str
    headers: dict[str, str]
    text: str
    json: Any  # the parsed body when the response says it is JSON, else None
    retry_after_s: float | None


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def is_json_type(content_type: str) -> bool:
    mime = content_type.split(";", 1)[0].strip().lower()
    return mime == "application/json" or mime.endswith("+json")


def excerpt(text: str, limit: int = EXCERPT_CHARS, ctx: NodeContext | None = None) -> str:
    """The start of a body on one line, for error messages. With `ctx`, the run's
    secrets are masked first: before the cut (it would leave a secret's start) and
    before the whitespace is folded (a secret holding spaces would no longer match)."""
    flat = " ".join((ctx.redact(text) if ctx is not None else text).split())
    return flat if len(flat) <= limit else flat[:limit] + "…"


def classify(error: BaseException) -> bool | None:
    """Whether a retry could help with an httpx error (None: not an httpx error)."""
    if isinstance(error, httpx.InvalidURL | httpx.UnsupportedProtocol | httpx.LocalProtocolError
                  | httpx.TooManyRedirects | httpx.DecodingError):
        return False  # the same request would fail the same way
    if isinstance(error, httpx.HTTPError):
        return True  # timeouts, refused or dropped connections, protocol hiccups
    return None


def check_url(ctx: NodeContext, url: Any) -> str:
    if not isinstance(url, str) or not url.strip():
        raise NodeError("no URL: set the url field or wire a value to the url input",
                        retryable=False)
    url = url.strip()
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in ("http", "https"):
        raise NodeError(ctx.redact(f"URL {url!r} must start with http:// or https://"),
                        retryable=False)
    return url


async def fetch(ctx: NodeContext, method: str, url: str, *, headers: dict[str, str],
                params: dict[str, Any] | None = None, content: bytes | None = None,
                timeout_s: float, follow_redirects: bool = False,
                max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES) -> Fetched:
    """Send one request through the run's pooled client and read the response, refusing
    bodies over `max_bytes` as they stream in. Every failure is a NodeError that says
    whether a retry could help; messages are redacted."""
    try:
        async with asyncio.timeout(timeout_s) as deadline:
            # Merged into the URL's own query by hand: httpx 0.28's `params` replaces it.
            target = httpx.URL(url).copy_merge_params(params) if params else url
            async with ctx.http.stream(
                    method, target, headers=headers, content=content,
                    follow_redirects=follow_redirects,
                    timeout=httpx.Timeout(timeout_s)) as response:
                data = await _read_limited(ctx, response, method, url, max_bytes)
    except TimeoutError:
        if not deadline.expired():
            raise
        raise NodeTimeoutError(ctx.redact(
            f"{method} {url} did not finish within {timeout_s:g} s (config timeout_s)")) from None
    except httpx.TimeoutException as e:
        raise NodeTimeoutError(ctx.redact(
            f"{method} {url} timed out ({type(e).__name__}) within {timeout_s:g} s "
            "(config timeout_s)")) from None
    except httpx.TooManyRedirects:
        raise NodeError(ctx.redact(f"{method} {url}: too many redirects"),
                        retryable=False) from None
    except (httpx.HTTPError, httpx.InvalidURL) as e:
        retryable = classify(e)
        what = "connection failed" if retryable else "cannot send the request"
        raise NodeError(ctx.redact(f"{method} {url}: {what} ({str(e) or type(e).__name__})"),
                        retryable=retryable) from None
    content_type = response.headers.get("content-type", "")
    text = data.decode(_codec(response.charset_encoding), errors="replace")
    parsed = None
    if text and is_json_type(content_type):
        try:
            parsed = parse_json(text)
        except ValueError as e:
            ctx.warning(f"the response says it is JSON but does not parse ({e}); json is null")
    return Fetched(response.status_code, response.reason_phrase, dict(response.headers.items()),
                   text, parsed, retry_after_seconds(response.headers.get("retry-after")))


def _codec(charset: str | None) -> str:
    """The response's charset when Python knows it, else UTF-8."""
    if charset:
        try:
            return codecs.lookup(charset).name
        except LookupError:
            pass
    return "utf-8"


async def _read_limited(ctx: NodeContext, response: httpx.Response, method: str, url: str,
                        max_bytes: int) -> bytes:
    def too_large(size: str) -> NodeError:
        return NodeError(ctx.redact(
            f"the response to {method} {url} is larger than max_response_bytes "
            f"({max_bytes} bytes; {size}): raise the limit if you need all of it"),
            retryable=False)

    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large(f"Content-Length says {declared}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:  # leaving the stream closes the connection: nothing more is read
            raise too_large(f"stopped reading after {size}")
        chunks.append(chunk)
    return b"".join(chunks)


def status_error(ctx: NodeContext, method: str, url: str, answer: Fetched) -> NodeError:
    """An error status as a NodeError: retryable for 408, 429 and 5xx."""
    status = answer.status
    retryable = status in (408, 429) or status >= 500
    hint = {401: " (check the credentials)", 403: " (check the credentials or permissions)",
            404: " (check the URL)"}.get(status, "")
    body = excerpt(answer.text, ctx=ctx) or "(empty body)"
    return NodeError(ctx.redact(f"{method} {url} answered HTTP {status} {answer.reason}{hint}: "
                                f"{body}"),
                     retryable=retryable, retry_after_s=answer.retry_after_s if retryable else None)


def encode_body(body: Any) -> tuple[bytes | None, str | None]:
    """(bytes, content type) of a request body: text as it is, anything else as JSON."""
    if body is None:
        return None, None
    if isinstance(body, str):
        return body.encode("utf-8"), "text/plain; charset=utf-8"
    try:
        text = json.dumps(body, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise NodeError(f"the body cannot be sent as JSON: {e}", retryable=False) from None
    return text.encode("utf-8"), "application/json"


def header_values(headers: Any) -> dict[str, str]:
    if headers is None:
        return {}
    if not isinstance(headers, dict):
        raise NodeError(f"headers must be an object of names to values, not "
                        f"{type(headers).__name__}", retryable=False)
    out = {}
    for name, value in headers.items():
        if value is None:
            continue  # lets a template leave a header out
        if isinstance(value, dict | list):
            raise NodeError(f"header {name!r} must be text or a number, not "
                            f"{type(value).__name__}", retryable=False)
        out[str(name)] = (str(value).lower() if isinstance(value, bool) else str(value))
    return out


def query_values(query: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in query.items():
        items = value if isinstance(value, list) else [value]
        if any(isinstance(v, dict | list) for v in items):
            raise NodeError(f"query parameter {name!r} must be text, a number, a boolean or a "
                            "list of those", retryable=False)
        if value is not None:
            out[name] = value
    return out


class Request(Node):
    type = "http.request"
    summary_fields = ("method", "url")
    title = "HTTP request"
    category = "HTTP"
    icon = "http"
    description = (
        "Sends an HTTP request and outputs the status, headers, body text and, when the "
        "response is JSON, the parsed value. An object or array body is sent as JSON. "
        "With raise_for_status a 4xx or 5xx status fails the node; timeouts, connection "
        "errors, 408, 429 and 5xx are retryable (set the node's retry policy; Retry-After "
        "is honoured). Wired url, body and headers replace the config fields.")
    needs = ("url",)  # from the wire or the config: validation says so when neither
    inputs = (Port("url", "string", required=False, description="Replaces config url"),
              Port("body", "any", required=False, description="Replaces config body"),
              Port("headers", "object", required=False, description="Replaces config headers"))
    outputs = (Port("status", "integer"), Port("headers", "object"), Port("body", "string"),
               Port("json", "any", description="The parsed body when the response is JSON, "
                                               "else null"))

    class Config(NodeConfig):
        method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] = "GET"
        url: str | None = Field(None, description="http:// or https:// URL, e.g. "
                                                  "'{{ inputs.base_url }}/items'")
        headers: dict[str, Any] = Field(default_factory=dict, description="Request headers")
        query: dict[str, Any] = Field(default_factory=dict,
                                      description="Query parameters added to the URL")
        body: Any = Field(None, description="Text is sent as it is; anything else as JSON")
        timeout_s: float = Field(30, gt=0, le=86400,
                                 description="Limit for the whole request, body included")
        follow_redirects: bool = False
        raise_for_status: bool = Field(
            True, description="Fail on a 4xx or 5xx status (a 3xx that is not followed is "
                              "returned as it is)")
        max_response_bytes: int = Field(DEFAULT_MAX_RESPONSE_BYTES, ge=1,
                                        description="Fail when the response body is larger")

    @classmethod
    def is_retryable(cls, error: BaseException) -> bool | None:
        return classify(error)

    @classmethod
    def cacheable_with(cls, config: Mapping[str, Any]) -> bool:
        """GET and HEAD read; every other method may change something on the server."""
        return config.get("method", "GET") in ("GET", "HEAD")

    async def run(self, ctx: NodeContext, url: str | None = None, body: Any = None,
                  headers: dict[str, Any] | None = None) -> dict[str, Any]:
        c = self.config
        method = c.method
        url = check_url(ctx, url)
        sent_headers = header_values(headers)
        params = query_values(c.query)
        content, content_type = encode_body(body)
        if content_type and not any(k.lower() == "content-type" for k in sent_headers):
            sent_headers["Content-Type"] = content_type
        answer = await fetch(ctx, method, url, headers=sent_headers, params=params,
                             content=content, timeout_s=c.timeout_s,
                             follow_redirects=c.follow_redirects,
                             max_bytes=c.max_response_bytes)
        if c.raise_for_status and answer.status >= 400:
            raise status_error(ctx, method, url, answer)
        return {"status": answer.status, "headers": answer.headers, "body": answer.text,
                "json": answer.json}
