"""The Dask worker plugin that carries plugin folders to every worker (see
engine.distributed.plugins). A module of its own because it imports Dask, which
only a run with a Dask executor needs."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from engine.distributed.plugins import unpack


class ShipPlugins(WorkerPlugin):  # type: ignore[misc]  # Dask ships no type hints
    def __init__(self, digest: str, folders: list[dict[str, bytes]]) -> None:
        self.name = f"flowui-plugins-{digest}"
        self.digest, self.folders = digest, folders

    def setup(self, worker: Any) -> None:
        where = Path(getattr(worker, "local_directory", None) or tempfile.gettempdir())
        unpack(self.digest, self.folders, where)

    def __repr__(self) -> str:
        return f"<ShipPlugins {self.digest}: {len(self.folders)} folder(s)>"
