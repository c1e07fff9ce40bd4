"""How a node's part in an execution can end besides outputs: markers in its
successors' input slots for values that will never come (and why), error objects
for events and results, and whether a failure is worth another attempt."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.errors import NodeError

if TYPE_CHECKING:
    from engine.core.plan import PlannedNode


class Skip:
    """Marker in an input slot: the value will never come, and why."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


BRANCH_NOT_TAKEN = Skip("branch_not_taken")
UPSTREAM_FAILED = Skip("upstream_failed")
UPSTREAM_SKIPPED = Skip("upstream_skipped")
UNSET = object()


def error_type(e: BaseException) -> str:
    if isinstance(e, NodeError):
        return e.type
    if isinstance(e, TimeoutError):
        return "timeout"
    return type(e).__name__


def error_info(e: BaseException) -> dict[str, Any]:
    return {"type": error_type(e), "message": str(e) or type(e).__name__}


def is_retryable(node: PlannedNode, e: BaseException) -> bool:
    verdict = node.cls.is_retryable(e)
    if verdict is not None:
        return verdict
    if isinstance(e, NodeError) and e.retryable is not None:
        return e.retryable
    return True  # FORMAT.md: what a node does not classify is worth another try
