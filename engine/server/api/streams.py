"""Live events: `WS /runs/{id}/events` and Server-Sent Events at
`/runs/{id}/events/stream`, from `after_seq` on: the stored events, then the live ones,
no gap and no duplicate; the stream ends after `run_completed`.

Each WebSocket text message is a JSON array of one or more FORMAT.md section 3
event objects, in order: batching keeps 200 clients of a 2,000-node run from
costing 800,000 sends. Close codes: 1000 the run ended (all sent); 4401 no or a
wrong token; 4404 no such run; 4400 bad `after_seq`; 4008 the client fell too far
behind (or a send did not drain within `--client-send-timeout`): reconnect with
`after_seq` = the last seq received.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Header, Query, WebSocket
from fastapi.responses import StreamingResponse
from starlette.websockets import WebSocketDisconnect, WebSocketState

from engine.errors import RunNotFoundError
from engine.server.api.deps import require_token, service
from engine.server.api.errors import ApiError
from engine.server.api.live import Batch, SlowClient, as_batches, follow_live
from engine.server.api.responses import errors
from engine.server.api.service import Service
from engine.store.records import ACTIVE

POLL_S = 0.25  # a run of another process (not live here) is polled in the store this often
CLOSE_SLOW, CLOSE_AUTH, CLOSE_NOT_FOUND, CLOSE_BAD = 4008, 4401, 4404, 4400

router = APIRouter(tags=["runs"])

# One Server-Sent Event as OpenAPI 3.1 describes a `text/event-stream` item: its
# fields, `data` being one FORMAT.md section 3 event as JSON text.
SSE_EVENT = {"type": "object", "required": ["data"], "properties": {
    "id": {"type": "string", "description": "the event's seq"},
    "event": {"type": "string"},
    "data": {"type": "string", "contentMediaType": "application/json",
             "description": "the event object (FORMAT.md section 3)"}}}


async def find(svc: Service, run_id: str) -> str:
    """The full id of a run (or an unambiguous prefix). A run of this server is found in
    memory: the store is flushed (a commit, ~20 ms with its fsync) only when needed."""
    if run_id in svc.hub.runs:
        return run_id
    try:
        return svc.store.resolve(run_id)
    except RunNotFoundError:
        if not svc.accepted:
            raise
    return (await svc.flushed_store()).resolve(run_id)


async def follow(svc: Service, run_id: str, after_seq: int) -> AsyncIterator[Batch]:
    """Batches of events from `after_seq` to the run's end. A run of this server is
    followed in memory until its end has been committed to the store, and read from
    the store after that: no flush is needed to hand over without a gap."""
    cursor = after_seq
    while True:
        live = svc.hub.runs.get(run_id)
        if live is not None:
            async for batch in follow_live(live, cursor, svc.hub.max_lag):
                yield batch
            return
        store = svc.store
        events = store.events(run_id, after_seq=cursor)
        for batch in as_batches([e.to_dict() for e in events]):
            yield batch
        if events:
            cursor = events[-1].seq
            if events[-1].name == "run_completed":
                return
        if store.get(run_id).summary.status not in ACTIVE:
            return
        await asyncio.sleep(POLL_S)  # a run of another process: poll the store


@router.websocket("/runs/{run_id}/events")
async def events_socket(ws: WebSocket, run_id: str) -> None:
    svc: Service = ws.app.state.service
    await ws.accept()
    token = ws.query_params.get("token")
    tokens = ws.app.state.tokens
    if not (tokens.accepts_header(ws.headers.get("authorization"))
            if token is None else tokens.accepts(token)):
        await ws.close(CLOSE_AUTH, "a bearer token is required (Authorization header or "
                       "?token=)")
        return
    try:
        after_seq = int(ws.query_params.get("after_seq", "0"))
        if after_seq < 0:
            raise ValueError
    except ValueError:
        await ws.close(CLOSE_BAD, "after_seq must be a whole number >= 0")
        return
    try:
        full = await find(svc, run_id)
    except RunNotFoundError:
        await ws.close(CLOSE_NOT_FOUND, "no such run")
        return
    code, reason = 1000, "run ended"
    timeout = svc.options.send_timeout_s
    try:
        async for batch in follow(svc, full, after_seq):
            started = time.perf_counter()
            async with asyncio.timeout(timeout):
                await ws.send_text(batch.array)
            if batch.live is not None:
                batch.live.sent(time.perf_counter() - started)
    except SlowClient:
        code, reason = CLOSE_SLOW, "too slow: fell behind; reconnect with after_seq"
    except TimeoutError:
        code, reason = CLOSE_SLOW, "too slow: a send did not drain; reconnect with after_seq"
    except RunNotFoundError:
        code, reason = CLOSE_NOT_FOUND, "the run was deleted"
    except (WebSocketDisconnect, RuntimeError, OSError):
        return  # the client left
    if ws.application_state != WebSocketState.DISCONNECTED:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(timeout):
                await ws.close(code, reason)


@router.get("/runs/{run_id}/events/stream", dependencies=[Depends(require_token)],
            response_class=StreamingResponse, responses={**errors(404), 200: {
                "description": "text/event-stream: `id: <seq>` and `data: <event JSON>` "
                "per event, until run_completed",
                "content": {"text/event-stream": {"schema": SSE_EVENT}}}})
async def events_stream(run_id: str,
                        after_seq: int = Query(0, ge=0, le=2**53),
                        last_event_id: str | None = Header(None, max_length=32),
                        svc: Service = Depends(service)) -> StreamingResponse:
    """The run's events as Server-Sent Events (for clients without WebSockets), from
    `after_seq` or the `Last-Event-ID` a reconnecting EventSource sends."""
    if last_event_id is not None and last_event_id.isdigit():
        after_seq = max(after_seq, int(last_event_id))
    try:
        full = await find(svc, run_id)
    except RunNotFoundError as e:
        raise ApiError(404, "not_found", str(e)) from None

    async def lines() -> AsyncIterator[str]:
        try:
            async for batch in follow(svc, full, after_seq):
                yield "".join(f"id: {seq}\ndata: {text}\n\n" for seq, text in batch.pairs)
        except SlowClient as e:
            yield f"event: error\ndata: {e}\n\n"

    return StreamingResponse(lines(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
