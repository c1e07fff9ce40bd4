"""`/workflows`: the `.flow.json` files of the workflows folder: list, get, create,
replace (`If-Match` on the content hash; 412 when the file changed), delete, validate."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Response

from engine.server.api.deps import require_token, service
from engine.server.api.errors import ApiError
from engine.server.api.folder import StoredFile
from engine.server.api.models import (
    NAME_MAX,
    NAME_PATTERN,
    ValidationReport,
    WorkflowCreate,
    WorkflowDocument,
    WorkflowList,
    WorkflowReplace,
    WorkflowSummary,
)
from engine.server.api.responses import errors, links
from engine.server.api.service import Service
from engine.support import bounded_json
from engine.workflow.file import dumps

router = APIRouter(prefix="/workflows", tags=["workflows"],
                   dependencies=[Depends(require_token)])

Name = Annotated[str, Path(pattern=NAME_PATTERN, max_length=NAME_MAX,
                           description="The file's name without `.flow.json`.")]
IF_MATCH = Header(None, description="The hash (ETag) the client last read; on a mismatch "
                  "the request is refused with 412 and nothing changes.")


def _document(stored: StoredFile, response: Response) -> WorkflowDocument:
    response.headers["ETag"] = f'"{stored.hash}"'
    try:
        data = bounded_json.loads(stored.data.decode("utf-8-sig"))
    except (UnicodeDecodeError, bounded_json.JsonLimitError, ValueError) as e:
        raise ApiError(409, "unreadable", f"workflow {stored.name!r} is not a JSON document: "
                       f"{e}; fix or replace the file") from None
    if not isinstance(data, dict):
        raise ApiError(409, "unreadable", f"workflow {stored.name!r} is not a JSON object")
    return WorkflowDocument(name=stored.name, hash=stored.hash, workflow=data)


def _matches(if_match: str | None, stored: StoredFile) -> None:
    if if_match is None:
        return
    tags = [t.strip().removeprefix("W/").strip('"') for t in if_match.split(",")]
    if "*" not in tags and stored.hash not in tags:
        raise ApiError(412, "precondition_failed", f"workflow {stored.name!r} changed since "
                       "it was read (If-Match does not match its hash): GET it again, "
                       "merge, and retry", {"hash": stored.hash})


@router.get("", response_model=WorkflowList, responses=errors())
async def list_workflows(svc: Service = Depends(service)) -> WorkflowList:
    """Every `.flow.json` file in the workflows folder."""
    found = []
    for name in svc.folder.names():
        try:
            stored = svc.folder.read(name)
        except ApiError:
            continue  # deleted meanwhile, or unreadable
        found.append(WorkflowSummary(name=name, hash=stored.hash, size=len(stored.data),
                                     modified=stored.modified_iso, title=None))
    return WorkflowList(workflows=found)


@router.post("", status_code=201, response_model=WorkflowDocument, responses={
    **errors(400, 409), 201: links(("get_workflow", "replace_workflow", "delete_workflow",
                                    "validate_workflow"), "name", "name")})
async def create_workflow(body: WorkflowCreate, response: Response,
                          svc: Service = Depends(service)) -> WorkflowDocument:
    """Create `<name>.flow.json` (409 when it exists). The document is checked as a file
    is on loading (every problem at once) and saved as the editor saves it."""
    if svc.folder.exists(body.name):
        raise ApiError(409, "exists", f"workflow {body.name!r} exists already: PUT "
                       f"/workflows/{body.name} replaces it")
    wf = svc.from_data(body.workflow, f"workflow {body.name!r}")
    stored = svc.folder.write(body.name, dumps(wf))
    response.headers["Location"] = f"/workflows/{body.name}"
    return _document(stored, response)


@router.get("/{name}", response_model=WorkflowDocument, responses=errors(400, 404, 409))
async def get_workflow(name: Name, response: Response,
                       svc: Service = Depends(service)) -> WorkflowDocument:
    """The document; its hash is also the `ETag` header."""
    return _document(svc.folder.read(name), response)


@router.put("/{name}", response_model=WorkflowDocument,
            responses=errors(400, 404, 409, 412))
async def replace_workflow(name: Name, body: WorkflowReplace, response: Response,
                           if_match: str | None = IF_MATCH,
                           svc: Service = Depends(service)) -> WorkflowDocument:
    """Replace an existing workflow (404 when there is none: POST /workflows creates)."""
    stored = svc.folder.read(name)
    _matches(if_match, stored)
    wf = svc.from_data(body.workflow, f"workflow {name!r}")
    return _document(svc.folder.write(name, dumps(wf)), response)


@router.delete("/{name}", status_code=204, response_class=Response,
               responses=errors(400, 404, 409, 412))
async def delete_workflow(name: Name, if_match: str | None = IF_MATCH,
                          svc: Service = Depends(service)) -> Response:
    _matches(if_match, svc.folder.read(name))
    svc.folder.delete(name)
    return Response(status_code=204)


@router.post("/{name}/validate", response_model=ValidationReport,
             responses=errors(400, 404, 409))
async def validate_workflow(name: Name, svc: Service = Depends(service)) -> ValidationReport:
    """Every problem of the workflow (as `flowcli validate --json`); 200 either way."""
    from engine.core.plan import validate

    stored = svc.folder.read(name)
    wf = svc.load(stored.data.decode("utf-8-sig", errors="replace"), name)
    problems = validate(wf, svc.registry, base_dir=svc.folder.root)
    return ValidationReport(valid=not problems,
                            problems=[p.to_dict() for p in problems])  # type: ignore[misc]
