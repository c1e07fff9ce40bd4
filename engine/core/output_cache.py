"""The output cache as one run uses it: which nodes may be served from stored outputs,
looking them up, and recording what ran.

A run gets a `RunCache` when it has somewhere to keep outputs (the run store, through
the `OutputStore` protocol). Every top-level node that completes is recorded under
its key (engine.core.cache_keys), with its output's identity and the recipe of its
key, which is what stale reasons compare. Which recorded outputs a run *uses*:

- `reuse` (`flowcli run --cache`, the editor's default): a cacheable node whose key
  has an entry is not run; it reports `node_completed` with `cached: true`.
- `prefer`: the nodes a partial run takes from the cache whatever their type (the
  upstream of `--only`/`--from`: the POST you are not fixing is not sent again).
  Missing ones run, unless the run asked for `cached_only` (checked before any node
  runs: `missing_upstream`).
- `forced`: the nodes a partial run is about; they always run.

Nodes inside bodies (loop iterations, sub-workflows) are not cached one by one; the
node running the body is, as a whole, when its body is cacheable.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from engine.core.cache_keys import KeyPlan, NodeKeys, canonical, digest, key_plan
from engine.secrets.redactor import Redactor

if TYPE_CHECKING:
    from engine.core.plan import Plan

MAX_ENTRY_BYTES = 16_000_000  # an output larger than this as JSON is not cached
_SKIPPED = b"skipped:"


class CacheEntry(NamedTuple):
    """One stored output: `outputs` by port as JSON text, and its identity for the
    keys of what follows it."""

    key: bytes
    ident: bytes
    outputs: str  # JSON object text
    cacheable: bool  # False: only partial runs may take it (a POST's answer)


class NodeRecord(NamedTuple):
    """What a run records for one node besides its entry: the recipe of its key (for
    the editor's stale reasons) under the workflow's name and the node's id."""

    workflow: str
    node: str
    key: bytes
    # made when the record is written (a store's flush), not on the run's hot path
    recipe: Callable[[], dict[str, Any]]


class OutputStore(Protocol):
    """Where entries are kept (engine.store.output_cache.StoredOutputs)."""

    def get(self, key: bytes) -> CacheEntry | None: ...

    def put(self, entry: CacheEntry | None, record: NodeRecord) -> None:
        """Keep `entry` (None: an output that may not be kept) and the node's record."""

    def touch(self, key: bytes, record: NodeRecord) -> None: ...

    def current(self, workflow: str, node: str, key: bytes) -> bytes | None:
        """The output identity kept for `node` when its last record has `key`, its
        entry is still there and it was used recently (no need to write again)."""

    def recipe(self, workflow: str, node: str) -> tuple[bytes, dict[str, Any]] | None: ...


@dataclass(frozen=True)
class CachePolicy:
    reuse: bool = False
    prefer: frozenset[str] = field(default_factory=frozenset)
    forced: frozenset[str] = field(default_factory=frozenset)
    cached_only: bool = False


def inputs_digest(inputs: Mapping[str, Any]) -> bytes:
    """The run's input values as one digest (secrets masked before: the caller's job)."""
    return digest(canonical(dict(inputs)) or repr(sorted(inputs.items())).encode())


class RunCache:
    """The cache seen from one run of one (top-level) plan."""

    def __init__(self, store: OutputStore, policy: CachePolicy, workflow: str,
                 inputs: Mapping[str, Any] | None = None, redactor: Redactor | None = None,
                 ) -> None:
        self.store = store
        self.policy = policy
        self.workflow = workflow
        self._inputs = dict(inputs or {})
        self.redactor = redactor or Redactor(())
        self._inputs_digest: bytes | None = None
        self.keys: KeyPlan | None = None
        self._nodes: tuple[NodeKeys, ...] = ()
        self.key: list[bytes | None] = []
        self.ident: list[bytes] = []

    def bind(self, plan: Plan, inputs: Mapping[str, Any], redactor: Redactor) -> None:
        """Start an execution of `plan` (each attempt of a run starts afresh)."""
        self.redactor = redactor
        self._inputs = dict(inputs)
        self._inputs_digest = None
        self.keys = key_plan(plan, redactor)
        self._nodes = self.keys.nodes
        n = len(plan.nodes)
        self.key = [None] * n
        self.ident = [b""] * n

    @property
    def inputs_key(self) -> bytes:
        if self._inputs_digest is None:
            shown = self.redactor.scrub(self._inputs) if self.redactor else self._inputs
            self._inputs_digest = inputs_digest(shown)
        return self._inputs_digest

    # --- while the execution runs --------------------------------------------------------

    def key_of(self, i: int) -> bytes:
        """Node `i`'s key; every sender of it has settled. (Called for every node of a
        recorded run: one join and one hash, nothing else.)"""
        keys = self._nodes[i]
        if keys.sources or keys.reads_inputs:
            h = keys.hasher.copy()
            if keys.reads_inputs:
                h.update(self.inputs_key)
            ident = self.ident
            for sender in keys.sources:
                h.update(ident[sender])
            key = h.digest()
        else:
            key = keys.static  # a root: its static part is its key
        self.key[i] = key
        return key

    def lookup(self, i: int) -> CacheEntry | None:
        """The stored output node `i` may use instead of running, or None (run it)."""
        assert self.keys is not None
        keys = self.keys.nodes[i]
        policy = self.policy
        if keys.id in policy.forced:
            self.key_of(i)
            return None
        if keys.id in policy.prefer or (policy.reuse and keys.cacheable):
            key = self.key_of(i)
            entry = self.store.get(key)
            if entry is not None:
                self.ident[i] = entry.ident
                if self.store.current(self.workflow, keys.id, key) is None:
                    self.store.touch(key, self._record(i, key))
                return entry
            return None
        self.key_of(i)
        return None

    def completed(self, i: int, outputs: dict[str, Any]) -> None:
        """Node `i` ran and produced `outputs`: record them under its key."""
        assert self.keys is not None
        keys = self.keys.nodes[i]
        key = self.key[i]
        if key is None:
            key = self.key_of(i)
        stored = self.store.current(self.workflow, keys.id, key)
        if keys.cacheable:
            self.ident[i] = key
            if stored is not None:
                return  # kept already, and recently used: nothing to write
        text = canonical(outputs)
        storable = text is not None and len(text) <= MAX_ENTRY_BYTES
        if storable and self.redactor:
            shown = self.redactor.data(text)  # type: ignore[arg-type]
            storable = shown == text  # an output holding a secret's value is never kept
        if keys.cacheable:
            pass
        elif storable:
            self.ident[i] = digest(b"out\0", text)  # type: ignore[arg-type]
            if stored == self.ident[i]:
                return  # it produced what is kept already
        else:
            self.ident[i] = os.urandom(16)  # nothing after it can be reused
        entry = CacheEntry(key, self.ident[i], text.decode(),  # type: ignore[union-attr]
                           keys.cacheable) if storable else None
        self.store.put(entry, self._record(i, key))

    def pinned(self, i: int, outputs: Mapping[str, Any]) -> None:
        self.ident[i] = digest(b"pin\0", canonical(dict(outputs)) or os.urandom(16))

    def skipped(self, i: int, reason: str) -> None:
        if self.ident:
            self.ident[i] = _SKIPPED + reason.encode()

    def failed(self, i: int) -> None:
        if self.ident:
            self.ident[i] = os.urandom(16)

    def _record(self, i: int, key: bytes) -> NodeRecord:
        keys = self._nodes[i]
        return NodeRecord(self.workflow, keys.id, key, partial(
            _recipe, keys, self.ident, self.inputs_key if keys.reads_inputs else None))


def recipe(cache: RunCache, i: int) -> dict[str, Any]:
    """What node `i`'s key was made of, as JSON: what stale reasons compare."""
    keys = cache._nodes[i]
    return _recipe(keys, cache.ident, cache.inputs_key if keys.reads_inputs else None)


def _recipe(keys: NodeKeys, ident: list[bytes], inputs_key: bytes | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": keys.type, "version": keys.version, "config": keys.config,
        "inputs": [[port, src, src_port, ident[s].hex()]
                   for s, _w, port, src, src_port in keys.senders]}
    if inputs_key is not None:
        data["run_inputs"] = inputs_key.hex()
    if keys.body is not None:
        data["body"] = keys.body
    return data


def missing_upstream(cache: RunCache, plan: Plan, inputs: Mapping[str, Any],
                     redactor: Redactor) -> list[str]:
    """The `prefer` nodes (a partial run's upstream) that have no stored output for
    their current key, in plan order; those after a missing one count as missing."""
    cache.bind(plan, inputs, redactor)
    missing: list[str] = []
    assert cache.keys is not None
    unknown: set[int] = set()
    for i in topological(plan):
        keys = cache.keys.nodes[i]
        if keys.id not in cache.policy.prefer:
            continue
        if any(s[0] in unknown for s in keys.senders):
            unknown.add(i)
            continue
        node = plan.nodes[i]
        if node.pinned is not None:
            cache.pinned(i, node.pinned)
            continue
        entry = cache.store.get(cache.key_of(i))
        if entry is None:
            unknown.add(i)
            missing.append(keys.id)
        else:
            cache.ident[i] = entry.ident
    return missing


def topological(plan: Plan) -> Iterable[int]:
    """Plan indices, each after its senders (Kahn's algorithm over the in-edges)."""
    remaining = [len(n.in_edges) for n in plan.nodes]
    out: dict[int, list[int]] = {}
    for n in plan.nodes:
        for _port, targets in n.deliveries:
            for dst, _slot in targets:
                out.setdefault(n.index, []).append(dst)
    ready = [n.index for n in plan.nodes if not n.in_edges]
    while ready:
        i = ready.pop()
        yield i
        for dst in out.get(i, ()):
            remaining[dst] -= 1
            if remaining[dst] == 0:
                ready.append(dst)
