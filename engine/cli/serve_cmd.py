"""`flowcli serve WORKFLOW`: run the workflow's triggers (webhooks, intervals) until stopped.

One line per run goes to stderr (method path status duration run_id); with
`--events jsonl` every run's events go to stdout. Exit 0 after a clean stop, 2 when
the workflow is invalid or has no trigger, 1 when the server cannot start.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import click

from engine.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
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
from engine.cli.queue_opts import install_queue, queue_option
from engine.cli.store_opts import store_option
from engine.errors import FlowError, InputsError, WorkflowInvalidError


@click.command()
@click.argument("workflow", type=click.Path(dir_okay=False))
@click.option("--input", "input_pairs", multiple=True, metavar="NAME=VALUE",
              help="A workflow input for every run (repeatable); JSON for non-string inputs.")
@click.option("--inputs-file", type=click.Path(dir_okay=False),
              help="A JSON object of input values.")
@click.option("--host", help="Listen on this address instead of each webhook's host.")
@click.option("--port", type=click.IntRange(0, 65535),
              help="Listen on this port instead of each webhook's port (0: any free port).")
@click.option("--max-concurrent-runs", type=click.IntRange(min=1),
              help="Overrides settings.max_concurrent_runs.")
@click.option("--queue-size", type=click.IntRange(min=0),
              help="Requests that may wait for a run slot before 503  "
                   "[default: 4 x max_concurrent_runs]")
@click.option("--grace", type=click.FloatRange(min=0), default=10.0, show_default=True,
              metavar="SECONDS", help="On Ctrl-C/SIGTERM, how long running runs may finish "
              "before they are cancelled.")
@click.option("--dead-letter", type=click.Path(file_okay=False),
              help="Folder for the payloads of failed runs  "
                   "[default: <data dir>/dead-letter/<workflow name>]")
@click.option("--events", type=click.Choice(["jsonl", "none"]), default="none",
              show_default=True, help="jsonl: every run's events on stdout.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Overrides settings.timeout_s for each run.")
@click.option("--no-store", is_flag=True,
              help="Do not record runs (nor dead letters) in the run store.")
@store_option
@queue_option
@allow_path_option
@executor_option
@click.option("--distribute", type=click.Choice(["nodes", "runs"]), default="nodes",
              show_default=True,
              help="With a Dask --executor: nodes: each run's node bodies go to the workers; "
                   "runs: each triggered run goes whole to a worker, its events coming back "
                   "as it goes (docs/scaling.md).")
def serve(workflow: str, input_pairs: tuple[str, ...], inputs_file: str | None,
          host: str | None, port: int | None, max_concurrent_runs: int | None,
          queue_size: int | None, grace: float, dead_letter: str | None, events: str,
          timeout: float | None, no_store: bool = False, store_path: str | None = None,
          queue_url: str | None = None,
          executor: str | None = None, distribute: str = "nodes") -> None:
    """Serve WORKFLOW: each webhook request, interval tick or queue item starts one run."""
    from engine.cli.inputs import parse_inputs
    from engine.cli.progress import LogPrinter
    from engine.errors import ServeError
    from engine.server.serve_mode import ServeOptions, Server

    wf = load_workflow(workflow)
    registry = load_registry()
    try:
        inputs = parse_inputs(wf, input_pairs, inputs_file)
    except InputsError as e:
        fail(str(e))
    choice = executor_choice(executor, wf)
    if distribute == "runs" and choice.is_local:
        fail("--distribute runs needs a Dask executor: --executor dask://HOST:PORT or "
             "dask:local[N] (or settings.executor)")
    options = ServeOptions(inputs=inputs, host=host, port=port,
                           max_concurrent_runs=max_concurrent_runs, queue_size=queue_size,
                           grace_s=grace, dead_letter_dir=Path(dead_letter) if dead_letter
                           else None, timeout_s=timeout,
                           queue=install_queue(queue_url, store_path))
    subscribers: list[Any] = [LogPrinter(printer())]  # debug.log text, as in `flowcli run`
    if events == "jsonl":
        subscribers.insert(0, jsonl_writer())
    writer = None if no_store else _writer(store_path)
    server = Server(wf, registry, base_dir=Path(workflow).resolve().parent, options=options,
                    subscribers=tuple(subscribers), writer=writer)
    server.workflow_path = Path(workflow)
    try:
        server.check()
    except WorkflowInvalidError as e:
        invalid(workflow, e.problems)
    except FlowError as e:  # no trigger, a trigger's config, an unreadable keychain
        fail(f"{workflow}: {e}")
    try:
        # one cluster connection for every run the server starts
        asyncio.run(on_executor(
            choice, server.runner, wf, lambda: _serve(server), every_type=distribute == "runs",
            connected=(lambda cluster: _distribute_runs(server, cluster, registry))
            if distribute == "runs" else None))
    except ServeError as e:
        fail(str(e), EXIT_FAILED)
    sys.exit(EXIT_OK)


def _distribute_runs(server: Any, cluster: Any, registry: Any) -> None:
    from engine.distributed.whole_runs import DistributingRunner

    server.runner = DistributingRunner(cluster, registry)


def _writer(store_path: str | None) -> Any:
    """The store's writer; first, runs a killed server left behind become dead letters."""
    from engine.cli.store_opts import open_store, open_writer
    from engine.errors import StoreError

    with open_store(store_path) as store:
        try:
            n = store.sweep()
        except StoreError as e:
            fail(str(e))
        if n:
            printer().line(f"{n} run{'s' if n != 1 else ''} in {store.path} were interrupted "
                           "(a process was killed); serve-mode ones are dead letters: "
                           "flowcli runs list --status dead_letter")
    return open_writer(store_path)


async def _serve(server: Any) -> None:
    def stop() -> None:
        server.log("stopping… (press Ctrl-C again to quit at once)")
        server.stop()

    on_stop_signals(stop)
    await server.serve()

