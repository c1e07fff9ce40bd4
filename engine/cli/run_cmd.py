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
    from engine.core.output_cache import CachePolicy
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
@click.option("--cache", "reuse", is_flag=True,
              help="Reuse stored outputs of cacheable nodes whose config and inputs are "
                   "unchanged (reported as cached, not run).")
@click.option("--only", "only", metavar="NODE",
              help="Run only NODE; its upstream outputs come from the cache (missing ones "
                   "run first).")
@click.option("--until", "until", metavar="NODE", help="Run NODE and its ancestors only.")
@click.option("--from", "from_", metavar="NODE",
              help="Run NODE and its descendants; their upstream comes from the cache.")
@click.option("--cached-only", is_flag=True,
              help="With --only/--from: fail (exit 2) naming any upstream node without a "
                   "cached output, instead of running it.")
@click.option("--ignore-pins", is_flag=True, help="Run pinned nodes instead of using their "
                                                  "pinned outputs.")
@allow_path_option
@executor_option
def run(workflow: str, input_pairs: tuple[str, ...], inputs_file: str | None, events: str,
        output: str | None, max_parallel: int | None, timeout: float | None,
        no_store: bool, store_path: str | None = None, trigger_payload: str | None = None,
        test_run: bool = False, reuse: bool = False, only: str | None = None,
        until: str | None = None, from_: str | None = None, cached_only: bool = False,
        ignore_pins: bool = False, executor: str | None = None) -> None:
    """Run WORKFLOW once and print its result (and record it in the run store)."""
    from engine.cli.inputs import parse_inputs, parse_trigger_payload
    from engine.core.runner import Runner

    queued_at = time.time()
    wf = load_workflow(workflow)
    if ignore_pins:
        from engine.core.partial import without_pins

        wf = without_pins(wf)
    wf, policy = _partial(wf, reuse, only, until, from_, cached_only, no_store)
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
    if writer is not None and policy is not None:
        from engine.errors import StoreError

        try:
            writer.output_cache  # noqa: B018  # opened now: its errors are usage errors
        except StoreError as e:
            fail(str(e))
    target = Target(runner, wf, Path(workflow), queued_at, writer, policy=policy)
    result = asyncio.run(on_executor(choice, runner, wf, lambda: run_target(
        target, inputs, events, max_parallel, timeout, trigger=trigger,
        options={"test_run": True} if test_run else None)))
    report(result, workflow, events, output)


def _partial(wf: Workflow, reuse: bool, only: str | None, until: str | None,
             from_: str | None, cached_only: bool, no_store: bool,
             ) -> tuple[Workflow, CachePolicy | None]:
    """The part of `wf` to run and the cache policy, from the caching options; None
    for a plain run without a store."""
    from engine.core.output_cache import CachePolicy
    from engine.core.partial import PartialRunError, partial_run

    chosen = [(m, n) for m, n in (("only", only), ("until", until), ("from", from_)) if n]
    if len(chosen) > 1:
        fail("use one of --only, --until and --from at a time")
    if cached_only and not (only or from_):
        fail("--cached-only goes with --only NODE or --from NODE (it says what to do when "
             "their upstream has no cached output)")
    if no_store and (reuse or only or from_):
        fail("--cache, --only and --from take outputs from the run store: leave out "
             "--no-store")
    if not chosen:
        return wf, None if no_store else CachePolicy(reuse=reuse)
    mode, node = chosen[0]
    try:
        part = partial_run(wf, mode, node)  # type: ignore[arg-type]
    except PartialRunError as e:
        fail(str(e))
    return part.workflow, part.policy(reuse=reuse, cached_only=cached_only)


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
    policy: CachePolicy | None = None  # the output cache's use (None: not recorded)


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
        from engine.core.output_cache import RunCache
        from engine.store.recording import start_recorded

        cache = RunCache(writer.output_cache, target.policy, wf.name) \
            if target.policy is not None else None
        run = start_recorded(runner, writer, wf, inputs, path=target.path, base_dir=base_dir,
                             source=target.source, subscribers=tuple(subscribers),
                             trigger=trigger, retry_of=target.retry_of,
                             queued_at=target.queued_at, max_parallel=max_parallel,
                             timeout_s=timeout, options=options, cache=cache)
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
