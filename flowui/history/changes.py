"""What changed in a workflow since a run of it (no Qt), node by node: a stored run
keeps the workflow as it ran, and the canvas shows the run over today's document.

A node is changed when its type, title, config, retry, timeout, error policy,
disabled flag or pins differ, or a wire into it was added or removed; moving it is
not a change. Nodes of subgraphs count in their graph.
"""

from __future__ import annotations

from engine.workflow.model import Graph, Workflow

GraphKey = str | None

# What a node's run depends on (its position and size do not).
_COMPARED = ("type", "title", "config", "retry", "timeout_s", "on_error", "disabled",
             "pinned")


def changed_since(ran: Workflow, now: Workflow) -> dict[tuple[GraphKey, str], str]:
    """(graph, node id) -> `added`, `removed` or `changed`, for every node that
    differs between the workflow as it ran and as it is now."""
    found: dict[tuple[GraphKey, str], str] = {}
    graphs: dict[GraphKey, tuple[Graph | None, Graph | None]] = {None: (ran, now)}
    for name in set(ran.subgraphs) | set(now.subgraphs):
        graphs[name] = (ran.subgraphs.get(name), now.subgraphs.get(name))
    for key, (before, after) in graphs.items():
        old = {n.id: n for n in before.nodes} if before is not None else {}
        new = {n.id: n for n in after.nodes} if after is not None else {}
        wires_before = _wires_in(before)
        wires_after = _wires_in(after)
        for node_id in old.keys() - new.keys():
            found[(key, node_id)] = "removed"
        for node_id, spec in new.items():
            was = old.get(node_id)
            if was is None:
                found[(key, node_id)] = "added"
            elif any(getattr(was, f) != getattr(spec, f) for f in _COMPARED) or \
                    wires_before.get(node_id) != wires_after.get(node_id):
                found[(key, node_id)] = "changed"
    return found


def _wires_in(graph: Graph | None) -> dict[str, set[tuple[str, str]]]:
    into: dict[str, set[tuple[str, str]]] = {}
    for c in graph.connections if graph is not None else ():
        into.setdefault(c.to.split(".", 1)[0], set()).add((c.from_, c.to))
    return into
