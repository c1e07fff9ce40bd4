"""Stale nodes and their reasons in words, against a real store file: each kind of edit
after a recorded run, and the rule that the stale nodes are the ones a partial run
would execute."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from engine import Node, NodeConfig, NodeContext, Port, Registry
from engine.core.output_cache import CachePolicy, RunCache
from engine.core.partial import partial_run
from engine.core.plan import compile_workflow
from engine.core.runner import Runner
from engine.core.staleness import stale_nodes
from engine.store.output_cache import StoredOutputs
from engine.store.recording import start_recorded
from engine.store.writer import StoreWriter
from engine.workflow.model import Workflow
from tests.engine.toy import TOY_TYPES, workflow

RAN: list[str] = []


def counting(version: int) -> type[Node]:
    class Count(Node):
        type = "toy.count"
        inputs = (Port("value", "any", required=False),)
        outputs = (Port("value", "any"),)

        class Config(NodeConfig):
            add: int = 1
            note: str = ""

        async def run(self, ctx: NodeContext, value: Any = None) -> dict[str, Any]:
            RAN.append(ctx.node_id)
            return {"value": (value or 0) + self.config.add}

    Count.version = version
    return Count


def registry(version: int = 1) -> Registry:
    return Registry([*TOY_TYPES, counting(version)], origin="tests")


def base() -> Workflow:
    """fetch -> parse -> render, and other alone."""
    return workflow([
        {"id": "fetch", "type": "toy.count", "config": {"add": 1}},
        {"id": "parse", "type": "toy.count", "config": {"add": 2}},
        {"id": "render", "type": "toy.count", "config": {"add": 3}},
        {"id": "other", "type": "toy.count", "config": {"add": 4}},
    ], [("fetch.value", "parse.value"), ("parse.value", "render.value")], name="w")


def run(store: Path, wf: Workflow, reg: Registry, inputs: dict | None = None, *,
        policy: CachePolicy | None = None) -> list[str]:
    RAN.clear()

    async def go() -> None:
        writer = StoreWriter(store)
        cache = RunCache(writer.output_cache, policy or CachePolicy(), wf.name)
        r = start_recorded(Runner(reg), writer, wf, inputs, path=None, base_dir=store.parent,
                           cache=cache)
        result = await r.wait()
        await writer.close()
        assert result.status == "completed", result.error

    asyncio.run(go())
    return list(RAN)


def stale(store: Path, wf: Workflow, reg: Registry, inputs: dict | None = None,
          ) -> dict[str, tuple[str, ...]]:
    outputs = StoredOutputs(store)
    try:
        return stale_nodes(compile_workflow(wf, reg), outputs, wf.name, inputs or {})
    finally:
        outputs.close()


def edit(wf: Workflow, node: str, **config: Any) -> Workflow:
    nodes = [n.model_copy(update={"config": {**n.config, **config}}) if n.id == node else n
             for n in wf.nodes]
    return wf.model_copy(update={"nodes": nodes})


def test_nothing_is_stale_after_a_run_and_everything_before(tmp_path: Path):
    store, reg, wf = tmp_path / "runs.db", registry(), base()
    assert stale(store, wf, reg) == {n: ("not run yet",) for n in
                                     ("fetch", "parse", "render", "other")}
    run(store, wf, reg)
    assert stale(store, wf, reg) == {}


def test_config_edit_names_the_field_and_the_upstream(tmp_path: Path):
    store, reg, wf = tmp_path / "runs.db", registry(), base()
    run(store, wf, reg)
    changed = edit(wf, "parse", add=20)
    assert stale(store, changed, reg) == {"parse": ("add changed",),
                                          "render": ("upstream 'parse' changed",)}
    two = edit(changed, "parse", note="x")
    assert stale(store, two, reg)["parse"] == ("add and note changed",)
    # the stale nodes are the ones a partial run executes
    part = partial_run(changed, "from", "parse")
    ran = run(store, part.workflow, reg, policy=part.policy(reuse=True))
    assert sorted(ran) == ["parse", "render"]
    assert stale(store, changed, reg) == {}
    # and going back finds the outputs of before: nothing to run
    assert stale(store, wf, reg) == {}


def test_type_version_bump(tmp_path: Path):
    store, wf = tmp_path / "runs.db", base()
    run(store, wf, registry(1))
    found = stale(store, wf, registry(2))
    assert found["fetch"] == ("toy.count updated to v2",)
    assert found["render"] == ("toy.count updated to v2", "upstream 'parse' changed")


def test_rewiring_and_run_inputs(tmp_path: Path):
    store, reg = tmp_path / "runs.db", registry()
    wf = workflow([
        {"id": "in", "type": "flow.input", "config": {"name": "n"}},
        {"id": "a", "type": "toy.count", "config": {"add": 1}},
        {"id": "b", "type": "toy.count", "config": {"add": 2}},
        {"id": "c", "type": "toy.count", "config": {"add": 3}},
    ], [("a.value", "c.value")], name="w", inputs={"n": {"type": "integer"}})
    reg.register(__import__("nodes.flow", fromlist=["Input"]).Input)
    run(store, wf, reg, {"n": 1})
    assert stale(store, wf, reg, {"n": 1}) == {}
    assert stale(store, wf, reg, {"n": 2}) == {"in": ("the run's inputs changed",)}
    rewired = wf.model_copy(update={"connections": [
        c.model_copy(update={"from_": "b.value"}) for c in wf.connections]})
    assert stale(store, rewired, reg, {"n": 1}) == {
        "c": ("input 'value' now wired from 'b'.value",
              "input 'value' no longer wired from 'a'.value")}


def test_a_body_edit_makes_its_loop_stale_and_says_so(tmp_path: Path):
    from engine.workflow.file import from_data

    store, reg = tmp_path / "runs.db", Registry.discover(plugins=False)
    data = {"format": "flowui-workflow", "version": 1, "name": "loop",
            "nodes": [{"id": "items", "type": "flow.constant", "config": {"value": [1, 2, 3]}},
                      {"id": "each", "type": "control.for_each", "config": {"body": "sq"}},
                      {"id": "after", "type": "transform.select", "config": {"query": "@"}}],
            "connections": [{"from": "items.value", "to": "each.items"},
                            {"from": "each.results", "to": "after.value"}],
            "subgraphs": {"sq": {"inputs": {"item": {"type": "any"}, "index": {"type": "any"}},
                                 "nodes": [{"id": "item", "type": "flow.input",
                                            "config": {"name": "item"}},
                                           {"id": "pick", "type": "transform.select",
                                            "config": {"query": "@"}},
                                           {"id": "result", "type": "flow.output",
                                            "config": {"name": "result"}}],
                                 "connections": [{"from": "item.value", "to": "pick.value"},
                                                 {"from": "pick.result", "to": "result.value"}]}}}
    wf = from_data(data)
    run(store, wf, reg)
    assert stale(store, wf, reg) == {}
    plan = compile_workflow(wf, reg)
    from engine.core.cache_keys import KeyPlan
    from engine.secrets.redactor import Redactor
    assert KeyPlan(plan, Redactor(())).nodes[1].cacheable  # flow.output in a body is fine
    data["subgraphs"]["sq"]["nodes"][1]["config"]["query"] = "[@, @]"
    changed = from_data(data)
    found = stale(store, changed, reg)
    assert found == {"each": ("its subgraph 'sq' changed",),
                     "after": ("upstream 'each' changed",)}
