"""The FastAPI application: routes, the error shape, the token, CORS and size limits."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from engine.server.api import catalog, errors, runs, streams, workflows
from engine.server.api.auth import TokenCheck
from engine.server.api.limits import BodyLimit
from engine.server.api.service import Service

DESCRIPTION = """Drive FlowUI over HTTP: workflows (the `.flow.json` files of the served
folder), runs (start, watch, cancel, read results and artifacts), node types.

Every endpoint but `/health` (and this documentation) needs `Authorization: Bearer
<token>`. Errors are `{"error": {"type", "message", "details"}}`.

Live events: `GET /runs/{id}/events` over a **WebSocket** streams the run's events
(FORMAT.md section 3) from `?after_seq=N`: each message a JSON array of event
objects, closing with code 1000 after `run_completed` (4008: the client fell behind,
reconnect with `after_seq`; 4401: token; 4404: no such run). Browsers may pass the
token as `?token=` on the WebSocket only. `/runs/{id}/events/stream` is the same as
Server-Sent Events."""


def create_app(service: Service, tokens: TokenCheck) -> FastAPI:
    from engine.core.run_context import _version

    app = FastAPI(title="FlowUI server", version=_version(), description=DESCRIPTION,
                  docs_url="/docs", redoc_url=None,
                  # operationIds are the route functions' names: what generated clients call
                  generate_unique_id_function=lambda route: route.name)
    app.state.service = service
    app.state.tokens = tokens
    errors.install(app)
    for module in (catalog, workflows, runs, streams):
        app.include_router(module.router)
    origins = list(service.options.cors_origins)
    if origins:  # off unless asked for: a browser page elsewhere cannot call the API
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["*"],
                           allow_headers=["Authorization", "Content-Type", "If-Match"],
                           expose_headers=["ETag", "Location"])
    app.add_middleware(BodyLimit, max_bytes=service.options.max_body_bytes)
    return app
