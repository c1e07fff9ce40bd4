"""The request body size limit, as ASGI middleware: a declared length over the limit is
refused without being handed to a route, and a body sent without one as soon as it
passes the limit; either way 413 with the API's error shape. What remains of such a
body is read and dropped as it arrives (memory stays flat)."""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.server.api.errors import error_body
from engine.support import json_out


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for key, value in scope["headers"]:
            if key == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await self._refuse(receive, send)
                    return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge:
            if not started:
                await self._refuse(receive, send)

    async def _refuse(self, receive: Receive, send: Send) -> None:
        # The rest of the body is read and dropped, never kept: closing with it unread
        # makes the kernel reset the connection, and the client would lose the answer.
        while True:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        mb = self.max_bytes / 1024 / 1024
        body = json_out.compact(error_body(
            "too_large", f"the request body is over the limit of {mb:g} MiB "
            "(flowserver --max-body-mb)")).encode()
        headers: list[Any] = [(b"content-type", b"application/json"),
                              (b"content-length", str(len(body)).encode()),
                              (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
