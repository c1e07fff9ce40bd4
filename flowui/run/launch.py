"""One run started from the editor: its plan compiled in steps on the loop, then
started, and recorded in the run store as `flowcli run` records its runs.

Compiling 10,000 nodes takes a fifth of a second, which at once would freeze the
window, and in a worker thread froze it just as long (the thread starves the Qt
loop of the GIL; docs/notes.md). The preflight that follows the compile knows the
secrets the run will use, so the inputs and the workflow snapshot reach the store
masked. A store that cannot be opened (docs/limits.md) leaves the run unrecorded,
said once through `warn`, never a failed run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.core.bus import EventBus
from engine.core.execution import OutputsHook
from engine.core.output_cache import CachePolicy, RunCache
from engine.core.preflight import PreparedWorkflow
from engine.core.runner import Run, Runner, RunResult, new_run_id
from engine.errors import FlowError, StoreError, WorkflowInvalidError
from engine.store.recording import start_recorded
from engine.store.writer import StoreWriter
from engine.workflow.model import Workflow
from flowui.run.clusters import ClusterPool


class Launch:
    """A run of `workflow` in the making. Cancel it at any time; `result` is None
    until the run itself ends."""

    def __init__(self, runner: Runner, workflow: Workflow, inputs: dict[str, Any], *,
                 base_dir: Path, bus: EventBus, on_outputs: OutputsHook,
                 store: Path | None = None, workflow_path: Path | None = None,
                 warn: Callable[[str], None] = lambda _message: None,
                 policy: CachePolicy | None = None, clusters: ClusterPool | None = None,
                 **options: Any) -> None:
        self.run_id = new_run_id()
        self.queued_at = time.time()
        self.result: RunResult | None = None
        self.recorded = False  # whether the run store holds this run
        self._run: Run | None = None
        self._warn = warn
        self._policy = policy  # the output cache's use (recorded runs only)
        self._clusters = clusters  # where settings.executor sends node bodies
        self.refused: str | None = None  # why the run could not start (its executor)
        self._task = asyncio.ensure_future(self._go(
            runner, workflow, inputs, base_dir, bus, on_outputs, store, workflow_path,
            options))

    async def _go(self, runner: Runner, workflow: Workflow, inputs: dict[str, Any],
                  base_dir: Path, bus: EventBus, on_outputs: OutputsHook,
                  store: Path | None, workflow_path: Path | None,
                  options: dict[str, Any]) -> RunResult:
        source: PreparedWorkflow | Workflow
        try:
            source = await runner.prepare_async(workflow, base_dir=base_dir)
        except WorkflowInvalidError:
            source = workflow  # the run reports its problems as any run does
        if self._clusters is not None:
            try:
                execution = await self._clusters.execution_for(workflow, runner.registry)
            except FlowError as e:  # an unknown executor, no Dask, no scheduler, no type
                self.refused = f"The run could not start: {e}"
                self._warn(self.refused)
                return RunResult(self.run_id, "failed", {}, error={
                    "type": "executor", "message": str(e), "node": None})
            if execution is not None:
                runner = runner.using(execution)
        writer = self._writer(store)
        try:
            if writer is None:
                self._run = runner.start(source, inputs, base_dir=base_dir, run_id=self.run_id,
                                         bus=bus, on_outputs=on_outputs, **options)
            else:  # as `flowcli run` records its runs, the plan compiled already
                cache = RunCache(writer.output_cache, self._policy, workflow.name) \
                    if self._policy is not None else None
                self._run = start_recorded(
                    runner, writer, source, inputs, path=workflow_path, base_dir=base_dir,
                    source="editor", on_outputs=on_outputs, queued_at=self.queued_at,
                    run_id=self.run_id, bus=bus, cache=cache, **options)
                self.recorded = True
            self.result = await self._run.wait()
        finally:
            if writer is not None:
                await writer.close()  # every event committed before the run is "done"
        return self.result

    def _writer(self, store: Path | None) -> StoreWriter | None:
        if store is None:
            return None
        try:
            return StoreWriter(store, warn=self._warn, commit_in_thread=True)
        except (StoreError, OSError) as e:
            self._warn(f"This run is not recorded: {e}")
            return None

    def cancel(self) -> None:
        if self._run is not None:
            self._run.cancel()  # ends as cancelled, reporting every node
        else:
            self._task.cancel()  # still compiling: nothing ran, nothing to report

    async def wait(self) -> RunResult:
        return await asyncio.shield(self._task)
