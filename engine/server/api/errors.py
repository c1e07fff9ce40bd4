"""The API's one error shape, `{"error": {"type", "message", "details"}}`, and the
handlers that turn every failure (ours, FastAPI's validation, Starlette's 404/405)
into it, so a client parses one thing whatever went wrong."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from engine.support import json_out

log = logging.getLogger("flowui.server")

# Starlette's status codes -> our error types
_TYPES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 412: "precondition_failed",
          413: "too_large", 415: "unsupported_media_type", 422: "invalid",
          428: "precondition_required", 503: "unavailable"}


class ApiError(Exception):
    """A refusal with its status, a stable `type`, a message saying what to do, and
    `details` (e.g. every problem of a validation)."""

    def __init__(self, status: int, type_: str, message: str, details: Any = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.details = details
        self.headers = headers


def error_body(type_: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"type": type_, "message": message, "details": details}}


def error_response(status: int, type_: str, message: str, details: Any = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(type_, message, details), status_code=status,
                        headers=headers)


def _allowed(request: Request) -> str:
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))


def install(app: FastAPI) -> None:
    """Register the handlers on `app`."""

    @app.exception_handler(ApiError)
    async def _api(_: Request, e: ApiError) -> JSONResponse:
        return error_response(e.status, e.type, e.message, e.details, e.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, e: RequestValidationError) -> JSONResponse:
        problems = [{"where": ".".join(str(p) for p in err.get("loc", ())),
                     "message": err.get("msg", ""), "type": err.get("type", "")}
                    for err in e.errors()]
        n = len(problems)
        # `input` echoes what the client sent: left out, it may be a secret.
        return error_response(422, "invalid", f"the request is invalid ({n} problem"
                              f"{'s' if n != 1 else ''}); details lists each",
                              json_out.jsonable(problems))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, e: StarletteHTTPException) -> JSONResponse:
        type_ = _TYPES.get(e.status_code, "http_error")
        headers = dict(e.headers) if e.headers else None
        if e.status_code == 405:  # every method of the path, not only one route's
            headers = {**(headers or {}), "Allow": _allowed(request)}
        return error_response(e.status_code, type_, str(e.detail), None, headers)

    @app.exception_handler(Exception)
    async def _bug(request: Request, e: Exception) -> JSONResponse:
        # Only the type: the message of an unexpected error may quote a secret.
        log.error("internal error on %s %s: %s", request.method, request.url.path,
                  type(e).__name__)
        return error_response(500, "internal", f"internal error ({type(e).__name__}); "
                              "this is a bug in FlowUI: the server's log has the request")
