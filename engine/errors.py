"""The engine's one exception tree.

Every message says what was wrong, where (file, node id, field) and, where it
helps, what to do about it. Node failures carry a short machine `type` that
lands in events and results as ``{"type", "message", "node"}``.

    FlowError                   everything the engine raises on purpose
    ├── WorkflowFileError       a file cannot be read: JSON, shape, version (all problems)
    ├── MigrationError          an old file version cannot be brought up to date
    ├── RegistryError           a node type cannot be defined or registered
    │   └── DuplicateNodeTypeError
    ├── WorkflowInvalidError    validation found problems (Problem records); nothing ran
    ├── InputsError             workflow inputs given on the command line or the API
    ├── SecretsError            a secret cannot be stored, read or deleted
    ├── ServeError              serve mode cannot start (no trigger, a port in use)
    ├── StoreError              the run store cannot be used (newer schema, busy, corrupt)
    │   └── RunNotFoundError    a run id (prefix) names no run, or more than one
    └── NodeError               a node failed; `retryable`, `retry_after_s`
        ├── TemplateError       a template or condition refused or failed (never retried)
        ├── InputTypeError      a value on a port does not fit the port's type
        ├── ConfigError         config invalid once templates and wires are applied
        ├── NodeTimeoutError    one attempt ran past `timeout_s`
        └── BodyError           a loop or sub-workflow body failed (inner type and node)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class FlowError(Exception):
    """Base of every error the engine raises on purpose."""


# --- loading and saving files -------------------------------------------------


class WorkflowFileError(FlowError):
    """A workflow file could not be read: bad JSON, wrong shape, unknown version.

    `problems` lists every message found (all of them, not only the first).
    """

    def __init__(self, path: str, problems: Sequence[str]) -> None:
        self.path = path
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{path}: cannot load workflow:\n{lines}")


class MigrationError(FlowError):
    """The file's version cannot be brought to the current one (message says why)."""


# --- the node registry ----------------------------------------------------------


class RegistryError(FlowError):
    """A node type could not be defined or registered."""


class DuplicateNodeTypeError(RegistryError):
    def __init__(self, type_id: str, first: str, second: str) -> None:
        self.type_id = type_id
        super().__init__(
            f"node type {type_id!r} is defined twice: by {first} and by {second}. "
            "Rename one of them (type ids must be unique), or remove the duplicate plugin."
        )


# --- validation -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a workflow, found before anything runs."""

    code: str  # stable short name, e.g. "unknown_type", "cycle"
    message: str
    node_id: str | None = None  # inside a subgraph: "<subgraph>/<node id>"
    field: str | None = None
    graph: str | None = None  # the subgraph it is in; None: the workflow itself

    @property
    def local_id(self) -> str | None:
        """The node's id within its own graph (`node_id` without the subgraph)."""
        if self.node_id is None or self.graph is None:
            return self.node_id
        return self.node_id.removeprefix(f"{self.graph}/")

    def __str__(self) -> str:
        where = f"node {self.node_id!r}" if self.node_id else "workflow"
        if self.field:
            where += f", {self.field}"
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "node": self.node_id,
                "field": self.field, "graph": self.graph}


class WorkflowInvalidError(FlowError):
    """Validation found problems; nothing ran."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        n = len(self.problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"workflow is invalid ({n} problem{'s' if n != 1 else ''}):\n{lines}")


# --- running nodes ------------------------------------------------------------------


class NodeError(FlowError):
    """A node failed. Node authors raise this (or a subclass) to say whether a
    retry could help and, for rate limits, how long to wait first."""

    type = "NodeError"
    retryable: bool | None = None  # None: let the node type / engine default decide

    def __init__(self, message: str, *, retryable: bool | None = None,
                 retry_after_s: float | None = None) -> None:
        super().__init__(message)
        if retryable is not None:
            self.retryable = retryable
        self.retry_after_s = retry_after_s


class TemplateError(NodeError):
    """A template or condition was refused or failed: syntax, an undefined
    name, a blocked attribute, an exceeded bound. Never retried."""

    type = "TemplateError"
    retryable = False


class InputTypeError(NodeError):
    """A value that arrived on a port does not match the port's type."""

    type = "InputTypeError"
    retryable = False


class ConfigError(NodeError):
    """A node's config is invalid once templates are rendered and ports applied."""

    type = "ConfigError"
    retryable = False


class NodeTimeoutError(NodeError):
    """One attempt of a node ran past its `timeout_s`."""

    type = "timeout"
    retryable = True


class BodyError(NodeError):
    """A subgraph body (loop, for_each, sub-workflow) failed. Carries the inner error's
    type and the failing node's path, which the run reports as `failed_node`."""

    retryable = False  # the inner nodes had their own retry policies

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", "the body failed"))
        self.type = error.get("type", "NodeError")
        self.node = error.get("node")


# --- the shells -----------------------------------------------------------------------


class InputsError(FlowError):
    """Workflow inputs given on the command line or to the API are wrong."""


class SecretsError(FlowError):
    """A secret could not be stored, read or deleted (the message says why and what to do)."""


class ServeError(FlowError):
    """Serve mode cannot start (no triggers, a port in use, ...)."""


class StoreError(FlowError):
    """The run store cannot be used: a newer schema, a file that stays locked, a
    corrupt file found mid-command (the message says where and what to do)."""


class RunNotFoundError(StoreError):
    """A run id or prefix names no stored run, or more than one."""
