"""Reading and writing `*.flow.json` files.

Loading reports every problem with its place (line and column for broken JSON,
node id and field for schema errors). Saving is deterministic (fixed key order,
whole-number positions, 2-space indent, trailing newline) and atomic, so a file
the program wrote loads and saves back byte-identical and diffs well in git.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from engine.errors import MigrationError, WorkflowFileError
from engine.support import bounded_json
from engine.support.atomic import write_text_atomic
from engine.support.bounded_read import MAX_FILE_BYTES, human_bytes, read_regular
from engine.support.gcpause import gc_paused
from engine.workflow.migrations import DEFAULT, Migrator
from engine.workflow.model import (
    FORMAT_NAME,
    Graph,
    InputSpec,
    NodeSpec,
    RetryPolicy,
    Settings,
    Workflow,
)

_NODE_FIELDS = list(NodeSpec.model_fields)
# Measured: 200,000 nodes took 500 MB to validate, with 800,000 wires 1.2 GB; 100,000
# nodes load, validate and run in ~4 s. Bigger graphs belong in sub-workflow files.
MAX_NODES = 100_000
MAX_CONNECTIONS = 400_000


def load(path: str | os.PathLike[str], *, migrator: Migrator = DEFAULT) -> Workflow:
    """Read a workflow file. Raises WorkflowFileError listing every problem."""
    p = Path(path)
    try:
        raw = read_regular(p, max_bytes=MAX_FILE_BYTES)
    except OSError as e:
        raise WorkflowFileError(str(p), [f"cannot read the file: {e.strerror or e}"]) from e
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise WorkflowFileError(
            str(p), [f"byte {e.start}: not UTF-8 text; save the file as UTF-8"]) from e
    return loads(text, source=str(p), migrator=migrator)


def loads(text: str, *, source: str = "<string>", migrator: Migrator = DEFAULT) -> Workflow:
    if len(text) > MAX_FILE_BYTES:
        raise WorkflowFileError(source, [
            f"the text is longer than the limit of {human_bytes(MAX_FILE_BYTES)}"])
    # One pause for parsing and building: between two, the collector would rescan
    # everything just parsed (20 ms of a 10,000-node file).
    with gc_paused():
        try:
            data = bounded_json.loads(text)
        except bounded_json.JsonLimitError as e:
            raise WorkflowFileError(source, [str(e)]) from e
        return _build(data, source, migrator)


def from_data(data: Any, *, source: str = "<data>", migrator: Migrator = DEFAULT) -> Workflow:
    """Build a Workflow from an already parsed JSON value (migrating old versions)."""
    try:  # data built in Python (the editor, an API) meets the same limits as a file
        bounded_json.check(data)
    except bounded_json.JsonLimitError as e:
        raise WorkflowFileError(source, [str(e)]) from e
    return _build(data, source, migrator)


def _build(data: Any, source: str, migrator: Migrator) -> Workflow:
    if not isinstance(data, dict):
        raise WorkflowFileError(source, ["the top level must be a JSON object {...}"])
    if data.get("format") != FORMAT_NAME:
        found = repr(data.get("format"))
        found = found if len(found) <= 60 else found[:57] + "..."
        raise WorkflowFileError(source, [
            f"'format' must be {FORMAT_NAME!r} (found {found}): this is not a FlowUI workflow"
        ])
    try:
        data = migrator.upgrade(data)
    except MigrationError as e:
        raise WorkflowFileError(source, [str(e)]) from e
    _check_size(data, source)
    try:
        with gc_paused():
            return Workflow.model_validate(data)
    except ValidationError as e:
        raise WorkflowFileError(source, describe_errors(e, data)) from e


def _check_size(data: dict[str, Any], source: str) -> None:
    """At most MAX_NODES nodes and MAX_CONNECTIONS connections in all graphs together:
    a file within the size limit could otherwise list millions of tiny nodes, and
    each costs about a kilobyte once built."""
    subgraphs = data.get("subgraphs")
    graphs = [data, *(subgraphs.values() if isinstance(subgraphs, dict) else ())]
    for key, limit in (("nodes", MAX_NODES), ("connections", MAX_CONNECTIONS)):
        count = sum(len(g[key]) for g in graphs
                    if isinstance(g, dict) and isinstance(g.get(key), list))
        if count > limit:
            raise WorkflowFileError(source, [
                f"{count:,} {key} in all: more than the limit of {limit:,}; split the "
                "workflow into sub-workflow files"])


def describe_errors(error: ValidationError, data: dict[str, Any]) -> list[str]:
    """Turn pydantic's errors into messages that name the node/input/connection."""
    out = []
    for err in error.errors():
        loc = list(err["loc"])
        where, rest = _locate(loc, data)
        if err["type"] == "extra_forbidden":
            field = str(loc[-1])
            owner = ".".join(str(x) for x in rest[:-1])
            known = _known_fields(loc)
            hint = difflib.get_close_matches(field, known, n=1)
            msg = f"unknown field {field!r}" + (f" in {owner!r}" if owner else "")
            msg += f" (did you mean {hint[0]!r}?)" if hint else (
                f"; known fields: {', '.join(known)}" if known else "")
        elif err["type"] == "string_pattern_mismatch" and rest in (["from"], ["to"]):
            msg = f"field {rest[0]!r}: {err['input']!r} is not '<node id>.<port name>'"
        else:
            field = ".".join(str(x) for x in rest)
            msg = (f"field {field!r}: " if field else "") + err["msg"]
        out.append(f"{where}: {msg}")
    return out


def _locate(loc: list[Any], data: dict[str, Any]) -> tuple[str, list[Any]]:
    prefix = ""
    graph: Any = data
    if len(loc) >= 2 and loc[0] == "subgraphs":
        prefix = f"subgraph {loc[1]!r}, "
        graph = (data.get("subgraphs") or {}).get(loc[1], {})
        loc = loc[2:]
        if not loc:
            return prefix.rstrip(", "), []
    head = loc[0]
    if head == "nodes" and len(loc) >= 2 and isinstance(loc[1], int):
        nodes = graph.get("nodes") if isinstance(graph, dict) else None
        node = nodes[loc[1]] if isinstance(nodes, list) and loc[1] < len(nodes) else None
        node_id = node.get("id") if isinstance(node, dict) else None
        label = f"node {node_id!r} (nodes[{loc[1]}])" if isinstance(node_id, str) \
            else f"nodes[{loc[1]}]"
        return prefix + label, loc[2:]
    if head == "connections" and len(loc) >= 2 and isinstance(loc[1], int):
        conns = graph.get("connections") if isinstance(graph, dict) else None
        c = conns[loc[1]] if isinstance(conns, list) and loc[1] < len(conns) else None
        label = f"connections[{loc[1]}]"
        if isinstance(c, dict):
            label += f" ({c.get('from')!r} -> {c.get('to')!r})"
        return prefix + label, [x if x != "from_" else "from" for x in loc[2:]]
    if head == "inputs" and len(loc) >= 2:
        return prefix + f"input {loc[1]!r}", loc[2:]
    if head == "settings":
        return prefix + "settings", loc[1:]
    return prefix + "workflow", loc


def _known_fields(loc: list[Any]) -> list[str]:
    names = [str(x) for x in loc if isinstance(x, str)]
    if "retry" in names:
        return list(RetryPolicy.model_fields)
    if "nodes" in names:
        return _NODE_FIELDS
    if "inputs" in names:
        return list(InputSpec.model_fields)
    if "connections" in names:
        return ["from", "to"]
    if "settings" in names:
        from engine.workflow.model import Settings
        return list(Settings.model_fields)
    return []


# --- saving -----------------------------------------------------------------------


def to_data(workflow: Workflow) -> dict[str, Any]:
    """The document as plain JSON data, keys in their fixed order."""
    out: dict[str, Any] = {"format": FORMAT_NAME, "version": workflow.version}
    out.update(_graph_data(workflow))
    out["settings"] = _settings_data(workflow.settings)
    out["nodes"] = [_node_data(n) for n in workflow.nodes]
    out["connections"] = [{"from": c.from_, "to": c.to} for c in workflow.connections]
    out["subgraphs"] = {name: _subgraph_data(sg) for name, sg in workflow.subgraphs.items()}
    out["ui"] = workflow.ui
    out.update(workflow.model_extra or {})
    return out


_POSITION_RE = re.compile(r'"position": \[\s+(-?\d+),\s+(-?\d+)\s+\]')
# A group's or a sticky note's rect (ui.groups, ui.notes), [x, y, w, h], likewise.
_RECT_RE = re.compile(r'"rect": \[\s+(-?\d+),\s+(-?\d+),\s+(-?\d+),\s+(-?\d+)\s+\]')


def dumps(workflow: Workflow) -> str:
    text = json.dumps(to_data(workflow), indent=2, ensure_ascii=False)
    # A position on one line: moving a node then changes one line of the diff.
    text = _POSITION_RE.sub(r'"position": [\1, \2]', text)
    return _RECT_RE.sub(r'"rect": [\1, \2, \3, \4]', text) + "\n"


def save(workflow: Workflow, path: str | os.PathLike[str]) -> None:
    write_text_atomic(path, dumps(workflow))


def _graph_data(g: Graph) -> dict[str, Any]:
    return {"name": g.name, "description": g.description,
            "inputs": {k: _input_data(v) for k, v in g.inputs.items()}}


def _subgraph_data(sg: Any) -> dict[str, Any]:
    out = _graph_data(sg)
    if sg.settings is not None:
        out["settings"] = _settings_data(sg.settings)
    out["nodes"] = [_node_data(n) for n in sg.nodes]
    out["connections"] = [{"from": c.from_, "to": c.to} for c in sg.connections]
    out.update(sg.model_extra or {})
    return out


def _input_data(spec: InputSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"type": spec.type}
    if "default" in spec.model_fields_set:
        out["default"] = spec.default
    if spec.description:
        out["description"] = spec.description
    if spec.required is not None:
        out["required"] = spec.required
    return out


def _node_data(n: NodeSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"id": n.id, "type": n.type}
    if n.title is not None:
        out["title"] = n.title
    out["position"] = [round(n.position[0]), round(n.position[1])]
    out["config"] = n.config
    if n.retry is not None:
        out["retry"] = _clean(n.retry.model_dump())
    if n.timeout_s is not None:
        out["timeout_s"] = _num(n.timeout_s)
    if n.on_error is not None:
        out["on_error"] = n.on_error
    if n.disabled:
        out["disabled"] = True
    if n.pinned is not None:
        out["pinned"] = n.pinned
    return out


def _settings_data(settings: Settings) -> dict[str, Any]:
    data = _clean(settings.model_dump())
    if data.get("executor") is None:  # newer than most files: they stay as they were
        del data["executor"]
    return data


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    return {k: _num(v) for k, v in d.items()}


def _num(v: Any) -> Any:
    # 10 and 10.0 mean the same to every setting; write the shorter so a
    # hand-written "timeout_s": 30 survives a save unchanged.
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v
