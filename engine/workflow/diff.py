"""What changed between two workflows, as a person reviewing the change reads it.

Nodes are matched by id (ids are stable across edits, unlike list order); a node's
fields are compared one by one, nested config values with a dotted path, so a reviewer
sees `config.headers.Accept: 'a' -> 'b'` rather than "config changed". A moved node is
a *minor* change: a layout tweak should not read like an edit. Secret references
(`{"$secret": ...}`) are plain values here, compared as written and never resolved.
Pure Python: the editor's overlay and any command-line tool read the same result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from engine.workflow.model import Graph, Subgraph, Workflow

Kind = Literal["added", "removed", "changed"]
_MISSING: Any = object()  # a side where the field does not exist


@dataclass(frozen=True)
class FieldChange:
    path: str  # "config.headers.Accept", "title", "position"
    old: Any
    new: Any

    @property
    def minor(self) -> bool:
        return self.path == "position"

    def describe(self) -> str:
        return f"{self.path}: {_show(self.old)} → {_show(self.new)}"


@dataclass(frozen=True)
class NodeDiff:
    node_id: str
    kind: Kind
    changes: tuple[FieldChange, ...] = ()

    @property
    def minor(self) -> bool:
        """Only moved: shown, but not counted as an edit."""
        return self.kind == "changed" and all(c.minor for c in self.changes)


@dataclass(frozen=True)
class WireDiff:
    kind: Literal["added", "removed"]
    source: str  # "node.port"
    target: str


@dataclass(frozen=True)
class GraphDiff:
    """The differences of one graph (the top level or one subgraph body)."""

    nodes: tuple[NodeDiff, ...] = ()
    wires: tuple[WireDiff, ...] = ()
    fields: tuple[FieldChange, ...] = ()  # name, description, inputs.*, settings.*
    subgraphs: dict[str, SubgraphDiff] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.nodes or self.wires or self.fields or self.subgraphs)

    def node(self, node_id: str) -> NodeDiff | None:
        return next((n for n in self.nodes if n.node_id == node_id), None)


@dataclass(frozen=True)
class SubgraphDiff:
    name: str
    kind: Kind
    body: GraphDiff = field(default_factory=GraphDiff)


def diff_workflows(old: Workflow, new: Workflow) -> GraphDiff:
    """The differences from `old` to `new`; an empty GraphDiff when they are alike."""
    base = _diff_graph(old, new)
    fields = list(base.fields)
    fields += _diff_values("settings", old.settings.model_dump(), new.settings.model_dump())
    subs: dict[str, SubgraphDiff] = {}
    for name in sorted(old.subgraphs.keys() | new.subgraphs.keys()):
        a, b = old.subgraphs.get(name), new.subgraphs.get(name)
        if a is None:
            assert b is not None
            subs[name] = SubgraphDiff(name, "added", _diff_graph(Subgraph(), b))
        elif b is None:
            subs[name] = SubgraphDiff(name, "removed", _diff_graph(a, Subgraph()))
        else:
            body = _diff_graph(a, b)
            extra = _diff_values("settings", _dump(a.settings), _dump(b.settings))
            if extra:
                body = GraphDiff(body.nodes, body.wires, body.fields + tuple(extra))
            if not body.empty:
                subs[name] = SubgraphDiff(name, "changed", body)
    return GraphDiff(base.nodes, base.wires, tuple(fields), subs)


def _diff_graph(old: Graph, new: Graph) -> GraphDiff:
    fields: list[FieldChange] = []
    for key in ("name", "description"):
        fields += _diff_values(key, getattr(old, key), getattr(new, key))
    fields += _diff_values("inputs", {k: v.model_dump() for k, v in old.inputs.items()},
                           {k: v.model_dump() for k, v in new.inputs.items()})
    olds = {n.id: n for n in old.nodes}
    news = {n.id: n for n in new.nodes}
    nodes: list[NodeDiff] = []
    for n in old.nodes:
        if n.id not in news:
            nodes.append(NodeDiff(n.id, "removed"))
    for n in new.nodes:
        before = olds.get(n.id)
        if before is None:
            nodes.append(NodeDiff(n.id, "added"))
            continue
        a = before.model_dump(by_alias=True, exclude={"id"})
        b = n.model_dump(by_alias=True, exclude={"id"})
        # A position is one value (a move), not two numbers changing separately.
        a["position"], b["position"] = tuple(a["position"]), tuple(b["position"])
        changes = [c for key in _keys(a, b)
                   for c in _diff_values(key, a.get(key, _MISSING), b.get(key, _MISSING),
                                         atomic=key == "position")]
        if changes:
            nodes.append(NodeDiff(n.id, "changed", tuple(changes)))
    a_wires = [(c.from_, c.to) for c in old.connections]
    b_wires = [(c.from_, c.to) for c in new.connections]
    a_set, b_set = set(a_wires), set(b_wires)  # once each: 5,000 wires in ms, not seconds
    wires = [WireDiff("removed", s, t) for s, t in a_wires if (s, t) not in b_set]
    wires += [WireDiff("added", s, t) for s, t in b_wires if (s, t) not in a_set]
    return GraphDiff(tuple(nodes), tuple(wires), tuple(fields))


def _diff_values(path: str, a: Any, b: Any, *, atomic: bool = False) -> list[FieldChange]:
    """Field by field: dicts recurse with a dotted path; anything else compares whole."""
    if not atomic and isinstance(a, dict) and isinstance(b, dict):
        out: list[FieldChange] = []
        for key in _keys(a, b):
            out += _diff_values(f"{path}.{key}", a.get(key, _MISSING), b.get(key, _MISSING))
        return out
    if a == b:
        return []
    return [FieldChange(path, None if a is _MISSING else a, None if b is _MISSING else b)]


def _keys(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    # Order of the old side first, then keys only the new side has: stable, readable.
    return list(a) + [k for k in b if k not in a]


def _dump(settings: Any) -> dict[str, Any]:
    return settings.model_dump() if settings is not None else {}


def _show(value: Any) -> str:
    text = repr(value) if value is not None else "—"
    return text if len(text) <= 60 else text[:57] + "…"
