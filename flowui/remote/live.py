"""Following a server's run over its WebSocket (`/runs/{id}/events?after_seq=N`).

Each message is a JSON array of events: every event is handed on as an engine Event
record, in order; a dropped connection is reopened from the last `seq` received, so
nothing is missed or repeated (the server's contract, docs/api.md)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from urllib.parse import quote

import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from engine.core.events import Event, RunCompleted
from flowui.remote.client import ServerClient
from flowui.remote.events import event_from_json

log = logging.getLogger("flowui.remote")
# websockets logs every header at DEBUG, the token's Authorization with them: its own
# logger, never below INFO, keeps the token out of any log.
_ws_log = logging.getLogger("flowui.remote.websocket")
_ws_log.setLevel(logging.INFO)
RETRY_DELAYS_S = (0.2, 0.5, 1.0, 2.0, 4.0)  # then 4 s between tries...
MAX_FAILURES = 20  # ...and give up after this many failed connections in a row
MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # one batch of events from the server
FINAL_CODES = {4401: "the server refused the token", 4404: "the server has no such run",
               4400: "the server refused the request"}


class FollowError(Exception):
    pass


async def follow(client: ServerClient, run_id: str, deliver: Callable[[Event], None],
                 *, after_seq: int = 0) -> int:
    """Deliver the run's events until its run_completed; the last seq delivered.
    Raises FollowError when the server refuses or stays unreachable."""
    failures = 0
    while True:
        url = f"{client.ws_url}/runs/{quote(run_id)}/events?after_seq={after_seq}"
        try:
            async with websockets.connect(url, additional_headers=client.ws_headers,
                                          max_size=MAX_MESSAGE_BYTES, proxy=None,
                                          logger=_ws_log,
                                          open_timeout=10) as ws:
                failures = 0
                async for message in ws:
                    for data in json.loads(message):
                        event = event_from_json(data)
                        if event is None or event.seq <= after_seq:
                            continue
                        after_seq = event.seq
                        deliver(event)
                        if type(event) is RunCompleted:
                            return after_seq
                code = ws.close_code
        except ConnectionClosed as e:
            code = e.rcvd.code if e.rcvd is not None else None
        except InvalidStatus as e:
            raise FollowError(f"the server refused to send the run's events "
                              f"({e.response.status_code})") from None
        except (OSError, WebSocketException, TimeoutError) as e:
            code = None
            log.info("the run's event stream dropped: %s", type(e).__name__)
        if code in FINAL_CODES:
            raise FollowError(f"{FINAL_CODES[code]} (close code {code})")
        failures += 1
        if failures > MAX_FAILURES:
            raise FollowError(f"lost the connection to {client.url} and could not reconnect")
        # Closed without its end (a restart, a proxy, 4008: too slow): reconnect from
        # the last event received.
        await asyncio.sleep(RETRY_DELAYS_S[min(failures, len(RETRY_DELAYS_S)) - 1])
