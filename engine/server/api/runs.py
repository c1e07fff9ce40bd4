"""`/runs`: start a run (202 at once, it goes on in the background), read it (status,
each lifecycle time, result), list (filters, cursor pages), cancel, its events, node
outputs and artifacts (the four files of `flowcli runs export`)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Response

from engine.errors import RunNotFoundError, StoreError
from engine.server.api.deps import require_token, service
from engine.server.api.errors import ApiError
from engine.server.api.models import (
    CURSOR_PATTERN,
    Artifact,
    ArtifactList,
    RunAccepted,
    RunDetail,
    RunEvents,
    RunInfo,
    RunLinks,
    RunList,
    RunOutputs,
    RunRequest,
)
from engine.server.api.responses import errors
from engine.server.api.responses import links as follow_ups
from engine.server.api.service import Service
from engine.store.records import STATUSES
from engine.store.store import RunStore

router = APIRouter(prefix="/runs", tags=["runs"], dependencies=[Depends(require_token)])

MEDIA = {"trace.json": "application/json", "logs.txt": "text/plain; charset=utf-8",
         "metadata.json": "application/json", "outputs.json": "application/json"}
Status = Literal["queued", "validating", "running", "completed", "failed", "cancelled",
                 "interrupted", "dead_letter"]
assert set(Status.__args__) == set(STATUSES)  # type: ignore[attr-defined]


def links(run_id: str) -> RunLinks:
    base = f"/runs/{run_id}"
    return RunLinks(run=base, events=f"{base}/events", websocket=f"{base}/events",
                    stream=f"{base}/events/stream", cancel=f"{base}/cancel",
                    outputs=f"{base}/outputs", artifacts=f"{base}/artifacts")


def resolve(store: RunStore, run_id: str) -> str:
    try:
        return store.resolve(run_id)
    except RunNotFoundError as e:
        raise ApiError(404, "not_found", str(e).replace("`flowcli runs list`",
                                                        "GET /runs")) from None


@router.post("", status_code=202, response_model=RunAccepted, responses={
    **errors(400, 404, 503), 202: follow_ups(("get_run", "cancel_run", "run_events", "run_outputs",
                                         "run_artifacts", "run_artifact", "events_stream"),
                                        "run_id", "run_id")})
async def start_run(body: RunRequest, response: Response,
                    svc: Service = Depends(service)) -> RunAccepted:
    """Start a run of a workflow of the folder (by name) or of an inline document. The
    workflow and inputs are checked first (422 with every problem); the answer comes
    at once with the run id and its URLs, while the run goes on."""
    run_id = await svc.submit(body.workflow, body.inputs, body.trigger,
                              body.options.model_dump())
    response.headers["Location"] = f"/runs/{run_id}"
    return RunAccepted(run_id=run_id, urls=links(run_id))


@router.get("", response_model=RunList, responses=errors(400))
async def list_runs(
        workflow: str | None = Query(None, max_length=4096, description="A workflow of "
                                     "the folder (its API name), else a workflow's own "
                                     "`name` or a file path."),
        status: Status | None = Query(None),
        since: float | None = Query(None, ge=0, le=1e11,
                                    description="Seconds since the epoch (queued at or after)."),
        limit: int = Query(50, ge=1, le=500),
        cursor: str | None = Query(None, pattern=CURSOR_PATTERN,
                                   description="`next_cursor` of the previous page."),
        svc: Service = Depends(service)) -> RunList:
    """Runs newest first, a page at a time."""
    if cursor is not None:
        at, sep, rowid = cursor.partition(":")
        try:
            float(at), int(rowid)
            ok = bool(sep)
        except ValueError:
            ok = False
        if not ok:
            raise ApiError(400, "bad_cursor", "the cursor is not one this server gave: pass "
                           "`next_cursor` from the previous page as it is")
    if workflow is not None:  # a file of the folder by its API name, else as the store has it
        try:
            path = svc.folder.path(workflow)
            workflow = str(path) if path.exists() else workflow
        except ApiError:
            pass
    store = await svc.flushed_store()
    page = store.list_runs(workflow=workflow, status=status, since=since, limit=limit,
                           cursor=cursor)
    return RunList(runs=[RunInfo(**r.to_dict()) for r in page.runs], next_cursor=page.cursor)


@router.get("/{run_id}", response_model=RunDetail, responses=errors(404))
async def get_run(run_id: str, svc: Service = Depends(service)) -> RunDetail:
    """Status with each lifecycle time; outputs (the result) once finished. A unique
    prefix of the id is enough."""
    store = await svc.flushed_store()
    detail = _detail(store, run_id)
    return RunDetail(**detail.summary.to_dict(), inputs=detail.inputs, trigger=detail.trigger,
                     outputs=detail.outputs, node_errors=detail.node_errors,
                     workflow_hash=detail.workflow_hash, urls=links(detail.id))


def _detail(store: RunStore, run_id: str) -> Any:
    try:
        return store.get(resolve(store, run_id))
    except RunNotFoundError as e:
        raise ApiError(404, "not_found", str(e)) from None


@router.post("/{run_id}/cancel", status_code=202, response_model=RunInfo,
             responses=errors(404, 409))
async def cancel_run(run_id: str, svc: Service = Depends(service)) -> RunInfo:
    """Cancel a run this server is running or has queued: it ends as `cancelled`
    (watch its events for run_completed). 409 when it has finished already."""
    store = await svc.flushed_store()
    full = resolve(store, run_id)
    if not svc.cancel(full):
        raise ApiError(409, "not_running", f"run {full} is not running on this server "
                       "(finished, or run by another process); nothing to cancel")
    return RunInfo(**_detail(store, full).summary.to_dict())


@router.get("/{run_id}/events", response_model=RunEvents, responses=errors(404))
async def run_events(run_id: str, after_seq: int = Query(0, ge=0, le=2**53),
                     svc: Service = Depends(service)) -> RunEvents:
    """The events stored so far (FORMAT.md section 3), those with seq > after_seq. Over
    a WebSocket, the same path streams them live."""
    store = await svc.flushed_store()
    full = resolve(store, run_id)
    return RunEvents(run_id=full, events=[e.to_dict() for e in
                                          store.events(full, after_seq=after_seq)])


@router.get("/{run_id}/outputs", response_model=RunOutputs, responses=errors(404))
async def run_outputs(run_id: str, svc: Service = Depends(service)) -> RunOutputs:
    """The result and every node's full outputs (values over the store's size limit as
    marked previews)."""
    from engine.store.export import outputs_data

    store = await svc.flushed_store()
    detail = _detail(store, run_id)
    return RunOutputs(**outputs_data(detail, store.outputs(detail.id)))


@router.get("/{run_id}/artifacts", response_model=ArtifactList, responses=errors(404))
async def run_artifacts(run_id: str, svc: Service = Depends(service)) -> ArtifactList:
    """The files `flowcli runs export` writes."""
    store = await svc.flushed_store()
    full = resolve(store, run_id)
    return ArtifactList(run_id=full, artifacts=[
        Artifact(name=n, url=f"/runs/{full}/artifacts/{n}", media_type=m)
        for n, m in MEDIA.items()])


@router.get("/{run_id}/artifacts/{name}", response_model=None,
            responses={**errors(404), 200: {"content": {
                "application/json": {"schema": {}}, "text/plain": {"schema": {
                    "type": "string"}}}, "description": "The file"}})
async def run_artifact(run_id: str, name: Literal["trace.json", "logs.txt", "metadata.json",
                                                  "outputs.json"],
                       svc: Service = Depends(service)) -> Response:
    """One file, exactly as `flowcli runs export` writes it."""
    from engine.store.export import run_files

    store = await svc.flushed_store()
    full = resolve(store, run_id)
    try:
        texts = run_files(store, full)
    except StoreError as e:
        raise ApiError(404, "not_found", str(e)) from None
    return Response(texts[name], media_type=MEDIA[name], headers={
        "Content-Disposition": f'attachment; filename="{name}"'})
