"""Which nodes are out of date, and why, in words.

A node is *stale* when the output cache has no output for its current key (engine.core.
cache_keys): its config, its type's version, its wiring, the run's inputs or something
upstream changed since its output was kept. Those are exactly the nodes a partial run
would execute. The reasons compare the node's current key recipe with the recipe it
had when it last ran or was reused (`cache_nodes`): "url changed", "upstream 'fetch'
changed", "http.request updated to v2".

Fresh nodes give their stored output's identity to the keys after them, as a run
would; a stale node makes everything after it stale ("upstream 'x' changed").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.core.output_cache import CachePolicy, OutputStore, RunCache, recipe, topological
from engine.core.plan import Plan
from engine.secrets.redactor import Redactor


def stale_nodes(plan: Plan, store: OutputStore, workflow: str, inputs: Mapping[str, Any],
                redactor: Redactor | None = None) -> dict[str, tuple[str, ...]]:
    """Every top-level node of `plan` that is stale, with its reasons (pinned and
    disabled nodes never are)."""
    cache = RunCache(store, CachePolicy(), workflow)
    redactor = redactor or Redactor(())
    cache.bind(plan, inputs, redactor)
    assert cache.keys is not None
    stale: dict[str, tuple[str, ...]] = {}
    for i in topological(plan):
        node = plan.nodes[i]
        keys = cache.keys.nodes[i]
        if node.pinned is not None:
            cache.pinned(i, node.pinned)
            continue
        if node.disabled:
            cache.skipped(i, "disabled")
            continue
        upstream = [src for s, _w, _p, src, _sp in keys.senders if src in stale]
        previous = store.recipe(workflow, keys.id)
        if upstream:
            cache.failed(i)  # an identity nothing matches: what follows is stale too
            if previous is None:
                stale[keys.id] = ("not run yet",)
                continue
            own = _differences(previous[1], recipe(cache, i), skip_inputs=True)
            stale[keys.id] = (*own, *(f"upstream {src!r} changed"
                                      for src in dict.fromkeys(upstream)))
            continue
        key = cache.key_of(i)
        entry = store.get(key)
        if entry is not None:
            cache.ident[i] = entry.ident
            continue
        cache.failed(i)
        if previous is None:
            stale[keys.id] = ("not run yet",)
        elif previous[0] == key:
            stale[keys.id] = ("its last output was not kept (the cache's size limit, or it "
                              "held a secret's value)",)
        else:
            stale[keys.id] = tuple(_differences(previous[1], recipe(cache, i))) or (
                "its definition changed",)
    return stale


def _differences(before: Mapping[str, Any], now: Mapping[str, Any], *,
                 skip_inputs: bool = False) -> list[str]:
    reasons: list[str] = []
    if before.get("type") != now.get("type"):
        return [f"type changed from {before.get('type')} to {now.get('type')}"]
    if before.get("version") != now.get("version"):
        verb = "updated" if (now.get("version") or 0) > (before.get("version") or 0) \
            else "changed"
        reasons.append(f"{now.get('type')} {verb} to v{now.get('version')}")
    old_config, new_config = before.get("config") or {}, now.get("config") or {}
    fields = sorted(k for k in {*old_config, *new_config}
                    if old_config.get(k, _ABSENT) != new_config.get(k, _ABSENT))
    if fields:
        reasons.append(_changed(fields))
    if before.get("body") != now.get("body"):
        reasons.append(f"its subgraph {str(now.get('body') or '').split(':')[0]!r} changed")
    if before.get("run_inputs") != now.get("run_inputs"):
        reasons.append("the run's inputs changed")
    if skip_inputs:
        return reasons
    old_wires = {tuple(w[:3]): w[3] for w in before.get("inputs") or []}
    new_wires = {tuple(w[:3]): w[3] for w in now.get("inputs") or []}
    for port, src, src_port in new_wires.keys() - old_wires.keys():
        reasons.append(f"input {port!r} now wired from {src!r}.{src_port}")
    for port, src, src_port in old_wires.keys() - new_wires.keys():
        reasons.append(f"input {port!r} no longer wired from {src!r}.{src_port}")
    changed = [w for w in new_wires.keys() & old_wires.keys() if new_wires[w] != old_wires[w]]
    for src in dict.fromkeys(w[1] for w in sorted(changed)):
        reasons.append(f"upstream {src!r} changed")
    return reasons


_ABSENT = object()


def _changed(fields: list[str]) -> str:
    if len(fields) == 1:
        return f"{fields[0]} changed"
    if len(fields) <= 3:
        return f"{', '.join(fields[:-1])} and {fields[-1]} changed"
    return f"{len(fields)} config fields changed ({', '.join(fields[:3])}, …)"
