"""`GET /nodes` (the installed node types), `GET /health` (no token) and `GET /metrics`."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse

from engine.server.api.deps import require_token, service
from engine.server.api.models import Health, NodeCatalog
from engine.server.api.responses import errors
from engine.server.api.service import Service

router = APIRouter()


@router.get("/health", response_model=Health, tags=["server"])
async def health(svc: Service = Depends(service)) -> Health:
    """Liveness, without a token."""
    from engine.core.run_context import _version

    return Health(version=_version(), runs_active=len(svc.accepted))


@router.get("/nodes", response_model=NodeCatalog, tags=["nodes"],
            dependencies=[Depends(require_token)], responses=errors())
async def nodes(svc: Service = Depends(service)) -> NodeCatalog:
    """Every node type with its ports and config JSON schema (as `flowcli nodes --json`)."""
    reg = svc.registry
    return NodeCatalog(nodes=[cls.describe() | {"origin": reg.origin(cls.type)}
                              for cls in reg])


@router.get("/metrics", response_model=None, tags=["server"],
            dependencies=[Depends(require_token)],
            responses={**errors(), 200: {"description": "Prometheus text format 0.0.4",
                                         "content": {"text/plain": {"schema": {
                                             "type": "string"}}}}})
async def metrics(svc: Service = Depends(service)) -> PlainTextResponse:
    """Runs by status, node executions, queue depth, run durations (this process)."""
    text = svc.metrics.render(queued=svc.queued, running=svc.running,
                              node_runs=svc.hub.node_runs())
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")
