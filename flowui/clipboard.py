"""Copy and paste of nodes as FORMAT.md JSON text, so nodes paste between windows, into
a text editor and back. Pasted nodes get fresh ids and an offset; wires between the
copied nodes are kept, wires to nodes outside the selection are not."""

from __future__ import annotations

import json
from collections.abc import Iterable

from pydantic import ValidationError

from engine.errors import WorkflowFileError
from engine.support import bounded_json
from engine.workflow import file as workflow_file
from engine.workflow.model import Connection, NodeSpec, Workflow
from flowui.document import GraphKey, WorkflowDocument

MIME = "application/x-flowui-workflow"


def copy_text(doc: WorkflowDocument, graph: GraphKey, node_ids: Iterable[str]) -> str:
    """The selected nodes of `graph` and the wires among them, as a workflow file's JSON."""
    ids = set(node_ids)
    fragment = Workflow(
        nodes=[n for n in doc.nodes(graph) if n.id in ids],
        connections=[c for c in doc.connections(graph)
                     if c.source[0] in ids and c.target[0] in ids])
    data = workflow_file.to_data(fragment)
    keep = ("format", "version", "nodes", "connections")
    return json.dumps({k: data[k] for k in keep}, indent=2, ensure_ascii=False) + "\n"


class PasteError(ValueError):
    """The clipboard does not hold FlowUI nodes (the message says what it holds)."""


def parse_paste(doc: WorkflowDocument, graph: GraphKey, text: str,
                offset: tuple[float, float]) -> tuple[list[NodeSpec], list[Connection]]:
    """Nodes and wires to add to `graph` for a paste: fresh ids, positions moved by `offset`."""
    text = text.strip()
    if not text.startswith("{"):
        raise PasteError("the clipboard does not hold FlowUI nodes")
    try:
        data = bounded_json.loads(text)
    except bounded_json.JsonLimitError as e:
        raise PasteError(f"the clipboard is not acceptable JSON ({e})") from None
    if isinstance(data, dict) and "format" not in data and "nodes" in data:
        data = {"format": "flowui-workflow", "version": 1, **data}
    try:
        fragment = workflow_file.from_data(data, source="clipboard")
    except WorkflowFileError as e:
        raise PasteError("; ".join(e.problems)) from None
    if not fragment.nodes:
        raise PasteError("the clipboard holds a workflow without nodes")
    renamed: dict[str, str] = {}
    nodes = []
    for spec in fragment.nodes:
        new_id = doc.unique_id(graph, spec.id, taken=renamed.values())
        renamed[spec.id] = new_id
        x, y = spec.position
        nodes.append(spec.model_copy(update={"id": new_id,
                                             "position": (x + offset[0], y + offset[1])}))
    conns = []
    for c in fragment.connections:
        (a, ap), (b, bp) = c.source, c.target
        if a in renamed and b in renamed:
            try:
                conns.append(Connection.model_validate(
                    {"from": f"{renamed[a]}.{ap}", "to": f"{renamed[b]}.{bp}"}))
            except ValidationError:
                continue
    return nodes, conns
