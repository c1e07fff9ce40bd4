"""A whole run on a Dask worker (serve mode's `--distribute runs`): the local engine
runs it there, and its events go back to the driving process in batches as it goes
(Dask's event topics, through the scheduler) and all of them with the result, so
none is lost to the race between the last batch and the result.

Like every task of ours it never raises: a fault comes back as a failed result.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import threading
import time
from typing import Any

from engine.core.events import Event
from engine.core.execution import NodeOutputs
from engine.core.preflight import Checked, PreparedWorkflow, prepare
from engine.core.runner import Runner
from engine.distributed.payload import RunTask, Sealed
from engine.distributed.worker import _run, registry_for, worker_address
from engine.support.file_roots import allow
from engine.workflow.file import loads

FLUSH_S = 0.1  # a batch of events leaves at most this long after its first event
StampedEvent = tuple[str, int, float, tuple[Any, ...]]  # name, seq, timestamp, fields


def stamped(e: Event) -> StampedEvent:
    return (e.name, e[1], e[2], tuple(e[3:]))


def run_whole(task: Sealed[RunTask]) -> tuple[dict[str, Any], list[StampedEvent],
                                               dict[str, Any] | None, list[NodeOutputs], str,
                                               str]:
    """(the result's to_dict(), every event, what http.respond sent, the full outputs
    when the run keeps them, the worker, this attempt's token). Dask runs the task
    again when its worker dies: each execution has a token of its own, so that the
    driving process tells one attempt's events from the next's."""
    t = task.open()
    worker = worker_address()
    token = secrets.token_hex(4)
    sink: list[Event] = []
    kept: list[NodeOutputs] = []
    response = None
    try:
        result, response = _run(_whole(t, sink, kept, token), block=False)
    except BaseException as e:  # never raised to Dask: it would log the task's arguments
        result = {"run_id": t.run.run_id, "status": "failed", "outputs": {},
                  "error": {"type": type(e).__name__, "node": None,
                            "message": f"the run failed on worker {worker}: {e}"},
                  "failed_node": None, "node_errors": [], "duration_ms": 0.0}
    return result, [stamped(e) for e in sink], response, kept, worker, token


async def _whole(t: RunTask, sink: list[Event], kept: list[NodeOutputs], token: str,
                 ) -> tuple[dict[str, Any], dict[str, Any] | None]:
    registry = registry_for(t.run.plugins)
    if t.run.file_roots:
        allow(t.run.file_roots)
    checked = Checked(_prepared(t, registry), t.inputs, t.run.secrets)
    stream = _Stream(t.topic, sink, token)
    run = Runner(registry).start(
        checked, subscribers=(stream.add,), run_id=t.run.run_id, trigger=t.trigger,
        options=t.run.options, masked=t.masked, timeout_s=t.timeout_s,
        on_outputs=kept.append if t.run.outputs else None)
    flusher = asyncio.ensure_future(stream.flush_every(FLUSH_S))
    try:
        result = await run.wait()
    finally:
        flusher.cancel()
    return result.to_dict(), run.response


_cache: dict[tuple[str, str, str | None], PreparedWorkflow] = {}
_lock = threading.Lock()
MAX_PREPARED = 64  # workflows a worker keeps compiled (serve mode sends one many times)


def _prepared(t: RunTask, registry: Any) -> PreparedWorkflow:
    key = (hashlib.sha256(t.workflow.encode()).hexdigest(), str(t.base_dir), t.run.plugins)
    with _lock:
        found = _cache.get(key)
    if found is None:
        workflow = loads(t.workflow, source="the run's workflow")
        found = prepare(workflow, registry, base_dir=t.base_dir)
        with _lock:
            while len(_cache) >= MAX_PREPARED:
                del _cache[next(iter(_cache))]
            _cache[key] = found
    return found


class _Stream:
    """Collects a run's events and sends the new ones every FLUSH_S seconds."""

    def __init__(self, topic: str, sink: list[Event], token: str) -> None:
        self.topic = topic
        self.sink = sink
        self.token = token
        self.sent = 0

    def add(self, event: Event) -> None:
        self.sink.append(event)

    async def flush_every(self, period: float) -> None:
        try:
            from distributed import get_client

            client = get_client()
        except (ImportError, ValueError):
            return  # not on a worker: everything goes back with the result
        while True:
            await asyncio.sleep(period)
            if self.sent < len(self.sink):
                batch = [stamped(e) for e in self.sink[self.sent:]]
                self.sent += len(batch)
                started = time.perf_counter()
                client.log_event(self.topic, (worker_address(), self.token, batch))
                if time.perf_counter() - started > period:  # a slow scheduler: less often
                    period *= 2
