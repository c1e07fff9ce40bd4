"""The engine's problems of one node, placed under the config field each is about so
the inspector can show them while the user edits (the rules are the engine's:
engine.core.validation.node_problems)."""

from __future__ import annotations

from engine.core.validation import node_problems
from engine.errors import Problem
from flowui.document import GraphKey, WorkflowDocument
from flowui.inspector.form import sentence

# How the panel words a problem it shows beside its own field.
_BESIDE_FIELD = {"missing_config": "Required",
                 "missing_input": "Required: wire the input or type a value"}


def config_problems(doc: WorkflowDocument, graph: GraphKey, node_id: str) -> dict[str, str]:
    """A node's config problems by config key ("" for those about the config as a
    whole): its type's Config and check, template syntax, values typed into inputs,
    required inputs nothing gives a value. Wire problems are the canvas's to show."""
    by_key: dict[str, str] = {}
    for p in node_problems(doc.workflow, graph, node_id, doc.registry, base_dir=doc.base_dir):
        key, path = _place(p)
        if key is None:
            continue
        message = _BESIDE_FIELD.get(p.code) if not path else None
        text = message or (f"{path}: {p.message}" if path else sentence(p.message))
        by_key.setdefault(key, text)
    return by_key


def _place(p: Problem) -> tuple[str | None, str]:
    """(config key, path inside its value) a problem is about; ("", "") for the config
    as a whole; (None, "") for what the form does not show (wires)."""
    field = p.field or ""
    if field in ("config", "type"):
        return "", ""
    for prefix in ("config.", "inputs."):
        if field.startswith(prefix):
            rest = field[len(prefix):]
            cut = min((i for i in (rest.find("."), rest.find("[")) if i >= 0),
                      default=len(rest))
            return rest[:cut], rest[cut:].lstrip(".")
    return None, ""
