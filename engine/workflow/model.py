"""Pydantic models of the workflow file (FORMAT.md section 1).

These describe the document exactly as written; what a node type makes of its
config is the registry's business, and whether the graph makes sense is the
validator's. Reading and writing files lives in `engine.workflow.file`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.workflow.porttypes import PortType

IDENT = r"[A-Za-z_][A-Za-z0-9_-]*"
IDENT_RE = re.compile(rf"^{IDENT}$")
ENDPOINT_PATTERN = rf"^{IDENT}\.{IDENT}$"  # "<node id>.<port name>"
ENDPOINT_RE = re.compile(rf"^({IDENT})\.({IDENT})$")

FORMAT_NAME: Final = "flowui-workflow"
CURRENT_VERSION: Final = 1

# FORMAT.md "Subgraph bodies": a body receives values through flow.input nodes and
# returns them through flow.output nodes, matched by their `name`: the format's own
# plumbing, which the built-in node pack implements.
BODY_INPUT_TYPE: Final = "flow.input"
BODY_OUTPUT_TYPE: Final = "flow.output"
# FORMAT.md's node that runs a subgraph (`subgraph` in its config) as one node, its
# ports the body's inputs and flow.output names: what the editor folds a selection into.
SUBWORKFLOW_TYPE: Final = "flow.subworkflow"

OnError = Literal["stop", "continue", "retry_workflow"]
Identifier = Annotated[str, Field(pattern=rf"^{IDENT}$")]
# A canvas far bigger than any drawing, yet small enough for Qt's scene index and
# for whole-number positions on save.
MAX_COORDINATE: Final = 10_000_000
Coordinate = Annotated[float, Field(ge=-MAX_COORDINATE, le=MAX_COORDINATE)]


class _Strict(BaseModel):
    # Unknown keys inside nodes, settings and the like are almost always typos
    # ("timout_s"); refusing them with the field named beats silently ignoring them.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class RetryPolicy(_Strict):
    max_attempts: int = Field(1, ge=1, le=100, description="Tries in all; 1 means no retry")
    backoff: Literal["exponential", "fixed"] = "exponential"
    delay_s: float = Field(1.0, ge=0, description="Wait before the 2nd attempt")
    max_delay_s: float = Field(60.0, ge=0, description="Upper bound of one wait")
    jitter: bool = Field(True, description="Randomise each wait to 50-100% of its value")

    def delay_before(self, attempt: int, rand: float) -> float:
        """Seconds to wait before `attempt` (2, 3, ...); `rand` is uniform in [0, 1)."""
        delay = self.delay_s if self.backoff == "fixed" else self.delay_s * 2 ** (attempt - 2)
        delay = min(delay, self.max_delay_s)
        if self.jitter:
            delay *= 0.5 + 0.5 * rand
        return delay


EXECUTOR_PATTERN = r"^(local|dask://[^\s/]+:[0-9]{1,5}|dask:local(\[[1-9][0-9]{0,3}\])?)$"


class Settings(_Strict):
    on_error: OnError = "stop"
    max_parallel: int = Field(8, ge=1)
    max_iterations: int = Field(100, ge=1)
    max_workflow_attempts: int = Field(3, ge=1)
    timeout_s: float | None = Field(None, gt=0)
    max_concurrent_runs: int = Field(4, ge=1)
    # Where node bodies run (docs/scaling.md): "local" (this process), "dask://HOST:PORT"
    # (the Dask scheduler of a cluster), "dask:local[N]" (N worker processes started on
    # this machine). Control flow, templates, events and the run store stay here either
    # way. `flowcli run --executor` overrides it; left out (None) means local, and files
    # that do not set it are saved without it.
    executor: str | None = Field(None, pattern=EXECUTOR_PATTERN)


class InputSpec(_Strict):
    type: PortType = "any"
    default: Any = None
    description: str = ""
    required: bool | None = Field(
        None, description="Default: required when no default is given")

    @property
    def is_required(self) -> bool:
        if self.required is not None:
            return self.required
        return "default" not in self.model_fields_set


class NodeSpec(_Strict):
    id: Identifier
    type: str = Field(min_length=1)
    title: str | None = None
    position: tuple[Coordinate, Coordinate] = (0.0, 0.0)
    config: dict[str, Any] = Field(default_factory=dict)
    retry: RetryPolicy | None = None
    timeout_s: float | None = Field(None, gt=0)
    on_error: OnError | None = None
    disabled: bool = False
    # Pinned outputs ({port: value}) are used instead of running the node.
    pinned: dict[str, Any] | None = None


class Connection(_Strict):
    # The endpoint pattern is checked by pydantic's core (a Python validator costs a
    # microsecond a wire); engine.workflow.file words its error for people.
    from_: str = Field(alias="from", pattern=ENDPOINT_PATTERN)
    to: str = Field(pattern=ENDPOINT_PATTERN)

    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)

    @property
    def source(self) -> tuple[str, str]:
        node, port = self.from_.split(".", 1)
        return node, port

    @property
    def target(self) -> tuple[str, str]:
        node, port = self.to.split(".", 1)
        return node, port


class Graph(BaseModel):
    """What a workflow and a subgraph share: inputs, nodes, connections."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    name: str = ""
    description: str = ""
    inputs: dict[Identifier, InputSpec] = Field(default_factory=dict)
    nodes: list[NodeSpec] = Field(default_factory=list)
    connections: list[Connection] = Field(default_factory=list)

    def node(self, node_id: str) -> NodeSpec | None:
        for n in self.nodes:
            if n.id == node_id:
                return n
        return None


class Subgraph(Graph):
    settings: Settings | None = None


class Workflow(Graph):
    """A whole `*.flow.json` document. Unknown top-level keys are kept (extra)."""

    format: Literal["flowui-workflow"] = FORMAT_NAME
    version: int = CURRENT_VERSION
    settings: Settings = Field(default_factory=Settings)
    subgraphs: dict[Identifier, Subgraph] = Field(default_factory=dict)
    ui: dict[str, Any] = Field(default_factory=lambda: {"groups": [], "notes": []})
