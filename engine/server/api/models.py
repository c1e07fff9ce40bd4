"""The API's request and response bodies as pydantic models: FastAPI validates requests
with them and builds /openapi.json from them. Workflow documents and event objects are
FORMAT.md's (sections 1 and 3) and are given as free-form JSON objects here."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# A workflow's file name without `.flow.json`: letters, digits, space, `_`, `-`, and dots
# only between those (no `..`, no leading dot): always one file directly in the folder.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 _-]*(\.[A-Za-z0-9 _-]+)*$"
NAME_MAX = 100
CURSOR_PATTERN = r"^[0-9]{1,15}(\.[0-9]{1,17})?:[0-9]{1,18}$"
WorkflowName = Annotated[str, Field(pattern=NAME_PATTERN, max_length=NAME_MAX)]


class ErrorDetail(BaseModel):
    type: str = Field(description="A stable short name, e.g. `not_found`, `invalid`.")
    message: str = Field(description="What was wrong and what to do.")
    details: Any = Field(None, description="e.g. every problem of a validation.")


class ErrorBody(BaseModel):
    error: ErrorDetail


class Problem(BaseModel):
    code: str
    message: str
    node: str | None = None
    field: str | None = None
    graph: str | None = None


# --- workflows -----------------------------------------------------------------------------


class WorkflowSummary(BaseModel):
    name: str = Field(description="The file's name without `.flow.json`.")
    hash: str = Field(description="sha256 of the file's bytes: the `ETag` and `If-Match`.")
    size: int
    modified: str = Field(description="ISO 8601 UTC")
    title: str | None = Field(None, description="The workflow's own `name` field.")


class WorkflowList(BaseModel):
    workflows: list[WorkflowSummary]


class WorkflowDocument(BaseModel):
    name: str
    hash: str
    workflow: dict[str, Any] = Field(description="The `.flow.json` document (FORMAT.md 1).")


class WorkflowCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=NAME_PATTERN, max_length=NAME_MAX, description="The file "
                      "name to create, without `.flow.json`: letters, digits, space, `_`, "
                      "`-`, and single dots between them.")
    workflow: dict[str, Any]


class WorkflowReplace(BaseModel):
    model_config = ConfigDict(extra="forbid")
    workflow: dict[str, Any]


class ValidationReport(BaseModel):
    valid: bool
    problems: list[Problem]


# --- runs ----------------------------------------------------------------------------------


class RunOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    timeout_s: float | None = Field(None, gt=0, description="Overrides settings.timeout_s.")
    max_parallel: int | None = Field(None, ge=1, description="Overrides settings.max_parallel.")
    test_run: bool = Field(False, description="Nodes may limit costs (llm.chat).")


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    workflow: WorkflowName | dict[str, Any] = Field(
        description="A workflow's name in the workflows folder, or a whole workflow "
                    "document inline.")
    inputs: dict[str, Any] = Field(default_factory=dict)
    trigger: dict[str, Any] | None = Field(None, description="What trigger nodes fire with.")
    options: RunOptions = Field(default_factory=RunOptions)


class RunLinks(BaseModel):
    run: str
    events: str
    websocket: str
    stream: str
    cancel: str
    outputs: str
    artifacts: str


class RunAccepted(BaseModel):
    run_id: str
    status: Literal["queued"] = "queued"
    urls: RunLinks


class RunInfo(BaseModel):
    run_id: str
    workflow: str
    workflow_path: str | None
    source: str
    status: str = Field(description="queued validating running completed failed "
                        "cancelled interrupted")
    dead_letter: bool
    times: dict[str, str] = Field(description="Each lifecycle step reached (queued, "
                                  "validating, running, finished...) -> ISO 8601 UTC.")
    duration_ms: float | None
    error: dict[str, Any] | None
    failed_node: str | None
    retry_of: str | None


class RunDetail(RunInfo):
    inputs: dict[str, Any] | None = Field(description="As run, secrets masked.")
    trigger: dict[str, Any] | None
    outputs: dict[str, Any] | None = Field(description="The result, once finished.")
    node_errors: list[dict[str, Any]]
    workflow_hash: str | None
    urls: RunLinks


class RunList(BaseModel):
    runs: list[RunInfo]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; "
                                    "null: no more.")


class RunEvents(BaseModel):
    run_id: str
    events: list[dict[str, Any]] = Field(description="FORMAT.md section 3 objects, in order.")


class NodeOutputsRecord(BaseModel):
    node_id: str
    node_type: str
    iteration: int | None = None
    index: int | None = None
    cached: bool = False
    outputs: Any = None
    inputs: Any = None
    error: Any = None


class RunOutputs(BaseModel):
    run_id: str
    outputs: dict[str, Any] | None
    nodes: list[NodeOutputsRecord]


class Artifact(BaseModel):
    name: str
    url: str
    media_type: str


class ArtifactList(BaseModel):
    run_id: str
    artifacts: list[Artifact]


# --- the rest ------------------------------------------------------------------------------


class NodeCatalog(BaseModel):
    nodes: list[dict[str, Any]] = Field(description="Each type: id, title, ports, config "
                                        "JSON schema, origin (as `flowcli nodes --json`).")


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str
    runs_active: int
