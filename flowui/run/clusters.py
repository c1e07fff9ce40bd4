"""Where the editor's runs execute their node bodies: here, or on the Dask cluster the
workflow's `settings.executor` names (docs/scaling.md), exactly as `flowcli run` does.

A cluster is connected on the first run that needs it (on the Qt loop: Dask's client
is asyncio), its plugin folders shipped once, and kept for the next runs; the window
closes them when it closes. A `dask:local[N]` cluster's worker processes therefore
start once per window, not once per run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.core.registry import Registry
from engine.distributed.target import parse_executor, remote_types
from engine.workflow.model import Workflow

if TYPE_CHECKING:
    from engine.core.execution import ExecutionFactory


class ClusterPool:
    def __init__(self) -> None:
        self._clusters: dict[str, Any] = {}  # str(ExecutorChoice) -> DaskCluster

    async def execution_for(self, workflow: Workflow,
                            registry: Registry) -> ExecutionFactory | None:
        """The execution factory for `workflow`'s executor, None for the local one.
        Raises FlowError (ExecutorChoiceError, DaskUnavailableError,
        SchedulerUnreachableError, MissingNodeTypesError) with a message for people."""
        choice = parse_executor(workflow.settings.executor)
        if choice.is_local:
            return None
        from engine.distributed.cluster import DaskCluster  # Dask only when asked for
        from engine.support.paths import plugin_dirs

        cluster = self._clusters.get(str(choice))
        if cluster is None:
            cluster = await DaskCluster.connect(choice)
            try:
                await cluster.ship_plugins(plugin_dirs())
            except BaseException:
                await cluster.close()
                raise
            self._clusters[str(choice)] = cluster
        await cluster.check_types(remote_types(workflow, registry))
        factory: ExecutionFactory = cluster.execution_factory()
        return factory

    @property
    def connected(self) -> list[str]:
        return list(self._clusters)

    async def close(self) -> None:
        clusters, self._clusters = list(self._clusters.values()), {}
        for cluster in clusters:
            await cluster.close()
