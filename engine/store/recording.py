"""Starting a run that the store records: the one way the command line (`flowcli run`,
`flowcli runs retry`) and the editor start a stored run.

The preflight runs first, outside the run, so that the secrets the run will use are
known before anything about it is written: its inputs, trigger payload and workflow
snapshot are masked with them (a value typed as an input that happens to be a
secret never reaches the file). An invalid workflow is started as it is, so its run
still fails with its problems and its `run_completed`, as without a store.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from engine.core.events import Event
from engine.core.execution import OutputsHook, every_hook
from engine.core.preflight import PreparedWorkflow
from engine.core.runner import Run, Runner, new_run_id
from engine.errors import WorkflowInvalidError
from engine.secrets.redactor import Redactor
from engine.store.writer import StoreWriter
from engine.workflow.model import Workflow


def start_recorded(runner: Runner, writer: StoreWriter, workflow: Workflow | PreparedWorkflow,
                   inputs: Mapping[str, Any] | None = None, *, path: str | Path | None,
                   base_dir: Path, source: str = "cli",
                   subscribers: tuple[Callable[[Event], Any], ...] = (),
                   on_outputs: OutputsHook | None = None,
                   trigger: Mapping[str, Any] | None = None, masked: Iterable[str] = (),
                   retry_of: str | None = None, queued_at: float | None = None,
                   run_id: str | None = None, **options: Any) -> Run:
    """`runner.start(workflow, inputs, ...)` with the run recorded by `writer` from
    its first step; `options` go to `Runner.start` (max_parallel, timeout_s, bus...).
    A workflow prepared already (the editor compiles in steps) is not compiled again;
    `on_outputs` receives the full outputs too. Call on the running loop."""
    queued_at = queued_at or time.time()
    validating_at = time.time()
    masked = tuple(masked)
    try:
        checked = runner.preflight(workflow, inputs or {}, base_dir=base_dir)
    except WorkflowInvalidError:
        checked = None  # the run reports it; no secret was resolved, none can leak
    secrets = list(checked.secrets.values()) if checked is not None else []
    run_id = run_id or new_run_id()
    snapshot = workflow.workflow if isinstance(workflow, PreparedWorkflow) else workflow
    handle = writer.begin(run_id, snapshot, path=path,
                          inputs=checked.inputs if checked is not None else inputs,
                          trigger=trigger, source=source,
                          redactor=Redactor([*secrets, *masked]), queued_at=queued_at,
                          retry_of=retry_of)
    handle.validating(validating_at)
    return runner.start(checked if checked is not None else workflow,
                        None if checked is not None else inputs, run_id=run_id,
                        base_dir=base_dir, trigger=trigger, masked=masked,
                        subscribers=(*subscribers, writer.on_event),
                        on_outputs=every_hook(on_outputs, writer.on_outputs), **options)
