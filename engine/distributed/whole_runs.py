"""Whole runs on Dask workers (`flowcli serve --distribute runs`): each triggered run
is checked here (plan, inputs, secrets: before any worker sees it), then runs on a
worker with the local engine, its events coming back in batches as it goes and
published here in order, with its own run id and numbering, so the run store, the
event stream and the caller's answer are those of a local run.

`DistributingRunner` is a Runner whose `start` gives a `RemoteRun` (the part of
`Run` that serve mode uses: `wait`, `cancel`, `response`, `redactor`, `run_id`).
Cancelling ends the run as cancelled here at once and cancels its task; a run a
worker has already begun goes on there to its end, its events no longer read. A
worker lost mid-run: Dask runs it again elsewhere from the start; the events already
published stay, a run_retrying says so, and the new attempt's events follow,
numbered on (each attempt's batches carry a token of their own).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.core.bus import EventBus
from engine.core.events import EVENT_TYPES, Event, RunCompleted, RunRetrying
from engine.core.preflight import Checked
from engine.core.runner import Runner, RunResult, new_run_id
from engine.distributed.execution import lost_error
from engine.distributed.payload import RunTask, Sealed, task_key
from engine.distributed.worker_runs import StampedEvent, run_whole
from engine.secrets.redactor import Redactor
from engine.workflow.file import dumps

if TYPE_CHECKING:
    from engine.core.execution import OutputsHook
    from engine.distributed.cluster import DaskCluster

_new = tuple.__new__


class DistributingRunner(Runner):
    """A Runner whose runs each run whole on a worker of `cluster`. Only checked runs
    (serve mode's) are distributed; anything else runs here as usual."""

    def __init__(self, cluster: DaskCluster, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cluster = cluster

    def start(self, source: Any, inputs: Mapping[str, Any] | None = None, *,
              bus: EventBus | None = None, subscribers: tuple[Callable[[Event], Any], ...] = (),
              base_dir: str | Path | None = None, run_id: str | None = None,
              max_parallel: int | None = None, timeout_s: float | None = None,
              trigger: Mapping[str, Any] | None = None,
              options: Mapping[str, Any] | None = None,
              on_outputs: OutputsHook | None = None, masked: Iterable[str] = (),
              cache: Any = None) -> Any:
        # (a run that uses the output cache stays here: the cache is this machine's store)
        if not isinstance(source, Checked) or inputs or max_parallel is not None \
                or cache is not None:
            return super().start(source, inputs, bus=bus, subscribers=subscribers,
                                 base_dir=base_dir, run_id=run_id, max_parallel=max_parallel,
                                 timeout_s=timeout_s, trigger=trigger, options=options,
                                 on_outputs=on_outputs, masked=masked, cache=cache)
        bus = bus or EventBus()
        for fn in subscribers:
            bus.subscribe(fn)
        return RemoteRun(self.cluster, source, bus, run_id or new_run_id(), timeout_s,
                         dict(trigger) if trigger is not None else None, dict(options or {}),
                         on_outputs, tuple(v for v in masked if v))


class RemoteRun:
    def __init__(self, cluster: DaskCluster, checked: Checked, bus: EventBus, run_id: str,
                 timeout_s: float | None, trigger: dict[str, Any] | None,
                 options: dict[str, Any], on_outputs: OutputsHook | None,
                 masked: tuple[str, ...]) -> None:
        self.cluster = cluster
        self.run_id = run_id
        self.status = "queued"
        self.response: dict[str, Any] | None = None
        self.result: RunResult | None = None
        self.worker: str | None = None
        self.redactor = Redactor([*checked.secrets.values(), *masked])
        self._bus = bus
        self._on_outputs = on_outputs
        self._seq = 0  # the last event published
        self._token: str | None = None  # the attempt whose events are being published
        self._past: set[str] = set()
        self._offset = 0  # what that attempt's numbers are shifted by
        self._attempt = 1
        self._worker_of_token = ""
        self._started = time.perf_counter()
        prepared = checked.prepared
        self._task_spec = RunTask(
            cluster.run_part_for(run_id, dict(checked.secrets), options,
                                 outputs=on_outputs is not None),
            dumps(prepared.workflow), prepared.base_dir, dict(checked.inputs), trigger,
            masked, timeout_s, f"flowui-events-{run_id}")
        self._task = asyncio.get_running_loop().create_task(self._main())

    def cancel(self) -> None:
        if self.result is None:
            self._task.cancel()

    async def wait(self) -> RunResult:
        return await asyncio.shield(self._task)

    async def _main(self) -> RunResult:
        cluster, client, spec = self.cluster, self.cluster.client, self._task_spec
        client.subscribe_topic(spec.topic, self._on_batch)
        key = task_key("run", self.run_id, "run")
        future = client.submit(run_whole, Sealed("run", spec), key=key, pure=False)
        self.status = "running"
        try:
            got = await future
        except asyncio.CancelledError:
            cluster.cancel([future])
            return self._finish(self._ended("cancelled"))
        except Exception as e:  # Dask gave up on it (its workers kept dying)
            error = lost_error(e)
            return self._finish(self._ended("failed", {"type": error.type, "node": None,
                                                       "message": str(error)}))
        finally:
            client.unsubscribe_topic(spec.topic)
        result, events, self.response, kept, self.worker, token = got
        self._publish(events, self.worker, token)  # those the batches did not bring yet
        if self._on_outputs is not None:
            for record in kept:
                self._on_outputs(record)
        return self._finish(RunResult(
            result["run_id"], result["status"], result["outputs"], result["error"],
            result["failed_node"], result["node_errors"], result["duration_ms"],
            metadata=result.get("metadata", {})))

    def _finish(self, result: RunResult) -> RunResult:
        self.status, self.result = result.status, result
        return result

    def _on_batch(self, event: tuple[float, Any]) -> None:
        if self.result is None:
            worker, token, events = event[1]
            self._publish(events, worker, token)

    def _publish(self, events: list[StampedEvent], worker: str, token: str) -> None:
        """Events in order, each once (a batch may arrive after the result), node events
        naming the worker. A new token is Dask's new attempt after a lost worker: a
        run_retrying says so, and that attempt's events follow, numbered on."""
        if token != self._token:
            if self._token is not None and token in self._past:
                return  # a late batch of an attempt already given up
            if self._token is not None:
                self._past.add(self._token)
                self._attempt += 1
                self._seq += 1
                self._bus.publish(_new(RunRetrying, (
                    self.run_id, self._seq, time.time(), self._attempt,
                    {"type": "WorkerLost", "message": f"the worker running this run "
                     f"({self._worker_of_token}) was lost; Dask runs it again on {worker}"})))
            # a later attempt's run_started (its seq 1) is left out: numbers go on
            self._offset = self._seq - 1 if self._token is not None else 0
            self._token, self._worker_of_token = token, worker
        publish = self._bus.publish
        offset = self._offset
        for name, seq, ts, fields in events:
            cls: Any = EVENT_TYPES.get(name)
            if cls is None or seq + offset <= self._seq or (offset and name == "run_started"):
                continue
            self._seq = seq + offset
            if cls.short >= 0:
                fields = (*fields[:-1], worker)
            publish(_new(cls, (self.run_id, self._seq, ts, *fields)))

    def _ended(self, status: str, error: dict[str, Any] | None = None) -> RunResult:
        """The run's end as seen here (cancelled, or lost): its run_completed too."""
        result = RunResult(self.run_id, status, {}, error,
                           duration_ms=round((time.perf_counter() - self._started) * 1000, 3))
        self._seq += 1
        self._bus.publish(_new(RunCompleted, (
            self.run_id, self._seq, time.time(), status, result.duration_ms, {}, error, None,
            [])))
        return result
