"""Dependencies every route shares: the service, and the bearer token check (which
also puts the `bearer` security scheme into /openapi.json)."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from engine.server.api.auth import TokenCheck
from engine.server.api.errors import ApiError
from engine.server.api.service import Service

bearer = HTTPBearer(auto_error=False, description="The token `flowserver` printed on its "
                    "first start (in <data dir>/server-token, or --token-file).")

UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


def service(request: Request) -> Service:
    return request.app.state.service  # type: ignore[no-any-return]


def token_check(request: Request) -> TokenCheck:
    return request.app.state.tokens  # type: ignore[no-any-return]


async def require_token(request: Request,
                        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
                        ) -> None:
    check = token_check(request)
    if not check.required:
        return
    if credentials is None:
        raise ApiError(401, "unauthorized", "a bearer token is required: send "
                       "`Authorization: Bearer <token>` (the token flowserver printed on its "
                       "first start, kept in its token file)", headers=UNAUTHORIZED)
    if credentials.scheme.lower() != "bearer" or not check.accepts(credentials.credentials):
        raise ApiError(401, "unauthorized", "the bearer token is wrong", headers=UNAUTHORIZED)
