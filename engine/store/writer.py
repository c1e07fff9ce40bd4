"""Writing runs into the store as they go, off the run's hot path, yet durable.

A `StoreWriter` serves every run of one process. Its bus subscriber and outputs
hook only append the engine's (immutable, already masked) records to a list: tens
of nanoseconds on the run's loop. Every `FLUSH_INTERVAL_S` (and when a run ends, or
when a caller awaits `flush()`) a task on the same loop turns what has gathered into
rows, in slices of `SLICE_S` so a big batch never holds the loop, then commits: on
the loop, or (`commit_in_thread`, the editor's writers) in a worker thread, as
SQLite releases the GIL while it works. Serialising in that thread instead would
starve a Qt loop of the GIL (NOTES.md). A run killed with
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
from functools import partial
from pathlib import Path
from typing import Any

from engine.core.events import Event, RunCompleted, RunStarted
from engine.core.execution import NodeOutputs
from engine.errors import StoreError
from engine.secrets.redactor import Redactor
from engine.store import connection, journal
from engine.store.encode import MAX_VALUE_BYTES, events_json, outputs_json
from engine.store.liveness import HOST
from engine.store.output_cache import Changes, StoredOutputs
from engine.store.row_changes import INSERT_RUN, Change, apply, new_row
from engine.store.schema import INSERT_WORKFLOW
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
_KEEP_VALIDATING = frozenset(("validating_at",))


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
        self._update(Change(self.run_id, (("validating_at", time.time() if at is None else at),
                                          ("status", "validating")), from_queued=True))

    def dead_letter(self, error: Mapping[str, Any] | None = None) -> None:
        """Serve mode: the run did not complete (or its answer could not be sent); its
        payload is kept for `flowcli runs retry`."""
        values: tuple[tuple[str, Any], ...] = (("dead_letter_at", time.time()),)
        if error is not None:
            values += (("error", json_out.compact(self.redactor.scrub(dict(error)))),)
        self._update(Change(self.run_id, values))

    def abandon(self, status: str, error: Mapping[str, Any]) -> None:
        """The run never started (serve mode refused it after all): say so and why."""
        self.done = True
        self._update(Change(self.run_id, (
            ("status", status), ("finished_at", time.time()),
            ("error", json_out.compact(dict(error))), ("heartbeat", None))))

    def _update(self, change: Change) -> None:
        self.writer._gathered += 1
        self.writer._ops.append(change)


class StoreWriter:
    """Records runs of this process into one store; see the module docstring. Use on
    one event loop; `close()` (awaited) flushes and ends it."""

    def __init__(self, path: Path, *, max_value_bytes: int = MAX_VALUE_BYTES,
                 interval_s: float = FLUSH_INTERVAL_S,
                 warn: Callable[[str], None] | None = None,
                 commit_in_thread: bool = False) -> None:
        self.path = path
        # A window's writer commits in a worker thread: a big batch's commit (~1 MB,
        # several ms) would stall its frames. Without a window, on the loop: the thread
        # costs more than it saves (GIL hand-offs for every row bound; serve mode with
        # the store 3,300 -> 3,500 requests/s, docs/notes.md).
        self.commit_in_thread = commit_in_thread
        self.max_value_bytes = max_value_bytes
        self.interval_s = interval_s
        self._warn = warn or log.warning
        self.db = connection.connect(path, warn=warn)
        journal.recover(self.db, path)  # runs accepted by a process that died
        self.pid = os.getpid()
        self._events: list[Event] = []
        self._outputs: list[NodeOutputs] = []
        self._ops: list[Change] = []  # in order, after the inserts
        self._inserts: list[list[Any]] = []
        self._snapshots: list[tuple[str, str]] = []
        self._runs: dict[str, RunHandle] = {}  # runs being written
        self._snapshot: tuple[Workflow | None, str, str] = (None, "", "")  # workflow, hash, text
        self._journal: journal.Journal | None = None  # made by the first durable begin()
        self._lock: asyncio.Lock | None = None
        self._task: asyncio.Task[None] | None = None
        self._beat = 0.0
        self._failed = False
        self.commits = 0  # for tests and benchmarks
        self._gathered = 0  # records handed to the writer so far
        self._committed = 0  # of those, how many are committed (or given up)
        self._paths: dict[str, str] = {}  # a workflow path as given -> resolved
        self._outputs_cache: StoredOutputs | None = None  # made on first use

    @property
    def output_cache(self) -> StoredOutputs:
        """The output cache in this store: runs record into it and reuse from it
        (engine.core.output_cache.RunCache); committed with this writer's flushes."""
        if self._outputs_cache is None:
            self._outputs_cache = StoredOutputs(self.path)
        return self._outputs_cache

    # --- what runs call ----------------------------------------------------------------------

    def begin(self, run_id: str, workflow: Workflow, *, path: str | Path | None = None,
              inputs: Mapping[str, Any] | None = None,
              trigger: Mapping[str, Any] | None = None, source: str = "cli",
              redactor: Redactor | None = None, queued_at: float | None = None,
              retry_of: str | None = None, durable: bool = False) -> RunHandle:
        """Record a run as queued. `redactor` must know every secret value the run may
        see (the preflight's secrets, serve mode's client credentials): inputs, trigger
        payload and snapshot are masked with it before they are stored. Must be called
        on the running loop. With `durable`, the row survives a SIGKILL from the moment
        this returns (engine.store.journal), without waiting for a commit."""
        redactor = redactor or _NO_SECRETS
        handle = RunHandle(self, run_id, redactor)
        self._runs[run_id] = handle
        digest = self._remember(workflow, redactor)
        now = time.time()
        if path is not None and str(path) not in self._paths:
            self._paths[str(path)] = str(Path(path).resolve())
        self._gathered += 1
        row = new_row(id=run_id, workflow=workflow.name or "",
                      workflow_path=self._paths[str(path)] if path else None,
                      workflow_hash=digest, source=source, trigger=_json(trigger, redactor),
                      inputs=_json(inputs if inputs is not None else {}, redactor),
                      status="queued", queued_at=queued_at or now, retry_of=retry_of,
                      pid=self.pid, host=HOST, heartbeat=now)
        self._inserts.append(row)
        if durable:
            self._journal_add(tuple(row))
        self._start()
        return handle

    def _journal_add(self, row: tuple[Any, ...]) -> None:
        if self._journal is None:
            self._journal = journal.Journal(self.path)
        try:
            self._journal.add(row, self._snapshot[1:])
        except OSError as e:  # the next commit stores the run all the same
            if not self._failed:
                self._warn(f"{self._journal.path}: cannot write the run journal ({e}); "
                           "accepted runs are durable at the next commit only")
            self._failed = True

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
                if self._journal is not None:
                    self._journal.close()
        if self._outputs_cache is not None:
            self._outputs_cache.close()
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
        return bool(self._events or self._outputs or self._ops or self._inserts) or (
            self._outputs_cache is not None and self._outputs_cache.pending())

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
        journaled = self._journal.written if self._journal is not None else 0
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
            ops += [Change(run_id, (("heartbeat", now),))
                    for run_id, h in self._runs.items() if not h.done]
        for run_id in [run_id for run_id, h in self._runs.items() if h.done]:
            del self._runs[run_id]
        rows, updates = apply(inserts, ops)  # a run begun and ended since: one row written
        cached = self._outputs_cache.take() if self._outputs_cache is not None else None
        try:
            commit = partial(connection.write, self.db, lambda db: _commit(
                db, snapshots, rows, event_rows, output_rows, updates, cached), self.path)
            if self.commit_in_thread:
                await in_thread(commit)
            else:
                commit()
            self.commits += 1
            if cached is not None:
                cached.cache.committed(cached)
            self._failed = False
            self._committed = taken
            if self._journal is not None:
                self._journal.committed(journaled)
        except StoreError as e:  # the store must never break a run: say so, go on
            if not self._failed:
                self._warn(f"{e}; this run is not being recorded")
            self._failed = True
            self._committed = taken  # dropped: waiting for it again would never end

    def _lifecycle(self, events: list[Event]) -> list[Change]:
        """Row changes the lifecycle events in `events` call for."""
        ops: list[Change] = []
        for e in [e for e in events if type(e) in _LIFECYCLE]:
            if type(e) is RunStarted:
                ops.append(Change(e.run_id, (("status", "running"), ("running_at", e.timestamp),
                                             ("validating_at", e.timestamp)),
                                  keep=_KEEP_VALIDATING))
            elif type(e) is RunCompleted:
                self._runs[e.run_id].done = True
                error = (("error", _json(e.error)),) if e.error is not None else ()
                ops.append(Change(e.run_id, (
                    ("status", e.status), ("finished_at", e.timestamp),
                    ("duration_ms", e.duration_ms), *error, ("failed_node", e.failed_node),
                    ("outputs", json_out.compact(e.outputs)),
                    ("node_errors", json_out.compact(e.node_errors)),
                    ("interrupted_at", None), ("heartbeat", None))))
        return ops

    def _remember(self, workflow: Workflow, redactor: Redactor) -> str:
        """The workflow's snapshot hash; the snapshot itself is stored once per hash.
        The last one is kept: serve mode runs one workflow thousands of times, each
        request with its own masks (client credentials) but the same secrets."""
        last, digest, _ = self._snapshot
        if last is not workflow:
            from engine.workflow.file import to_data

            text = json_out.compact(redactor.scrub(to_data(workflow)))
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
            self._snapshot = (workflow, digest, text)
            self._snapshots.append((digest, text))
        return digest


def _commit(db: Any, snapshots: list[tuple[str, str]], inserts: list[tuple[Any, ...]],
            events: list[tuple[Any, ...]], outputs: list[tuple[Any, ...]],
            ops: list[tuple[str, tuple[Any, ...]]], cached: Changes | None = None) -> None:
    db.executemany(INSERT_WORKFLOW, snapshots)
    db.executemany(INSERT_RUN, inserts)
    # SELECT ... FROM runs: a run deleted while it went on just stops being written.
    db.executemany("INSERT OR REPLACE INTO events (run, first_seq, last_seq, data) "
                   "SELECT rowid, ?, ?, ? FROM runs WHERE id = ?", events)
    db.executemany("INSERT OR REPLACE INTO outputs (run, batch, data) "
                   "SELECT rowid, ?, ? FROM runs WHERE id = ?", outputs)
    for sql, args in ops:
        db.execute(sql, args)
    if cached is not None:
        cached.write(db)


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
