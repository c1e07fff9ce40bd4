"""The engine's one exception tree.

Every message says what was wrong, where (file, node id, field) and, where it
helps, what to do about it. Node failures carry a short machine `type` that
lands in events and results as ``{"type", "message", "node"}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


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
    node_id: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = f"node {self.node_id!r}" if self.node_id else "workflow"
        if self.field:
            where += f", {self.field}"
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "node": self.node_id,
                "field": self.field}


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


class InputsError(FlowError):
    """Workflow inputs given on the command line or to the API are wrong."""
