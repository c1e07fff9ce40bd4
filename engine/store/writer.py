"""Writing runs into the store as they go, off the run's hot path, yet durable.

A `StoreWriter` serves every run of one process. Its bus subscriber and outputs
hook only append the engine's (immutable, already masked) records to a list: tens
of nanoseconds on the run's loop. Every `FLUSH_INTERVAL_S` (and when a run ends, or
when a caller awaits `flush()`) a task on the same loop turns what has gathered into
rows, in slices of `SLICE_S` so a big batch never holds the loop, and hands only the
SQLite commit (which releases the GIL) to a worker thread. Serialising in that
thread instead would starve a Qt loop of the GIL (NOTES.md). A run killed with
SIGKILL therefore loses at most what arrived after the last commit: one interval
plus one commit (docs/notes.md has the measured figure).

While a run goes on, its row carries the writer's pid, host and a heartbeat
(`HEARTBEAT_S`), so a reader can tell a run whose process died (engine.store.store).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import operator
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.core.events import Event, RunCompleted, RunStarted
from engine.core.execution import NodeOutputs
from engine.errors import StoreError
from engine.secrets.redactor import Redactor
from engine.store import connection
from engine.store.encode import MAX_VALUE_BYTES, events_json, outputs_json
from engine.store.store import HOST
from engine.support import json_out
from engine.support.threads import in_thread
from engine.workflow.model import Workflow

log = logging.getLogger("flowui.store")

FLUSH_INTERVAL_S = 0.05  # how often gathered records are committed
HEARTBEAT_S = 5.0  # how often a run's row says its process is alive when nothing else does
SLICE_S = 0.004  # serialising on the loop yields after this long
_CHUNK = 500  # records per stored chunk
_NO_SECRETS = Redactor(())
_LIFECYCLE = frozenset((RunStarted, RunCompleted))
_RUN_ID = operator.itemgetter(0)
_INSERT = ("INSERT OR IGNORE INTO runs (id, workflow, workflow_path, workflow_hash, source, "
           "trigger, inputs, status, queued_at, validating_at, retry_of, pid, host, heartbeat) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


@dataclass(eq=False)
class RunHandle:
    """One run this process is writing. Tell it the lifecycle steps the engine does
    not announce with an event (`validating`, `dead_letter`); events do the rest."""

    writer: StoreWriter
    run_id: str
    redactor: Redactor
    batches: int = 0  # outputs chunks written
    done: bool = False

    def validating(self, at: float | None = None) -> None:
        self._update("validating_at = ?, status = CASE WHEN status = 'queued' THEN "
                     "'validating' ELSE status END", time.time() if at is None else at)

    def dead_letter(self, error: Mapping[str, Any] | None = None) -> None:
        """Serve mode: the run did not complete (or its answer could not be sent); its
        payload is kept for `flowcli runs retry`."""
        if error is not None:
            self._update("dead_letter_at = ?, error = ?", time.time(),
                         json_out.compact(self.redactor.scrub(dict(error))))
        else:
            self._update("dead_letter_at = ?", time.time())

    def abandon(self, status: str, error: Mapping[str, Any]) -> None:
        """The run never started (serve mode refused it after all): say so and why."""
        self.done = True
        self._update("status = ?, finished_at = ?, error = ?, heartbeat = NULL", status,
                     time.time(), json_out.compact(dict(error)))

    def _update(self, assignments: str, *args: Any) -> None:
        self.writer._gathered += 1
        self.writer._ops.append((f"UPDATE runs SET {assignments} WHERE id = ?",
                                 (*args, self.run_id)))


class StoreWriter:
    """Records runs of this process into one store; see the module docstring. Use on
    one event loop; `close()` (awaited) flushes and ends it."""

    def __init__(self, path: Path, *, max_value_bytes: int = MAX_VALUE_BYTES,
                 interval_s: float = FLUSH_INTERVAL_S,
                 warn: Callable[[str], None] | None = None) -> None:
        self.path = path
        self.max_value_bytes = max_value_bytes
        self.interval_s = interval_s
        self._warn = warn or log.warning
        self.db = connection.connect(path, warn=warn)
        self.pid = os.getpid()
        self._events: list[Event] = []
        self._outputs: list[NodeOutputs] = []
        self._ops: list[tuple[str, tuple[Any, ...]]] = []  # in order, after the inserts
        self._inserts: list[tuple[Any, ...]] = []
        self._snapshots: list[tuple[str, str]] = []
        self._runs: dict[str, RunHandle] = {}  # runs being written
        self._snapshot: tuple[Workflow | None, str] = (None, "")
        self._lock: asyncio.Lock | None = None
        self._task: asyncio.Task[None] | None = None
        self._beat = 0.0
        self._failed = False
        self.commits = 0  # for tests and benchmarks
        self._gathered = 0  # records handed to the writer so far
        self._committed = 0  # of those, how many are committed (or given up)
        self._paths: dict[str, str] = {}  # a workflow path as given -> resolved

    # --- what runs call ----------------------------------------------------------------------

    def begin(self, run_id: str, workflow: Workflow, *, path: str | Path | None = None,
              inputs: Mapping[str, Any] | None = None,
              trigger: Mapping[str, Any] | None = None, source: str = "cli",
              redactor: Redactor | None = None, queued_at: float | None = None,
              retry_of: str | None = None) -> RunHandle:
        """Record a run as queued. `redactor` must know every secret value the run may
        see (the preflight's secrets, serve mode's client credentials): inputs, trigger
        payload and snapshot are masked with it before they are stored. Must be called
        on the running loop; `await flush()` when the row must be durable at once."""
        redactor = redactor or _NO_SECRETS
        handle = RunHandle(self, run_id, redactor)
        self._runs[run_id] = handle
        digest = self._remember(workflow, redactor)
        now = time.time()
        if path is not None and str(path) not in self._paths:
            self._paths[str(path)] = str(Path(path).resolve())
        self._gathered += 1
        self._inserts.append((
            run_id, workflow.name or "", self._paths[str(path)] if path else None, digest,
            source, _json(trigger, redactor), _json(inputs if inputs is not None else {},
                                                    redactor),
            "queued", queued_at or now, None, retry_of, self.pid, HOST, now))
        self._start()
        return handle

    def on_event(self, event: Event) -> None:
        """The bus subscriber (sync: an append, nothing more on the run's path)."""
        self._events.append(event)
        self._gathered += 1

    def on_outputs(self, record: NodeOutputs) -> None:
        """The run's full-outputs hook (`Runner.start(on_outputs=...)`)."""
        self._outputs.append(record)
        self._gathered += 1

    async def flush(self) -> None:
        """Commit at least everything gathered so far. Callers that arrive while a flush
        is under way share the next one (group commit): serve mode awaits this for
        every request, and one commit each would bound its throughput."""
        if self._lock is None:  # nothing was ever begun
            return
        wanted = self._gathered
        async with self._lock:
            if self._committed < wanted:
                await self._flush_now()

    async def close(self) -> None:
        """Flush, stop the timer, close the connection."""
        if self._lock is not None:
            async with self._lock:  # the timer is asleep or waiting: never mid-commit
                if self._task is not None:
                    self._task.cancel()
                if self._pending():
                    await self._flush_now()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.db.close()

    # --- the flush -------------------------------------------------------------------------------

    def _start(self) -> None:
        if self._task is None:
            self._lock = asyncio.Lock()
            self._task = asyncio.get_running_loop().create_task(self._every_interval())

    def _pending(self) -> bool:
        return bool(self._events or self._outputs or self._ops or self._inserts)

    async def _every_interval(self) -> None:
        assert self._lock is not None
        while True:
            await asyncio.sleep(self.interval_s)
            beat = self._runs and time.time() - self._beat > HEARTBEAT_S
            if self._pending() or beat:
                async with self._lock:
                    await self._flush_now()

    async def _flush_now(self) -> None:
        taken = self._gathered
        events, self._events = self._events, []
        outputs, self._outputs = self._outputs, []
        inserts, self._inserts = self._inserts, []
        snapshots, self._snapshots = self._snapshots, []
        ops, self._ops = self._ops, []
        deadline = time.perf_counter() + SLICE_S
        event_rows: list[tuple[Any, ...]] = []
        for run_id, found in _by_run(events, self._runs).items():
            for start in range(0, len(found), _CHUNK):
                part = found[start:start + _CHUNK]
                event_rows.append((part[0].seq, part[-1].seq, events_json(part), run_id))
                ops += self._lifecycle(part)
                if time.perf_counter() > deadline:  # let the run (and a Qt window) go on
                    await asyncio.sleep(0)
                    deadline = time.perf_counter() + SLICE_S
        output_rows: list[tuple[Any, ...]] = []
        for run_id, records in _by_run(outputs, self._runs).items():
            handle = self._runs[run_id]
            for start in range(0, len(records), _CHUNK):
                handle.batches += 1
                output_rows.append((handle.batches, outputs_json(
                    records[start:start + _CHUNK], self.max_value_bytes), run_id))
                if time.perf_counter() > deadline:
                    await asyncio.sleep(0)
                    deadline = time.perf_counter() + SLICE_S
        now = time.time()
        if now - self._beat > HEARTBEAT_S:
            self._beat = now
            ops += [("UPDATE runs SET heartbeat = ? WHERE id = ?", (now, run_id))
                    for run_id, h in self._runs.items() if not h.done]
        for run_id in [run_id for run_id, h in self._runs.items() if h.done]:
            del self._runs[run_id]
        try:
            await in_thread(connection.write, self.db, lambda db: _commit(
                db, snapshots, inserts, event_rows, output_rows, ops), self.path)
            self.commits += 1
            self._failed = False
            self._committed = taken
        except StoreError as e:  # the store must never break a run: say so, go on
            if not self._failed:
                self._warn(f"{e}; this run is not being recorded")
            self._failed = True
            self._committed = taken  # dropped: waiting for it again would never end

    def _lifecycle(self, events: list[Event]) -> list[tuple[str, tuple[Any, ...]]]:
        """Row updates the lifecycle events in `events` call for."""
        ops: list[tuple[str, tuple[Any, ...]]] = []
        for e in [e for e in events if type(e) in _LIFECYCLE]:
            if type(e) is RunStarted:
                ops.append(("UPDATE runs SET status = 'running', running_at = ?, "
                            "validating_at = coalesce(validating_at, ?) WHERE id = ?",
                            (e.timestamp, e.timestamp, e.run_id)))
            elif type(e) is RunCompleted:
                self._runs[e.run_id].done = True
                ops.append((
                    "UPDATE runs SET status = ?, finished_at = ?, duration_ms = ?, "
                    "error = coalesce(?, error), failed_node = ?, outputs = ?, "
                    "node_errors = ?, interrupted_at = NULL, heartbeat = NULL WHERE id = ?",
                    (e.status, e.timestamp, e.duration_ms, _json(e.error), e.failed_node,
                     json_out.compact(e.outputs), json_out.compact(e.node_errors), e.run_id)))
        return ops

    def _remember(self, workflow: Workflow, redactor: Redactor) -> str:
        """The workflow's snapshot hash; the snapshot itself is stored once per hash.
        The last one is kept: serve mode runs one workflow thousands of times, each
        request with its own masks (client credentials) but the same secrets."""
        last, digest = self._snapshot
        if last is not workflow:
            from engine.workflow.file import to_data

            text = json_out.compact(redactor.scrub(to_data(workflow)))
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
            self._snapshot = (workflow, digest)
            self._snapshots.append((digest, text))
        return digest


def _commit(db: Any, snapshots: list[tuple[str, str]], inserts: list[tuple[Any, ...]],
            events: list[tuple[Any, ...]], outputs: list[tuple[Any, ...]],
            ops: list[tuple[str, tuple[Any, ...]]]) -> None:
    db.executemany("INSERT OR IGNORE INTO workflows (hash, snapshot) VALUES (?, ?)", snapshots)
    db.executemany(_INSERT, inserts)
    # SELECT ... FROM runs: a run deleted while it went on just stops being written.
    db.executemany("INSERT OR REPLACE INTO events (run, first_seq, last_seq, data) "
                   "SELECT rowid, ?, ?, ? FROM runs WHERE id = ?", events)
    db.executemany("INSERT OR REPLACE INTO outputs (run, batch, data) "
                   "SELECT rowid, ?, ? FROM runs WHERE id = ?", outputs)
    for sql, args in ops:
        db.execute(sql, args)


def _by_run(records: list[Any], known: Mapping[str, RunHandle]) -> dict[str, list[Any]]:
    """Records grouped by run, in order; records of runs not begun here are dropped (the
    editor's bus also carries runs nobody asked to store)."""
    runs = set(map(_RUN_ID, records))  # C speed: usually one run, kept whole
    if len(runs) == 1:
        (only,) = runs
        return {only: records} if only in known else {}
    out: dict[str, list[Any]] = {}
    for record in records:
        run_id = record[0]
        if run_id in known:
            found = out.get(run_id)
            if found is None:
                out[run_id] = found = []
            found.append(record)
    return out


def _json(value: Any, redactor: Redactor = _NO_SECRETS) -> str | None:
    return None if value is None else json_out.compact(redactor.scrub(value))
