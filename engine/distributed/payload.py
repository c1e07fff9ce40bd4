"""What travels to a worker with each task: the run's part a node needs there, one
node's call, or a batch of a body's items; sealed so that no part of it is ever
printed.

Dask prints a task's arguments in its logs when a task fails ("Compute Failed ...
Task: <repr>") and may show them in warnings; a node's config holds its rendered
templates, secrets included. So every payload sits inside `Sealed`, whose repr
and str say only what kind of payload it is, and task keys are made of run ids,
node paths and counters (ids from the file, never values).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from engine.workflow.model import Settings

T = TypeVar("T")
_counter = itertools.count(1)


class Sealed(Generic[T]):
    """A payload that never shows its contents in a repr, a log line or a dashboard."""

    __slots__ = ("_value", "kind")

    def __init__(self, kind: str, value: T) -> None:
        self.kind = kind
        self._value = value

    def open(self) -> T:
        return self._value

    def __repr__(self) -> str:
        return f"<flowui {self.kind}>"

    __str__ = __repr__

    def __reduce__(self) -> tuple[Any, ...]:
        return (Sealed, (self.kind, self._value))


@dataclass(frozen=True, slots=True)
class RunPart:
    """The run as a worker needs it: ids for templates and events, the run options,
    the secrets this task's nodes name (no others), the folders files may be read
    from, and which shipped plugin folders hold its node types."""

    run_id: str
    started_at: float
    options: dict[str, Any]
    secrets: dict[str, str]
    file_roots: tuple[str, ...]
    plugins: str | None  # digest of the plugin folders shipped (engine.distributed.plugins)
    outputs: bool = False  # the run keeps every node's full outputs (a run store): send them


@dataclass(frozen=True, slots=True)
class NodeTask:
    """One attempt of one node's body."""

    run: RunPart
    type_id: str
    config: dict[str, Any]  # as set (fields left out stay out: function nodes care)
    kwargs: dict[str, Any]  # the input values
    path: str
    attempt: int
    iteration: int | None
    index: int | None
    inputs: dict[str, Any]  # the (sub)workflow's inputs, for templates
    loop: dict[str, Any] | None  # `loop` in templates, inside a body
    settings: Settings
    base_dir: Path


@dataclass(frozen=True, slots=True)
class BodyTask:
    """Some items of a control.for_each whose body runs whole on the worker."""

    run: RunPart
    graph: str  # the body as Subgraph JSON, compiled (once per worker) there
    digest: str  # of `graph`: the worker's cache key
    base_dir: Path
    path: str  # the for_each node's path: the body's nodes are `path/id`
    items: list[tuple[int, Any]] = field(default_factory=list)
    fail_fast: bool = True  # stop the batch at its first failing item


def task_key(kind: str, run_id: str, path: str) -> str:
    """A unique Dask key naming the run and the node (the dashboard groups by the part
    before the first dash-free token), never a value."""
    return f"flowui-{kind}-{run_id}-{path.replace('/', '.')}-{next(_counter)}"


@dataclass(frozen=True, slots=True)
class RunTask:
    """A whole run, for a worker to run with the local engine (serve mode's
    `--distribute runs`): the workflow checked in the driving process, its inputs and
    secrets resolved there, the trigger payload; events go back on `topic`."""

    run: RunPart  # with every secret the workflow names: the run uses them all
    workflow: str  # the file's JSON (engine.workflow.file.dumps)
    base_dir: Path
    inputs: dict[str, Any]
    trigger: dict[str, Any] | None
    masked: tuple[str, ...]  # values masked like secrets (a webhook client's credentials)
    timeout_s: float | None
    topic: str
