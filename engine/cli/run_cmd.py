"""`flowcli run WORKFLOW`: run once, live progress on stderr, the result on stdout."""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from engine.cli.common import (
    EXIT_FOR_STATUS,
    allow_path_option,
    fail,
    invalid,
    jsonl_writer,
    load_registry,
    load_workflow,
    on_stop_signals,
    printer,
)
from engine.cli.executor_opts import executor_choice, executor_option, on_executor
from engine.cli.store_opts import open_writer, store_option
from engine.errors import InputsError
from engine.support import json_out

if TYPE_CHECKING:
    from engine.core.runner import Run, Runner, RunResult
    from engine.store.writer import StoreWriter
    from engine.workflow.model import Workflow


@click.command()
@click.argument("workflow", type=click.Path(dir_okay=False))
@click.option("--input", "input_pairs", multiple=True, metavar="NAME=VALUE",
              help="A workflow input (repeatable); JSON for non-string inputs.")
@click.option("--inputs-file", type=click.Path(dir_okay=False),
              help="A JSON object of input values.")
@click.option("--events", type=click.Choice(["jsonl", "pretty", "none"]), default="pretty",
              show_default=True, help="jsonl: every event on stdout; pretty: live progress on "
              "stderr; none: only logs and errors.")
@click.option("--output", type=click.Path(dir_okay=False),
              help="Write the result object to this file instead of stdout.")
@click.option("--max-parallel", type=click.IntRange(min=1), help="Overrides settings.max_parallel.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Overrides settings.timeout_s: fail the run after this long.")
@click.option("--no-store", is_flag=True,
              help="Do not record the run in the run store (`flowcli runs` lists stored runs).")
@store_option
@click.option("--trigger-payload", metavar="JSON|@FILE",
              help="What trigger nodes fire with, e.g. '{\"body\": {\"x\": 1}}' or @req.json.")
@click.option("--test-run", is_flag=True,
              help="A test run: nodes may limit costs (llm.chat caps max_tokens).")
@allow_path_option
@executor_option
def run(workflow: str, input_pairs: tuple[str, ...], inputs_file: str | None, events: str,
        output: str | None, max_parallel: int | None, timeout: float | None,
        no_store: bool, store_path: str | None = None, trigger_payload: str | None = None,
        test_run: bool = False, executor: str | None = None) -> None:
    """Run WORKFLOW once and print its result (and record it in the run store)."""
    from engine.cli.inputs import parse_inputs, parse_trigger_payload
    from engine.core.runner import Runner

    queued_at = time.time()
    wf = load_workflow(workflow)
    runner = Runner(load_registry())
    try:
        inputs = parse_inputs(wf, input_pairs, inputs_file)
        trigger = parse_trigger_payload(trigger_payload) if trigger_payload is not None \
            else None
    except InputsError as e:
        fail(str(e))
    choice = executor_choice(executor, wf)
    # The run's preflight checks the plan, the inputs and the secrets, every problem at
    # once, before any node runs; an invalid run emits only run_completed (--events jsonl).
    writer = None if no_store else open_writer(store_path)
    target = Target(runner, wf, Path(workflow), queued_at, writer)
    result = asyncio.run(on_executor(choice, runner, wf, lambda: run_target(
        target, inputs, events, max_parallel, timeout, trigger=trigger,
        options={"test_run": True} if test_run else None)))
    report(result, workflow, events, output)


def report(result: RunResult, source: str, events: str, output: str | None = None) -> None:
    """The result on stdout (or in `output`) and the exit code of its status."""
    if result.problems:
        invalid(source, result.problems)
    payload = json_out.dumps(result.to_dict(), indent=2) + "\n"
    if output:
        from engine.support.atomic import write_text_atomic

        write_text_atomic(output, payload)
    elif events != "jsonl":
        sys.stdout.write(payload)
    sys.stdout.flush()
    sys.exit(EXIT_FOR_STATUS[result.status])


@dataclass
class Target:
    """What `flowcli run` (and `flowcli runs retry`) runs, and where it is recorded."""

    runner: Runner
    workflow: Workflow
    path: Path | None  # the workflow's file (None: a stored snapshot)
    queued_at: float
    writer: StoreWriter | None  # None: --no-store
    base_dir: Path | None = None  # default: the file's folder
    source: str = "cli"
    retry_of: str | None = None


async def run_target(target: Target, inputs: dict[str, Any], events: str,
               max_parallel: int | None, timeout: float | None, *,
               trigger: dict[str, Any] | None = None,
               options: dict[str, Any] | None = None) -> RunResult:
    from engine.cli.progress import LogPrinter, ProgressDisplay

    wf, runner, writer = target.workflow, target.runner, target.writer
    assert target.path is not None or target.base_dir is not None
    base_dir = target.base_dir or target.path.resolve().parent  # type: ignore[union-attr]
    out = printer()
    subscribers: list[Any] = [LogPrinter(out)]
    display = None
    if events == "jsonl":
        subscribers.insert(0, jsonl_writer())
    elif events == "pretty":
        display = ProgressDisplay(out, len(wf.nodes), wf.name)
        subscribers.append(display)
    if writer is None:
        run = runner.start(wf, inputs, subscribers=tuple(subscribers), base_dir=base_dir,
                           max_parallel=max_parallel, timeout_s=timeout, trigger=trigger,
                           options=options)
    else:
        from engine.store.recording import start_recorded

        run = start_recorded(runner, writer, wf, inputs, path=target.path, base_dir=base_dir,
                             source=target.source, subscribers=tuple(subscribers),
                             trigger=trigger, retry_of=target.retry_of,
                             queued_at=target.queued_at, max_parallel=max_parallel,
                             timeout_s=timeout, options=options)
    on_stop_signals(lambda: _cancel(run))
    try:
        if display is not None:
            with display:
                return await run.wait()
        return await run.wait()
    finally:
        if writer is not None:
            await writer.close()


def _cancel(run: Run) -> None:
    printer().line(("cancelling… (press Ctrl-C again to quit at once)", "yellow"))
    run.cancel()
