"""The interface between a run and whatever executes its plan.

A `Run` (engine.core.runner) owns the lifecycle: validation, the run timeout,
cancellation, `retry_workflow`, the result. It hands each attempt's plan to an
`Execution` made by an `ExecutionFactory` (the local asyncio executor,
`engine.core.executor.GraphExecution`, by default; a remote backend plugs in
here) and reads back a public `Outcome`. Node outputs leave an execution in two
ways: cut previews in events for people, and, when a run asks for them, every
node's full outputs through one `OutputsHook` for programs (a run store, a cache,
the editor's output view).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    from engine.core.plan import Plan
    from engine.core.run_context import RunContext
    from engine.errors import BodyError


class Failure:
    """Why an execution stopped early: the error object, the failing node's path, and
    the `on_error` policy that stopped it (`stop` or `retry_workflow`)."""

    __slots__ = ("error", "node", "policy")

    def __init__(self, error: dict[str, Any], node: str | None, policy: str) -> None:
        self.error, self.node, self.policy = error, node, policy


@dataclass(slots=True)
class Outcome:
    """What an execution produced, readable at any time (a cancelled or timed-out
    execution gives what was done so far)."""

    failure: Failure | None
    # The run's outputs: the flow.output values by name when the graph has flow.output
    # nodes, else the outputs of each completed node without outgoing wires, by id.
    outputs: dict[str, Any]
    node_errors: list[dict[str, Any]] = field(default_factory=list)  # on_error: continue


class NodeOutputs(NamedTuple):
    """One node's full outputs, handed to a run's OutputsHook as the node completes,
    with the inputs it ran with; for a node that failed, no outputs and its `error`
    ({type, message, traceback}). Secret values are masked as everywhere else; nothing
    is cut."""

    run_id: str
    node_id: str  # the path, e.g. "loop1/inc" inside a body
    node_type: str
    outputs: dict[str, Any]
    cached: bool  # pinned (or, later, taken from a cache) rather than run
    iteration: int | None
    index: int | None  # type: ignore[assignment]  # for_each's index, not tuple.index
    inputs: dict[str, Any] | None = None  # by port: wired values, then config-port values
    error: dict[str, Any] | None = None  # when the node failed


OutputsHook = Callable[[NodeOutputs], None]


def every_hook(*hooks: OutputsHook | None) -> OutputsHook | None:
    """One outputs hook calling each of `hooks` given (the run store's, a view's)."""
    given = [h for h in hooks if h is not None]
    if len(given) <= 1:
        return given[0] if given else None

    def every(record: NodeOutputs) -> None:
        for hook in given:
            hook(record)
    return every


class Execution(Protocol):
    """One execution of one plan: `await execute()`, then read `outcome()`. Cancelling
    `execute()` cancels every running node and reports them (node_cancelled)."""

    async def execute(self) -> None: ...

    def outcome(self) -> Outcome: ...


class RemoteBody(Protocol):
    """A body run whole on other machines, once per item, as control.for_each runs it
    (inputs `item` and `index`, `loop.item` / `loop.index` in its templates): what a
    remote backend gives for a body whose nodes may all run there. Each item's
    outcome comes back as it finishes: the body's flow.output values, or the BodyError
    it failed with. Its inner nodes' events reach the run as if it ran here (with a
    `worker` field). Closing the iterator early cancels the items still running; with
    `fail_fast`, a batch of items stops at its first failing item."""

    def map(self, items: Sequence[Any], *, max_parallel: int, fail_fast: bool,
            ) -> AsyncGenerator[tuple[int, dict[str, Any] | BodyError], None]: ...


class ExecutionFactory(Protocol):
    def __call__(self, run: RunContext, plan: Plan, inputs: dict[str, Any], *,
                 max_parallel: int | None = None) -> Execution: ...
