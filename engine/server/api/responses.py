"""The error responses each route documents in /openapi.json."""

from __future__ import annotations

from typing import Any

from engine.server.api.models import ErrorBody

_TEXT = {400: "Bad request (e.g. a workflow name that is not allowed)",
         401: "No bearer token, or a wrong one",
         404: "Not found", 409: "Conflict with the current state",
         412: "If-Match does not match the workflow's current hash",
         413: "The request body is over the limit",
         422: "Invalid request: details lists every problem",
         503: "Busy: the run queue is full"}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: 401, 413 and 422 always, plus `codes`."""
    return {code: {"model": ErrorBody, "description": _TEXT[code]}
            for code in sorted({401, 413, 422, *codes})}


def links(operations: tuple[str, ...], parameter: str, field: str) -> dict[str, Any]:
    """OpenAPI links from a created resource to the operations that read it (clients and
    schemathesis follow them)."""
    return {"links": {op: {"operationId": op,
                           "parameters": {parameter: f"$response.body#/{field}"}}
                      for op in operations}}
