"""Folding selected nodes into a subgraph run by one `flow.subworkflow` node, and
unfolding (ungrouping) such a node back into its graph: the pure rewrite of the
workflow model; the editor turns each into one undo step.

What must not change is what the workflow computes. Wires that cross the selection's
boundary go through the body's `flow.input` / `flow.output` nodes (FORMAT.md
"Subgraph bodies"); what a body cannot see by itself is passed in explicitly:
a selected `flow.input` reads its graph's input of that name, and a template that
reads `inputs.x` reads the graph's input `x`, so both become body inputs fed from a
`flow.input` of the outer graph; a selected `flow.output` makes an outer result, so
the outer graph gets a `flow.output` of that name fed from the new node.
Wires into one input port keep their order (a `multiple` port's values arrive in
connection order). One thing a body boundary cannot carry is a skipped value: a
skipped value crossing into the body skips the whole sub-workflow node (docs/notes.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.workflow.model import (
    BODY_INPUT_TYPE,
    BODY_OUTPUT_TYPE,
    IDENT_RE,
    SUBWORKFLOW_TYPE,
    Connection,
    InputSpec,
    NodeSpec,
    Subgraph,
)
from flowui.document import GraphKey, WorkflowDocument

COLUMN = 300.0  # from the body's flow.input column to its nodes, and on to its outputs
ROW = 110.0
# A body input cannot take the name of a flow.subworkflow config field; no output may be
# called `error` (every node's error port).
RESERVED_INPUTS = frozenset({"path", "subgraph"})
RESERVED_OUTPUTS = frozenset({"error"})

_INPUT_REF = re.compile(r"\binputs\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_-]*)"
                        r"|\[\s*['\"]([A-Za-z_][A-Za-z0-9_-]*)['\"]\s*\])")
_INPUTS_WORD = re.compile(r"\binputs\b")
_ID_TAIL = re.compile(r"^(.*?)(\d+)$")
_LOOP_REF = re.compile(r"\bloop\s*[.\[]")


class FoldError(ValueError):
    """Why a selection cannot be folded, or a node unfolded (said to the user)."""


@dataclass
class Folding:
    """Create a subgraph from a selection: remove `removed_nodes` and `removed_wires`
    from the graph, add `subgraph` under `name`, then add `nodes` and `connections`."""

    name: str
    subgraph: Subgraph
    node_id: str
    removed_nodes: list[str]
    removed_wires: list[tuple[str, str]]
    nodes: list[NodeSpec] = field(default_factory=list)
    connections: list[Connection] = field(default_factory=list)


@dataclass
class Unfolding:
    """Ungroup: remove the node (and `removed_wires`), add `nodes` and `connections`,
    and drop subgraph `name` when `drop_subgraph`."""

    name: str
    node_id: str
    removed_wires: list[tuple[str, str]]
    nodes: list[NodeSpec]
    connections: list[Connection]
    drop_subgraph: bool


def _wire(source: str, target: str) -> Connection:
    return Connection.model_validate({"from": source, "to": target})


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def input_references(specs: Iterable[NodeSpec], declared: Iterable[str]) -> list[str]:
    """The graph inputs the templates and conditions (bare expressions) of `specs` read
    (`inputs.x`, `inputs['x']`); every declared one when a template uses `inputs` some
    other way (a loop over it...)."""
    found: list[str] = []
    everything = False
    for spec in specs:
        for text in _strings(spec.config):
            named = [a or b for a, b in _INPUT_REF.findall(text)]
            if ("{{" in text or "{%" in text) and \
                    len(named) < len(_INPUTS_WORD.findall(text)):
                everything = True
            for n in named:
                if n not in found:
                    found.append(n)
    if everything:
        found += [n for n in declared if n not in found]
    return found


def _unique(base: str, taken: set[str]) -> str:
    """`base`, else counted on as node ids are (`log` -> `log2`, `t2` -> `t3`); taken."""
    base = re.sub(r"[^A-Za-z0-9_-]", "_", base)
    if not IDENT_RE.match(base):
        base = f"n_{base}"
    m = _ID_TAIL.match(base)
    stem, n = (m.group(1), int(m.group(2)) + 1) if m and m.group(1) else (base, 2)
    name = base
    while name in taken:
        name, n = f"{stem}{n}", n + 1
    taken.add(name)
    return name


def _between(doc: WorkflowDocument, graph: GraphKey, ids: set[str]) -> list[str]:
    """Nodes outside `ids` on a path from a selected node back to a selected node:
    folding would make the new node feed itself (a cycle)."""
    succ: dict[str, list[str]] = {}
    pred: dict[str, list[str]] = {}
    for c in doc.connections(graph):
        succ.setdefault(c.source[0], []).append(c.target[0])
        pred.setdefault(c.target[0], []).append(c.source[0])

    def reach(edges: dict[str, list[str]]) -> set[str]:
        seen: set[str] = set()
        stack = [m for n in ids for m in edges.get(n, ()) if m not in ids]
        while stack:
            n = stack.pop()
            if n not in seen:
                seen.add(n)
                stack += [m for m in edges.get(n, ()) if m not in ids]
        return seen

    return sorted(reach(succ) & reach(pred))


def fold(doc: WorkflowDocument, graph: GraphKey, node_ids: Iterable[str],
         name: str) -> Folding:
    """The rewrite that moves `node_ids` of `graph` into a new subgraph `name`, run by
    one new flow.subworkflow node where they were."""
    ids = set(node_ids)
    if not ids:
        raise FoldError("select the nodes to put in the subgraph first")
    between = _between(doc, graph, ids)
    if between:
        raise FoldError(f"{', '.join(between[:4])} lies between selected nodes (the new node "
                        "would feed itself): select it too, or fewer nodes")
    outer = doc.graph(graph)
    inside = [n for n in outer.nodes if n.id in ids]
    conns = outer.connections
    looped = next((n.id for n in inside if any(_LOOP_REF.search(t)
                                                 for t in _strings(n.config))), None)
    if looped is not None:
        raise FoldError(f"{looped} reads `loop`, which a sub-workflow's body cannot see; "
                        "leave it out of the selection")
    left = min(n.position[0] for n in inside)
    top = min(n.position[1] for n in inside)
    right = max(n.position[0] for n in inside)
    shift = (COLUMN - left, -top)

    taken_ids = set(ids)  # node ids in the body
    outer_taken = {n.id for n in outer.nodes if n.id not in ids}  # and in the outer graph
    in_names: set[str] = set(RESERVED_INPUTS)
    out_names: set[str] = set(RESERVED_OUTPUTS)
    body_inputs: dict[str, InputSpec] = {}
    body_nodes = [n.model_copy(update={"position": (n.position[0] + shift[0],
                                                    n.position[1] + shift[1])})
                  for n in inside]
    new_outer: list[NodeSpec] = []
    outer_wires: list[Connection] = []
    # Selected flow.outputs: the outer graph keeps a result of that name (same node id).
    results = [n for n in inside if n.type == BODY_OUTPUT_TYPE
               and isinstance(n.config.get("name"), str)]
    outer_taken |= {n.id for n in results}
    out_names |= {n.config["name"] for n in results}
    node_id = _unique(name, outer_taken)
    bottom = max(n.position[1] for n in inside)
    at = (round((left + right) / 2), round((top + bottom) / 2))  # where the selection was

    # The graph's own inputs the selection reads: a selected flow.input, or a template.
    passed = [n.config["name"] for n in inside
              if n.type == BODY_INPUT_TYPE and isinstance(n.config.get("name"), str)]
    # (At the top level an undeclared input is undefined before and after: not passed.)
    passed += [x for x in input_references((n for n in inside if n.type != BODY_INPUT_TYPE),
                                           outer.inputs)
               if x not in passed and (graph is not None or x in outer.inputs)]
    bad = [x for x in passed if x in RESERVED_INPUTS]
    if bad:
        raise FoldError(f"the selection reads graph input {bad[0]!r}, a name a sub-workflow "
                        "input cannot have; rename that input first")
    feeders = {n.config.get("name"): n.id for n in outer.nodes
               if n.type == BODY_INPUT_TYPE and n.id not in ids}
    for x in passed:
        in_names.add(x)
        body_inputs[x] = outer.inputs.get(x, InputSpec()).model_copy()
        source = feeders.get(x)
        if source is None:
            first = next((n for n in inside if n.type == BODY_INPUT_TYPE
                          and n.config.get("name") == x), None)
            source = _unique(first.id if first else x, outer_taken)
            new_outer.append(NodeSpec(id=source, type=BODY_INPUT_TYPE, config={"name": x},
                                      position=first.position if first else
                                      (at[0] - COLUMN, at[1])))
            feeders[x] = source
        outer_wires.append(_wire(f"{source}.value", f"{node_id}.{x}"))

    for n in results:
        new_outer.append(n.model_copy(update={"position": (right + COLUMN, n.position[1])}))
        outer_wires.append(_wire(f"{node_id}.{n.config['name']}", f"{n.id}.value"))

    body_wires: list[Connection] = []
    entries: dict[str, str] = {}  # outer source endpoint -> body flow.input node id
    exits: dict[str, str] = {}  # body source endpoint -> output name
    affected: set[str] = set()  # outer input ports fed from inside: rewired in order
    body_right = right + shift[0] + COLUMN
    for c in conns:
        (src, sport), (dst, _) = c.source, c.target
        if src in ids and dst in ids:
            body_wires.append(c)
        elif dst in ids:  # into the selection: through a body input
            entry = entries.get(c.from_)
            if entry is None:
                x = _unique(f"{src}_{sport}", in_names)
                port = doc.port(graph, src, sport, output=True)
                body_inputs[x] = InputSpec(type=port.type if port else "any",
                                           description=f"from {c.from_}")
                target = next(n for n in body_nodes if n.id == dst)
                entry = entries[c.from_] = _unique(f"in_{x}", taken_ids)
                body_nodes.append(NodeSpec(id=entry, type=BODY_INPUT_TYPE, config={"name": x},
                                           position=(0.0, target.position[1])))
                outer_wires.append(_wire(c.from_, f"{node_id}.{x}"))
            body_wires.append(_wire(f"{entry}.value", c.to))
        elif src in ids:  # out of the selection: through a body output
            if c.from_ not in exits:
                y = exits[c.from_] = _unique(f"{src}_{sport}", out_names)
                out_id = _unique(f"out_{y}", taken_ids)
                origin = next(n for n in body_nodes if n.id == src)
                body_nodes.append(NodeSpec(id=out_id, type=BODY_OUTPUT_TYPE, config={"name": y},
                                           position=(body_right, origin.position[1])))
                body_wires.append(_wire(c.from_, f"{out_id}.value"))
            affected.add(c.to)

    # Every wire into an outer port fed from inside goes back in its old order.
    removed_wires = [(c.from_, c.to) for c in conns if c.to in affected]
    for c in conns:
        if c.to in affected:
            src = c.source[0]
            outer_wires.append(_wire(f"{node_id}.{exits[c.from_]}", c.to) if src in ids
                               else c)
    sub_node = NodeSpec(id=node_id, type=SUBWORKFLOW_TYPE, config={"subgraph": name},
                        position=at)
    subgraph = Subgraph(name=name, inputs=body_inputs, nodes=body_nodes,
                        connections=body_wires)
    return Folding(name=name, subgraph=subgraph, node_id=node_id,
                   removed_nodes=[n.id for n in inside], removed_wires=removed_wires,
                   nodes=[sub_node, *new_outer], connections=outer_wires)


def unfold(doc: WorkflowDocument, graph: GraphKey, node_id: str,
           users: Iterable[tuple[GraphKey, str]]) -> Unfolding:
    """The rewrite that puts the body of sub-workflow node `node_id` in its place;
    `users` are the nodes that run that body (the subgraph goes when only this one does)."""
    spec = doc.node(graph, node_id)
    name = spec.config.get("subgraph")
    if spec.type != SUBWORKFLOW_TYPE or spec.config.get("path") or not isinstance(name, str) \
            or name not in doc.workflow.subgraphs:
        raise FoldError(f"{node_id} does not run a subgraph of this workflow")
    body = doc.workflow.subgraphs[name]
    conns = doc.connections(graph)
    if any(c.source == (node_id, "error") for c in conns):
        raise FoldError(f"{node_id}'s error port is wired: a failure inside would have "
                        "nowhere to go once ungrouped; unwire it first")
    feeds: dict[str, str] = {}  # body input name -> outer source endpoint
    for c in conns:
        if c.target[0] == node_id:
            feeds[c.target[1]] = c.from_
    outer = doc.graph(graph)
    outer_inputs = {n.id: n.config.get("name") for n in outer.nodes
                    if n.type == BODY_INPUT_TYPE}
    for x in input_references((n for n in body.nodes if n.type != BODY_INPUT_TYPE),
                              body.inputs):
        source = feeds.get(x, "")
        if outer_inputs.get(source.split(".", 1)[0]) != x:
            raise FoldError(f"a template in subgraph {name!r} reads inputs.{x}; once "
                            f"ungrouped it would read this graph's input {x!r}, which "
                            f"{node_id}.{x} is not wired from")

    taken = {n.id for n in outer.nodes if n.id != node_id}
    inner = [n for n in body.nodes if n.type not in (BODY_INPUT_TYPE, BODY_OUTPUT_TYPE)]
    ids = {n.id: _unique(n.id, taken) for n in inner}
    spots = [n.position for n in body.nodes] or [(0.0, 0.0)]
    cx = (min(p[0] for p in spots) + max(p[0] for p in spots)) / 2
    cy = (min(p[1] for p in spots) + max(p[1] for p in spots)) / 2
    dx, dy = spec.position[0] - cx, spec.position[1] - cy
    nodes = [n.model_copy(update={"id": ids[n.id],
                                  "position": (n.position[0] + dx, n.position[1] + dy),
                                  "disabled": n.disabled or spec.disabled})
             for n in inner]
    entries = {n.id: n for n in body.nodes if n.type == BODY_INPUT_TYPE}
    exits = {n.id: n.config.get("name") for n in body.nodes if n.type == BODY_OUTPUT_TYPE}

    def source_of(endpoint: str) -> str:
        node, port = endpoint.split(".", 1)
        if node not in entries:
            return f"{ids[node]}.{port}"
        x = entries[node].config.get("name")
        if isinstance(x, str) and x in feeds:
            return feeds[x]
        # Not wired: the body sees the input's default, which no wire outside can carry.
        raise FoldError(f"{node_id}.{x} is not wired, so its subgraph uses the input's "
                        "default; wire it (a Constant holding that value) first")

    results: dict[str, list[str]] = {}  # output name -> body source endpoints
    wires: list[Connection] = []
    for c in body.connections:
        dst = c.target[0]
        if dst in exits:
            name_y = exits[dst]
            if isinstance(name_y, str):
                results.setdefault(name_y, []).append(source_of(c.from_))
        elif dst in ids:
            wires.append(_wire(source_of(c.from_), f"{ids[dst]}.{c.target[1]}"))
    affected = {c.to for c in conns if c.source[0] == node_id}
    removed = [(c.from_, c.to) for c in conns
               if c.to in affected or c.target[0] == node_id]
    for c in conns:
        if c.to not in affected:
            continue
        if c.source[0] != node_id:
            wires.append(c)
            continue
        for source in results.get(c.source[1], [])[:1]:
            wires.append(_wire(source, c.to))
    others = [u for u in users if u != (graph, node_id)]
    return Unfolding(name=name, node_id=node_id, removed_wires=removed, nodes=nodes,
                     connections=wires, drop_subgraph=not others)
