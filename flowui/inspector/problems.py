"""What validation would say about a node's config, worked out for the inspector so each
problem shows under the field it is about, while the user edits."""

from __future__ import annotations

import inspect

from pydantic import ValidationError

from engine.core.sdk import PortContext
from engine.templates.engine import default_engine
from engine.workflow.porttypes import matches, type_name
from flowui.document import GraphKey, WorkflowDocument
from flowui.inspector.form import sentence
from flowui.inspector.schema import EXPRESSION, TEMPLATE


def config_problems(doc: WorkflowDocument, graph: GraphKey, node_id: str) -> dict[str, str]:
    """What validation would say about a node's config, by config key ("" for the rest):
    template syntax, the Config's own checks (template-valued fields are checked only
    after rendering, so skipped), port values of the wrong type, the type's `check`."""
    spec = doc.node(graph, node_id)
    cls = doc.registry.get(spec.type)
    if cls is None:
        return {}
    fields = cls.Config.model_fields
    inputs, _ = doc.ports(graph, node_id)
    ports = {p.name: p for p in inputs}
    port_values = {k: v for k, v in spec.config.items() if k in ports and k not in fields}
    raw = {k: v for k, v in spec.config.items() if k not in port_values}
    problems: dict[str, str] = {}
    raw_fields = {name: f.json_schema_extra.get("format") for name, f in fields.items()
                  if isinstance(f.json_schema_extra, dict)
                  and f.json_schema_extra.get("format") in (EXPRESSION, TEMPLATE)}
    for key, value in spec.config.items():
        if key in raw_fields and isinstance(value, str):
            err = (default_engine.check_expression(value) if raw_fields[key] == EXPRESSION
                   else default_engine.check_text(value))
            if err:
                problems[key] = sentence(err)
            continue
        for path, err in default_engine.check_value(value):
            problems.setdefault(key, f"{path}: {err}" if path else sentence(err))
    templated = {k for k, v in raw.items()
                 if k not in raw_fields and default_engine.contains_template(v)}
    unknown: list[str] = []
    try:
        cls.Config.model_validate(raw)
    except ValidationError as e:
        for detail in e.errors():
            loc = detail["loc"]
            top = str(loc[0]) if loc else ""
            if top in templated or top in problems:
                continue
            if detail["type"] == "missing":
                if top in ports and doc.connections_into(graph, node_id, top):
                    continue  # the wire gives it
                problems[top] = "Required" + (": wire the input or type a value"
                                              if top in ports else "")
            elif detail["type"] == "extra_forbidden":
                unknown.append(top)
            else:
                path = "".join(f"[{x}]" if isinstance(x, int) else f".{x}" for x in loc[1:])
                problems[top] = f"{path.lstrip('.')}: {detail['msg']}" if path else detail["msg"]
    if unknown:
        problems[""] = f"Unknown config field{'s' if len(unknown) > 1 else ''} " \
                       f"{', '.join(map(repr, unknown))}: in the file, but this node type " \
                       "does not use it"
    for name, value in port_values.items():
        port_type = ports[name].type
        if not default_engine.contains_template(value) and not matches(port_type, value):
            problems.setdefault(name, f"This input takes {port_type}, not {type_name(value)}")
    for name, p in ports.items():
        if (name not in fields and p.required and not p.multiple and name not in spec.config
                and not doc.connections_into(graph, node_id, name)):
            problems.setdefault(name, "Required: wire the input or type a value")
    try:
        extra = {"context": PortContext(doc.workflow, doc.base_dir, doc.registry)} if "context" in \
            inspect.signature(cls.check).parameters else {}
        for key, message in cls.check(raw, doc.graph(graph), top_level=graph is None, **extra):
            problems.setdefault(key or "", sentence(message))
    except Exception:  # a half-typed config must not break the panel
        pass
    return problems

