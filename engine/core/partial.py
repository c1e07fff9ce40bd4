"""Partial runs: only a node, up to a node, or from a node (FORMAT.md, "Caching").

A partial run is a run of part of the workflow: the nodes it is about and the
upstream they need, nothing else. `partial_run` cuts the workflow down to those
nodes (the same ids, wires and configs, so every cache key is the same as in a
whole run) and says which of them always run (`forced`) and which are taken from
the output cache whatever their type (`prefer`: the upstream of `--only` and
`--from`, so the request you are not fixing is not sent again).

- only N: N runs; its ancestors come from the cache (the missing ones run first).
- until N: N and its ancestors, as a whole run of that part would (with `--cache`,
  reusing what it may).
- from N: N and its descendants run; their other ancestors come from the cache.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from engine.core.output_cache import CachePolicy
from engine.errors import FlowError
from engine.workflow.model import Workflow

Mode = Literal["only", "until", "from"]


class PartialRunError(FlowError):
    """A partial run that cannot be: a node id the workflow does not have."""


@dataclass(frozen=True)
class PartialRun:
    workflow: Workflow  # cut down to the nodes this run needs
    forced: frozenset[str]
    prefer: frozenset[str]

    def policy(self, *, reuse: bool, cached_only: bool = False) -> CachePolicy:
        return CachePolicy(reuse=reuse, prefer=self.prefer, forced=self.forced,
                           cached_only=cached_only)


def partial_run(workflow: Workflow, mode: Mode, node: str) -> PartialRun:
    """The part of `workflow` that running `mode` `node` needs. Raises PartialRunError."""
    ids = [n.id for n in workflow.nodes]
    if node not in ids:
        known = ", ".join(sorted(ids)[:12]) + (" …" if len(ids) > 12 else "")
        raise PartialRunError(f"--{mode} {node!r}: the workflow {workflow.name!r} has no "
                              f"top-level node with that id (its nodes: {known or 'none'}); "
                              "give the id shown on the node (nodes inside a subgraph run "
                              "with the node that runs their subgraph)")
    into: dict[str, set[str]] = {}
    out_of: dict[str, set[str]] = {}
    for c in workflow.connections:
        src, dst = c.source[0], c.target[0]
        into.setdefault(dst, set()).add(src)
        out_of.setdefault(src, set()).add(dst)
    if mode == "only":
        forced = {node}
        prefer = _closure([node], into) - forced
    elif mode == "until":
        return PartialRun(_cut(workflow, _closure([node], into) | {node}), frozenset(),
                          frozenset())
    else:
        forced = _closure([node], out_of) | {node}
        prefer = _closure(forced, into) - forced
    return PartialRun(_cut(workflow, forced | prefer), frozenset(forced), frozenset(prefer))


def without_pins(workflow: Workflow) -> Workflow:
    """`workflow` with every pinned output ignored (`--ignore-pins`)."""
    if not any(n.pinned is not None for n in workflow.nodes):
        return workflow
    nodes = [n.model_copy(update={"pinned": None}) if n.pinned is not None else n
             for n in workflow.nodes]
    return workflow.model_copy(update={"nodes": nodes})


def _closure(start: Iterable[str], edges: Mapping[str, set[str]]) -> set[str]:
    """Every node reachable from `start` along `edges` (not `start` itself unless a
    path leads back to it)."""
    seen: set[str] = set()
    stack = list(start)
    while stack:
        for nxt in edges.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def _cut(workflow: Workflow, keep: set[str]) -> Workflow:
    nodes = [n for n in workflow.nodes if n.id in keep]
    wires = [c for c in workflow.connections if c.source[0] in keep and c.target[0] in keep]
    return workflow.model_copy(update={"nodes": nodes, "connections": wires})
