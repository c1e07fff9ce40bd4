"""Cache keys: what identifies a node's output, so that an unchanged node need not run.

A node's key is a hash of what determines its output (DESIGN.md, `cache`):

- its type id and the type's version (a version bump invalidates every entry);
- its config, canonical (keys sorted) and with secret values masked: a key never
  encodes a secret's value, only the templates naming it;
- for a node that runs a subgraph of its workflow (for_each, loop, subworkflow), the
  whole body: its nodes, their configs and versions, its wires;
- for a node that reads the run's inputs (flow.input, or templates anywhere in its
  config, which may name `inputs`), the run's input values;
- for each wire into it, in the plan's slot order, the receiving port, the sending
  port and the *identity* of the sender's output.

A sender's identity is its own key when its type is cacheable (the same key means the
same output); for a node that is not cacheable (a POST, a file read, the time) it is a
hash of the output it actually produced, so what follows it is reused exactly when it
produced the same thing again. A pinned node's identity is a hash of its pinned value;
a skipped node's is its reason.

The parts that depend only on the plan (the static digest of each node, its senders)
are computed once per plan and kept with it; a run then costs one small hash per node.
This module knows no storage: engine.core.output_cache uses it, a store keeps entries.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from hashlib import blake2b
from typing import TYPE_CHECKING, Any

import orjson

from engine.secrets.redactor import Redactor

if TYPE_CHECKING:
    from engine.core.plan import Plan, PlannedNode

KEY_BYTES = 16  # 128 bits: collisions are out of reach for any cache this size
_SORTED = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
# A template naming `run` (its id, its start time) differs on every run.
_RUN_NAME = re.compile(r"\brun\s*[.\[]")
_KEY_PLANS = "cache_keys"  # Plan.derived slot


def digest(*parts: bytes) -> bytes:
    return blake2b(b"".join(parts), digest_size=KEY_BYTES).digest()


def canonical(value: Any) -> bytes | None:
    """`value` as canonical JSON bytes (keys sorted), or None when it is not JSON."""
    try:
        return orjson.dumps(value, option=_SORTED)
    except (TypeError, orjson.JSONEncodeError):
        return None


class NodeKeys:
    """What one node's key is made of that does not change between runs."""

    __slots__ = ("body", "cacheable", "config", "hasher", "id", "reads_inputs", "senders",
                 "sources", "static", "type", "version")

    def __init__(self, node: PlannedNode, config: Mapping[str, Any], static: bytes,
                 cacheable: bool, reads_inputs: bool,
                 senders: tuple[tuple[int, bytes, str, str, str], ...],
                 body: str | None = None) -> None:
        self.id = node.id
        self.body = body  # the subgraph it runs and that subgraph's digest, "name:hex"
        self.type = node.cls.type
        self.version = node.cls.version
        self.config = config  # canonical, secrets masked: what stale reasons compare
        # type, version, config, body, pin and the wires' ports in one digest: a root's
        # key; the others' keys add their senders' output identities to it
        self.static = static
        self.cacheable = cacheable
        self.reads_inputs = reads_inputs
        # per wire, in slot order: (sender index, "port<from_port" bytes, port,
        # sender id, sender port)
        self.senders = senders
        self.sources = tuple(s[0] for s in senders)
        # A hash already fed the static part: a run copies it (a third of the cost of
        # hashing it again, which is most of a key's cost).
        self.hasher = blake2b(static, digest_size=KEY_BYTES)


class KeyPlan:
    """Every top-level node's static key parts, by plan index."""

    __slots__ = ("nodes",)

    def __init__(self, plan: Plan, redactor: Redactor) -> None:
        index = {n.id: n.index for n in plan.nodes}
        self.nodes = tuple(_node_keys(plan, n, index, redactor) for n in plan.nodes)


def key_plan(plan: Plan, redactor: Redactor) -> KeyPlan:
    """The plan's key plan, computed once per plan and set of secrets."""
    known: dict[tuple[str, ...], KeyPlan] = plan.derived.setdefault(_KEY_PLANS, {})
    secrets = tuple(redactor.values)
    found = known.get(secrets)
    if found is None:
        if len(known) > 8:  # secrets rotate rarely; never let this grow
            known.clear()
        found = known[secrets] = KeyPlan(plan, redactor)
    return found


def _node_keys(plan: Plan, node: PlannedNode, index: Mapping[str, int],
               redactor: Redactor) -> NodeKeys:
    cls, spec = node.cls, node.spec
    config = redactor.scrub(spec.config) if redactor else spec.config
    text = canonical(config) or repr(sorted(config.items())).encode()
    templated = bool(node.template_fields) or any(
        isinstance(v, str) and "{" in v for v in node.port_values.values())
    cacheable = cls.cacheable_with(spec.config) and not (templated and _RUN_NAME.search(
        text.decode("utf-8", "replace")))
    parts = [cls.type.encode(), b"\0", str(cls.version).encode(), b"\0", text]
    body_id = None
    if cls.body is not None:
        name = cls.body_name(spec.config)
        body = plan.bodies.get(name) if name is not None else None
        if body is None:
            cacheable = False  # runs another file (or nothing known): cannot tell
        else:
            body_text, body_cacheable = body_digest(body, redactor, set())
            parts += [b"\0body\0", body_text]
            body_id = f"{name}:{body_text.hex()}"
            cacheable = cacheable and body_cacheable
    if node.pinned is not None:
        parts += [b"\0pinned\0", canonical(dict(node.pinned)) or b"?"]
    senders = []
    for edge in node.in_edges:
        src_id, src_port = edge.source.split(".", 1)
        wire = f"\0{edge.port}<{src_port}".encode()
        parts.append(wire)
        senders.append((index[src_id], wire, edge.port, src_id, src_port))
    return NodeKeys(node, config, digest(*parts), cacheable,
                    cls.reads_run_inputs or templated, tuple(senders), body_id)


def body_digest(plan: Plan, redactor: Redactor, seen: set[str]) -> tuple[bytes, bool]:
    """A subgraph's digest (its nodes' static parts and its wires, nested bodies
    included) and whether every node in it is cacheable."""
    key = plan.derived.get("body_digest")
    if key is not None and not redactor:
        return key  # type: ignore[no-any-return]
    if plan.name in seen:  # a body that runs itself: validation refuses it, but be safe
        return b"cycle", False
    seen = seen | {plan.name}
    index = {n.id: n.index for n in plan.nodes}
    parts: list[bytes] = []
    cacheable = True
    for node in plan.nodes:
        keys = _node_keys(plan, node, index, redactor)
        # (a body's flow.output hands its value to the node running the body, whose
        # outputs are what is cached: it does not make the body uncacheable)
        cacheable = cacheable and (keys.cacheable or node.cls.collects_result)
        parts.append(keys.static)
        parts += [f"{s[3]}.{s[4]}>{node.id}.{s[2]}".encode() for s in keys.senders]
    found = (digest(*parts), cacheable)
    if not redactor:
        plan.derived["body_digest"] = found
    return found
