"""A run's connection to a Dask cluster: connect (or start a local one), ship the
plugin folders, check that every worker has the node types the run will send it,
keep track of the tasks in flight (to say which ones a lost worker was running),
cancel, close.

Connecting happens before a run starts, so an unreachable scheduler is an error
before any node runs (`flowcli run` exits 2).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.distributed.payload import RunPart
from engine.distributed.target import ExecutorChoice
from engine.errors import FlowError
from engine.support.file_roots import user_roots

if TYPE_CHECKING:
    from engine.core.execution import ExecutionFactory
    from engine.core.run_context import RunContext

CONNECT_TIMEOUT_S = 10.0  # default; FLOWUI_DASK_CONNECT_TIMEOUT_S overrides it
EXTRA_HINT = "install it with: pip install 'flowui[dask]'"
log = logging.getLogger("flowui.distributed")


class DaskUnavailableError(FlowError):
    """Dask is not installed where a Dask executor was asked for."""


class SchedulerUnreachableError(FlowError):
    """The scheduler named did not answer in time (or the local cluster did not start)."""


class MissingNodeTypesError(FlowError):
    """Some worker cannot run some node type the run would send it."""


def connect_timeout_s() -> float:
    raw = os.environ.get("FLOWUI_DASK_CONNECT_TIMEOUT_S")
    try:
        return float(raw) if raw else CONNECT_TIMEOUT_S
    except ValueError:
        return CONNECT_TIMEOUT_S


def require_dask() -> Any:
    """The `distributed` module, or DaskUnavailableError naming the extra."""
    try:
        import distributed
    except ImportError as e:
        raise DaskUnavailableError(f"the Dask executor needs Dask distributed, which is not "
                                   f"installed ({e.name} is missing): {EXTRA_HINT}") from None
    return distributed


class DaskCluster:
    """A connected client (and the local cluster it started, if any)."""

    def __init__(self, choice: ExecutorChoice, client: Any, local: Any = None) -> None:
        self.choice = choice
        self.client = client
        self._local = local
        self.plugins: str | None = None  # digest of the plugin folders shipped
        self.workers: list[str] = []  # their addresses, as check_types found them
        # task key -> what to tell when the worker running it is lost
        self._tracked: dict[str, Callable[[str], None]] = {}
        self._pending: set[asyncio.Future[Any]] = set()
        client.subscribe_topic("all", self._on_cluster_event)

    # --- starting and stopping -----------------------------------------------------------

    @classmethod
    async def connect(cls, choice: ExecutorChoice, *, timeout_s: float | None = None,
                      ) -> DaskCluster:
        distributed = require_dask()
        timeout = timeout_s if timeout_s is not None else connect_timeout_s()
        local = None
        try:
            if choice.kind == "local_cluster":
                # Processes, one thread each: pure-Python node bodies hold the GIL, so
                # threads of one process would not run them at once.
                try:
                    local = await distributed.LocalCluster(
                        n_workers=choice.workers, threads_per_worker=1, processes=True,
                        asynchronous=True, dashboard_address=":0",
                        silence_logs=logging.ERROR)
                except Exception as e:  # its worker processes did not start
                    raise SchedulerUnreachableError(
                        f"could not start a local Dask cluster ({choice}): "
                        f"{type(e).__name__}: {e}") from None
                address = local.scheduler_address
            else:
                address = choice.address
            client = await asyncio.wait_for(distributed.Client(
                address, asynchronous=True, timeout=timeout, set_as_default=False,
                name="flowui"), timeout + 1)
        except (OSError, TimeoutError) as e:
            if local is not None:
                await local.close()
            where = f"the Dask scheduler at {choice}" if choice.kind == "address" else \
                f"a local Dask cluster ({choice})"
            raise SchedulerUnreachableError(
                f"cannot reach {where} within {timeout:g} s ({type(e).__name__}: {e}). "
                "Is the scheduler running (`dask scheduler`) and the address right? Run "
                "with --executor local to run here instead.") from None
        return cls(choice, client, local)

    async def close(self) -> None:
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        with contextlib.suppress(Exception):  # the connection may be gone already
            self.client.unsubscribe_topic("all")
        await self.client.close()
        if self._local is not None:
            await self._local.close()

    async def __aenter__(self) -> DaskCluster:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- before a run --------------------------------------------------------------------

    async def ship_plugins(self, folders: Iterable[Path]) -> None:
        """Send the plugin folders to every worker (and to those that join later)."""
        from engine.distributed.plugins import read_folders
        from engine.distributed.ship_plugins import ShipPlugins

        digest, contents = read_folders(list(folders))
        await self.client.register_plugin(ShipPlugins(digest, contents),
                                          name=f"flowui-plugins-{digest}")
        self.plugins = digest

    async def check_types(self, type_ids: Iterable[str]) -> None:
        """MissingNodeTypesError naming each worker and the types it lacks."""
        from engine.distributed.worker import missing_types

        wanted = sorted(set(type_ids))
        missing: dict[str, list[str]] = await self.client.run(
            missing_types, wanted, self.plugins)
        self.workers = sorted(missing)
        if wanted and not missing:
            raise MissingNodeTypesError(f"the Dask cluster at {self.choice} has no workers: "
                                        "start some with `dask worker SCHEDULER_ADDRESS`")
        lacking = {w: types for w, types in sorted(missing.items()) if types}
        if not lacking:
            return
        parts = [f"worker {w} lacks {', '.join(repr(t) for t in types)}"
                 for w, types in lacking.items()]
        raise MissingNodeTypesError(
            "some Dask workers cannot run node types this workflow uses: " + "; ".join(parts)
            + ". Install the package that provides them on every worker (plugin folders "
              "are shipped to the workers automatically).")

    def execution_factory(self) -> ExecutionFactory:
        from functools import partial

        from engine.distributed.execution import DaskExecution

        return partial(DaskExecution, self)  # type: ignore[return-value]

    # --- during a run ----------------------------------------------------------------------

    def run_part(self, run: RunContext, secret_names: Iterable[str]) -> RunPart:
        """What a task's worker needs of `run`: only the secrets named."""
        secrets = {name: run.secrets[name] for name in secret_names if name in run.secrets}
        return RunPart(run.run_id, run.started_at, dict(run.options), secrets,
                       tuple(str(p) for p in user_roots()), self.plugins,
                       run.on_outputs is not None)

    async def settled(self, future: Any) -> Any:
        """Wait until `future` is done (finished, failed or cancelled), without its value."""
        # distributed.wait() wants a default client; this is what it runs on ours
        from distributed.client import _wait

        await _wait([future])
        return future

    async def gather(self, futures: list[Any]) -> list[Any]:
        """The results of done futures in one round trip; an exception in place of each
        that failed (Dask gave up on it) or was cancelled."""
        ok = [f for f in futures if f.status == "finished"]
        values: dict[Any, Any] = {}
        if ok:
            try:
                values = dict(zip(ok, await self.client.gather(ok), strict=True))
            except Exception:  # one was lost meanwhile: each on its own, to say which
                values = {}
        out = []
        for f in futures:
            if f in values:
                out.append(values[f])
                continue
            try:
                out.append(await f)
            except Exception as e:
                out.append(e)
        return out

    def run_part_for(self, run_id: str, secrets: dict[str, str], options: dict[str, Any], *,
                     outputs: bool) -> RunPart:
        """RunPart of a whole run (engine.distributed.whole_runs), not started here."""
        return RunPart(run_id, time.time(), options, secrets,
                       tuple(str(p) for p in user_roots()), self.plugins, outputs)

    def track(self, key: str, on_lost: Callable[[str], None]) -> None:
        self._tracked[key] = on_lost

    def untrack(self, key: str) -> None:
        self._tracked.pop(key, None)

    def cancel(self, futures: list[Any]) -> None:
        """Cancel futures without waiting (from a cancelled task or a closing iterator)."""
        if not futures:
            return
        done = asyncio.ensure_future(self.client.cancel(futures, force=True))
        self._pending.add(done)
        done.add_done_callback(self._pending.discard)

    def _on_cluster_event(self, event: tuple[float, Any]) -> None:
        msg = event[1]
        if not isinstance(msg, dict) or msg.get("action") != "remove-worker":
            return
        worker = str(msg.get("worker", "?"))
        for key in msg.get("processing-tasks", ()):
            on_lost = self._tracked.get(str(key))
            if on_lost is not None:
                on_lost(worker)
