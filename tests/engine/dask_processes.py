"""A real Dask cluster for the tests: `dask scheduler` and `dask worker` processes on
127.0.0.1, started and stopped here, their logs kept in files the tests read."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

DASK = Path(sys.executable).with_name("dask")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DaskProcesses:
    """One scheduler and its workers (no nanny: a killed worker stays dead)."""

    def __init__(self, folder: Path, **dask_config: str) -> None:
        self.folder = folder
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.env = {**os.environ, "FLOWUI_DATA_DIR": str(folder / "worker-data"),
                    "PYTHONUNBUFFERED": "1", **dask_config}
        self.env.pop("FLOWUI_PLUGINS", None)  # workers get plugins only by shipping
        self.scheduler = self._start("scheduler", [
            str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(self.port),
            "--no-dashboard", "--no-show"])
        self.workers: list[subprocess.Popen[bytes]] = []
        self._n = 0
        self.client: Any = None

    def _start(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115  # lives with the process
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                cwd=self.folder)

    def start_worker(self) -> subprocess.Popen[bytes]:
        self._n += 1
        proc = self._start(f"worker{self._n}", [
            str(DASK), "worker", self.address, "--nthreads", "1", "--no-nanny",
            "--no-dashboard", "--host", "127.0.0.1", "--name", f"w{self._n}"])
        self.workers.append(proc)
        return proc

    def wait_for_workers(self, n: int, timeout: float = 60) -> None:
        from distributed import Client

        if self.client is None:
            self.client = Client(self.address, timeout=timeout)
        self.client.wait_for_workers(n, timeout=timeout)
        deadline = time.monotonic() + timeout  # and no more than n (a killed one has left)
        while len(self.client.scheduler_info(n_workers=-1)["workers"]) != n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the cluster did not settle at {n} workers")
            time.sleep(0.05)

    def worker_pids(self) -> dict[str, int]:
        return dict(self.client.run(os.getpid))

    def busy_worker(self, prefix: str) -> str | None:
        """The address of a worker running a task whose key starts with `prefix`."""
        for worker, keys in self.client.processing().items():
            if any(str(k).startswith(prefix) for k in keys):
                return str(worker)
        return None

    def scheduler_keys(self) -> list[str]:
        """Every task key the scheduler has seen lately (its transition log)."""
        def keys(dask_scheduler: Any) -> list[str]:
            return sorted({str(t[0]) for t in dask_scheduler.transition_log})
        return list(self.client.run_on_scheduler(keys))

    def live_flowui_tasks(self) -> list[str]:
        def live(dask_scheduler: Any) -> list[str]:
            return [str(k) for k in dask_scheduler.tasks if str(k).startswith("flowui-")]
        return list(self.client.run_on_scheduler(live))

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.folder.glob("*.log"))

    def stop(self) -> None:
        if self.client is not None:
            self.client.close(timeout=5)
        for proc in self.workers:  # nothing of theirs to keep: no graceful goodbye
            if proc.poll() is None:
                proc.kill()
        self.scheduler.terminate()
        for proc in [*self.workers, self.scheduler]:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
