"""What the inspector makes of a node Config's JSON schema: one FieldSchema per property,
with `$ref`s resolved, `anyOf [X, null]` read as an optional X and bounds collected."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.core.sdk import Port

# Kinds of editor, one per shape a config value can have.
STRING, EXPRESSION, TEMPLATE = "string", "expression", "template"
INTEGER, NUMBER, BOOLEAN, ENUM = "integer", "number", "boolean", "enum"
OBJECT, ARRAY, ANY = "object", "array", "any"

_ACRONYMS = {"url": "URL", "api": "API", "id": "ID", "http": "HTTP", "json": "JSON",
             "llm": "LLM", "ms": "(ms)", "s": "(s)"}
_NO_DEFAULT = object()


@dataclass(frozen=True)
class FieldSchema:
    name: str
    label: str
    kind: str
    description: str = ""
    required: bool = False
    nullable: bool = False  # null is a valid value (`X | None`)
    default: Any = _NO_DEFAULT
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    choices: tuple[Any, ...] = ()
    item: FieldSchema | None = None  # of an array's items / an object's values
    pattern: str | None = None

    @property
    def has_default(self) -> bool:
        return self.default is not _NO_DEFAULT

    @property
    def unset_means_none(self) -> bool:
        """Whether leaving the field out gives null (no default, or a null default)."""
        return not self.has_default or self.default is None

    def default_text(self) -> str:
        """The default as a short text, for placeholders ("" when there is none)."""
        if not self.has_default or self.default is None:
            return ""
        if isinstance(self.default, str):
            return self.default
        return json.dumps(self.default, ensure_ascii=False)


def label_for(name: str, title: str | None = None) -> str:
    """`max_delay_s` -> "Max delay (s)"; a title the author wrote wins over pydantic's."""
    if title and title != name.replace("_", " ").title():
        return title
    words = [w for w in name.split("_") if w]
    out = [_ACRONYMS.get(w, w) if i or w in ("s", "ms") else _ACRONYMS.get(w, w.capitalize())
           for i, w in enumerate(words)]
    if len(out) == 1 and out[0].startswith("("):
        return name
    return " ".join(out) if out else name


def config_fields(schema: Mapping[str, Any]) -> list[FieldSchema]:
    """The fields of a Config's `model_json_schema()`, in declaration order."""
    required = set(schema.get("required", ()))
    return [field_schema(name, prop, schema, required=name in required)
            for name, prop in schema.get("properties", {}).items()]


def port_field(port: Port) -> FieldSchema:
    """An optional value typed into the config for an input port (FORMAT: "Inputs typed
    into the config"): typed by the port, null when left out."""
    kind = port.type if port.type in (STRING, INTEGER, NUMBER, BOOLEAN, OBJECT, ARRAY) else ANY
    if kind == BOOLEAN:  # three states: not set, true, false
        return FieldSchema(port.name, label_for(port.name), ENUM, port.description,
                           nullable=True, choices=(True, False))
    item = FieldSchema("value", "Value", ANY) if kind in (OBJECT, ARRAY) else None
    return FieldSchema(port.name, label_for(port.name), kind, port.description,
                       nullable=True, item=item)


def field_schema(name: str, prop: Mapping[str, Any], root: Mapping[str, Any], *,
                 required: bool = False) -> FieldSchema:
    s, nullable = _flatten(prop, root)
    kind, choices = _kind(s)
    lo, lo_excl = _bound(s, "minimum", "exclusiveMinimum")
    hi, hi_excl = _bound(s, "maximum", "exclusiveMaximum")
    item: FieldSchema | None = None
    if kind == ARRAY:
        item = field_schema("item", s.get("items") or {}, root)
    elif kind == OBJECT:
        extra = s.get("additionalProperties")
        item = field_schema("value", extra if isinstance(extra, Mapping) else {}, root)
    if kind == BOOLEAN and nullable and ("default" not in s or s["default"] is None):
        kind, choices = ENUM, (True, False)  # a checkbox has no "not set"
    return FieldSchema(
        name=name, label=label_for(name, prop.get("title") or s.get("title")), kind=kind,
        description=str(s.get("description", "")), required=required, nullable=nullable,
        default=s.get("default", _NO_DEFAULT),
        minimum=lo, maximum=hi, exclusive_minimum=lo_excl, exclusive_maximum=hi_excl,
        choices=choices, item=item, pattern=s.get("pattern"))


def _resolve(s: Mapping[str, Any], root: Mapping[str, Any]) -> dict[str, Any]:
    """Inline `$ref` (and a lone `allOf` wrapper), keeping the referring node's own keys."""
    out = dict(s)
    for _ in range(16):  # bounded: a self-referencing schema must not hang the editor
        if "$ref" in out:
            ref = str(out.pop("$ref"))
            target = _lookup(ref, root)
            out = {**target, **out}
        elif isinstance(out.get("allOf"), list) and len(out["allOf"]) == 1:
            inner = out.pop("allOf")[0]
            out = {**_resolve(inner, root), **out}
        else:
            break
    return out


def _lookup(ref: str, root: Mapping[str, Any]) -> dict[str, Any]:
    node: Any = root
    for part in ref.removeprefix("#/").split("/"):
        node = node.get(part, {}) if isinstance(node, Mapping) else {}
    return dict(node) if isinstance(node, Mapping) else {}


def _flatten(prop: Mapping[str, Any], root: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """One schema for the field and whether null is allowed."""
    s = _resolve(prop, root)
    t = s.get("type")
    if isinstance(t, list):
        rest = [x for x in t if x != "null"]
        s["type"] = rest[0] if len(rest) == 1 else None
        return s, len(rest) < len(t)
    variants = s.get("anyOf") or s.get("oneOf")
    if not isinstance(variants, list):
        return s, False
    outer = {k: v for k, v in s.items() if k not in ("anyOf", "oneOf")}
    resolved = [_resolve(v, root) for v in variants]
    real = [v for v in resolved if v.get("type") != "null"]
    nullable = len(real) < len(resolved)
    if len(real) == 1:
        return {**real[0], **outer}, nullable
    types = {v.get("type") for v in real}
    if types and types <= {"integer", "number"}:
        return {**outer, "type": "number"}, nullable
    if real and all("enum" in v or "const" in v for v in real):
        values = [x for v in real for x in (v.get("enum") or [v.get("const")])]
        return {**outer, "enum": values}, nullable
    return outer, nullable  # several shapes: edited as JSON


def _kind(s: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]]:
    if isinstance(s.get("enum"), list):
        return ENUM, tuple(s["enum"])
    if "const" in s:
        return ENUM, (s["const"],)
    t = s.get("type")
    if t == "string":
        fmt = s.get("format")
        return (fmt if fmt in (EXPRESSION, TEMPLATE) else STRING), ()
    if t in (INTEGER, NUMBER, BOOLEAN, OBJECT, ARRAY):
        return str(t), ()
    return ANY, ()


def _bound(s: Mapping[str, Any], inclusive: str, exclusive: str) -> tuple[float | None, bool]:
    if isinstance(s.get(exclusive), int | float) and not isinstance(s.get(exclusive), bool):
        return float(s[exclusive]), True
    if isinstance(s.get(inclusive), int | float) and not isinstance(s.get(inclusive), bool):
        return float(s[inclusive]), False
    return None, False
