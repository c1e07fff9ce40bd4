"""Which executor a run uses, from `--executor` or the workflow's settings.executor:
`local` (this process), `dask://HOST:PORT` (a Dask scheduler), `dask:local[N]` (a
cluster of N worker processes started on this machine; `dask:local` = one per core)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.errors import FlowError

if TYPE_CHECKING:
    from engine.core.registry import Registry
    from engine.workflow.model import Workflow

FORMS = "local, dask://HOST:PORT or dask:local[N]"
MAX_LOCAL_WORKERS = 256
_ADDRESS = re.compile(r"^dask://(?P<host>[^\s/:]+|\[[0-9a-fA-F:]+\]):(?P<port>[0-9]{1,5})$")
_LOCAL = re.compile(r"^dask:local(\[(?P<n>[0-9]+)\])?$")


class ExecutorChoiceError(FlowError):
    """An executor named in a form this version does not know."""


@dataclass(frozen=True, slots=True)
class ExecutorChoice:
    kind: str  # "local" | "address" | "local_cluster"
    address: str | None = None  # tcp://HOST:PORT for "address"
    workers: int = 0  # for "local_cluster"

    @property
    def is_local(self) -> bool:
        return self.kind == "local"

    def __str__(self) -> str:
        if self.kind == "address":
            return f"dask://{(self.address or '').removeprefix('tcp://')}"
        return f"dask:local[{self.workers}]" if self.kind == "local_cluster" else "local"


def parse_executor(text: str | None) -> ExecutorChoice:
    """The choice `text` names (None or empty: local). ExecutorChoiceError otherwise."""
    text = (text or "local").strip()
    if text == "local":
        return ExecutorChoice("local")
    m = _ADDRESS.match(text)
    if m:
        port = int(m["port"])
        if not 0 < port < 65536:
            raise ExecutorChoiceError(f"executor {text!r}: port {port} is out of range")
        return ExecutorChoice("address", address=f"tcp://{m['host']}:{port}")
    m = _LOCAL.match(text)
    if m:
        n = int(m["n"]) if m["n"] else (os.cpu_count() or 1)
        if not 1 <= n <= MAX_LOCAL_WORKERS:
            raise ExecutorChoiceError(f"executor {text!r}: between 1 and {MAX_LOCAL_WORKERS} "
                                      "local workers")
        return ExecutorChoice("local_cluster", workers=n)
    raise ExecutorChoiceError(f"unknown executor {text!r}: use {FORMS}")


def remote_types(workflow: Workflow, registry: Registry) -> set[str]:
    """Ids of the remote-capable types a workflow uses: what its workers must have."""
    found = set()
    for graph in (workflow, *workflow.subgraphs.values()):
        for spec in graph.nodes:
            cls = registry.get(spec.type)
            if cls is not None and cls.remote_capable:
                found.add(cls.type)
    return found


def all_types(workflow: Workflow) -> set[str]:
    """Ids of every type a workflow uses (a whole run on a worker needs them all)."""
    return {spec.type for graph in (workflow, *workflow.subgraphs.values())
            for spec in graph.nodes}
