"""Where `flowcli run` runs node bodies: the `--executor` option (over the workflow's
settings.executor), and connecting to a Dask cluster before the run starts, its
failures one clear line and exit 2 before any node runs (engine.distributed)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from engine.cli.common import DIM, fail, printer

if TYPE_CHECKING:
    from engine.core.runner import Runner
    from engine.distributed.target import ExecutorChoice
    from engine.workflow.model import Workflow

T = TypeVar("T")


def executor_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--executor", metavar="local|dask://HOST:PORT|dask:local[N]",
        help="Where node bodies run: here (local, the default), on the Dask cluster whose "
             "scheduler is at HOST:PORT, or on N worker processes started on this machine "
             "(needs the dask extra). Overrides settings.executor.")(command)


def executor_choice(flag: str | None, workflow: Workflow) -> ExecutorChoice:
    """The executor the flag (or else the workflow's settings) names; exit 2 if unknown."""
    from engine.distributed.target import ExecutorChoiceError, parse_executor

    try:
        return parse_executor(flag or workflow.settings.executor)
    except ExecutorChoiceError as e:
        fail(str(e))


async def on_executor(choice: ExecutorChoice, runner: Runner, workflow: Workflow,
                      body: Callable[[], Awaitable[T]], *,
                      connected: Callable[[Any], None] | None = None,
                      every_type: bool = False) -> T:
    """`body()` with the runner's node bodies on `choice` (nothing to do for local):
    connect, ship the plugin folders, check every worker has the node types (the
    remote-capable ones; `every_type` when whole runs go there), then `connected(the
    cluster)`, run, close."""
    if choice.is_local:
        return await body()
    from engine.distributed.cluster import DaskCluster
    from engine.distributed.target import all_types, remote_types
    from engine.errors import FlowError
    from engine.support.paths import plugin_dirs

    try:
        cluster = await DaskCluster.connect(choice)
    except FlowError as e:
        fail(str(e))
    try:
        try:
            await cluster.ship_plugins(plugin_dirs())
            await cluster.check_types(all_types(workflow) if every_type
                                      else remote_types(workflow, runner.registry))
        except (FlowError, ValueError) as e:
            fail(str(e))
        workers = len(cluster.workers)
        printer().line((f"node bodies run on {choice} ({workers} worker"
                        f"{'s' if workers != 1 else ''})", DIM))
        runner.execution = cluster.execution_factory()
        if connected is not None:
            connected(cluster)
        return await body()
    finally:
        await cluster.close()
