"""Live validation (the editor's) agrees with a full validation after any sequence of
edits, and re-checks only what an edit touched."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import Registry, validate
from engine.core.live_validation import LiveValidation
from engine.workflow.model import Connection, InputSpec, NodeSpec, Subgraph, Workflow
from tests.engine.toy import TOY_TYPES

REGISTRY = Registry.discover(plugins=False)
for cls in TOY_TYPES:
    REGISTRY.register(cls, origin="tests")

TYPES = ["toy.source", "toy.add", "toy.text", "toy.gather", "toy.sleep", "toy.nope",
         "flow.input", "flow.output", "control.for_each", "flow.subworkflow",
         "http.webhook", "control.if"]
CONFIGS: list[dict[str, Any]] = [
    {}, {"value": 1}, {"b": "two"}, {"seconds": -1}, {"text": 5}, {"name": "x"},
    {"name": "result"}, {"body": "sub"}, {"body": "missing"}, {"subgraph": "sub"},
    {"path": "/a"}, {"condition": "value >"}, {"condition": "value > 1"},
    {"value": "{{ broken( }}"}, {"extra": True}]
PORTS = ["value", "a", "b", "sum", "text", "length", "items", "error", "nope", "true",
         "results", "body"]


def key(problems: list[Any]) -> list[tuple[Any, ...]]:
    return sorted((p.code, p.node_id, p.field, p.message, p.graph) for p in problems)


class Editing:
    """Edits a workflow as the editor's document does, telling LiveValidation."""

    def __init__(self) -> None:
        self.wf = Workflow(subgraphs={"sub": Subgraph()})
        self.live = LiveValidation(self.wf, REGISTRY, base_dir=Path.cwd())
        self.counter = 0

    def graph(self, key: str | None) -> Any:
        return self.wf if key is None else self.wf.subgraphs.get(key)

    def apply(self, op: tuple[Any, ...]) -> None:
        kind, where, *args = op
        graph = self.graph(where)
        if graph is None:
            return
        nodes = graph.nodes
        if kind == "add":
            self.counter += 1
            node_id = f"n{self.counter}"
            nodes.append(NodeSpec(id=node_id, type=args[0], config=args[1]))
            self.live.node_changed(where, node_id)
        elif kind == "config" and nodes:
            i = args[0] % len(nodes)
            nodes[i] = nodes[i].model_copy(update={"config": args[1]})
            self.live.node_changed(where, nodes[i].id)
        elif kind == "remove" and nodes:
            spec = nodes[args[0] % len(nodes)]
            before = len(graph.connections)
            graph.connections = [c for c in graph.connections
                                 if spec.id not in (c.source[0], c.target[0])]
            if len(graph.connections) != before:
                self.live.wires_changed(where)
            nodes.remove(spec)
            self.live.node_removed(where, spec.id)
        elif kind == "rename" and nodes:
            i = args[0] % len(nodes)
            old = nodes[i].id
            self.counter += 1
            new = f"r{self.counter}"
            nodes[i] = nodes[i].model_copy(update={"id": new})

            def moved(endpoint: str) -> str:
                n, port = endpoint.split(".", 1)
                return f"{new}.{port}" if n == old else endpoint

            graph.connections = [Connection.model_validate({"from": moved(c.from_),
                                                            "to": moved(c.to)})
                                 for c in graph.connections]
            self.live.node_renamed(where, old, new)
            self.live.wires_changed(where)
        elif kind == "connect" and nodes:
            a, b = nodes[args[0] % len(nodes)].id, nodes[args[1] % len(nodes)].id
            graph.connections.append(Connection.model_validate(
                {"from": f"{a}.{args[2]}", "to": f"{b}.{args[3]}"}))
            self.live.wires_changed(where)
        elif kind == "disconnect" and graph.connections:
            del graph.connections[args[0] % len(graph.connections)]
            self.live.wires_changed(where)
        elif kind == "inputs":
            graph.inputs = {name: InputSpec(type="any") for name in args[0]}
            self.live.graph_changed(where)
        elif kind == "toggle_subgraph":
            if "sub" in self.wf.subgraphs:
                del self.wf.subgraphs["sub"]
            else:
                self.wf.subgraphs["sub"] = Subgraph()
            self.live.subgraphs_changed()


index = st.integers(0, 50)
where = st.sampled_from([None, "sub"])
OPS = st.one_of(
    st.tuples(st.just("add"), where, st.sampled_from(TYPES), st.sampled_from(CONFIGS)),
    st.tuples(st.just("config"), where, index, st.sampled_from(CONFIGS)),
    st.tuples(st.just("remove"), where, index),
    st.tuples(st.just("rename"), where, index),
    st.tuples(st.just("connect"), where, index, index, st.sampled_from(PORTS),
              st.sampled_from(PORTS)),
    st.tuples(st.just("disconnect"), where, index),
    st.tuples(st.just("inputs"), where, st.sampled_from([(), ("x",), ("x", "item")])),
    st.tuples(st.just("toggle_subgraph"), st.just(None)),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(OPS, min_size=1, max_size=40))
def test_live_problems_equal_a_full_validation_after_every_edit(ops):
    editing = Editing()
    for op in ops:
        editing.apply(op)
        assert key(editing.live.problems()) == key(validate(editing.wf, REGISTRY))


def big_workflow(n: int) -> Workflow:
    nodes = [NodeSpec(id=f"n{i}", type="toy.add" if i else "toy.source",
                      config={"value": 1} if not i else {}) for i in range(n)]
    wires = [Connection.model_validate({"from": f"n{i - 1}.{'value' if i == 1 else 'sum'}",
                                        "to": f"n{i}.a"}) for i in range(1, n)]
    return Workflow(nodes=nodes, connections=wires)


def test_a_config_edit_in_a_big_graph_rechecks_one_node_quickly():
    wf = big_workflow(5000)
    live = LiveValidation(wf, REGISTRY, base_dir=Path.cwd())
    assert live.problems() == []
    checked: list[str] = []
    fill = live.checker.fill

    def counting(result: Any, graph: Any) -> None:
        checked.append(result.spec.id)
        fill(result, graph)

    live.checker.fill = counting  # type: ignore[method-assign]
    timings = []
    for value in ("x", 2, "y", 3):
        wf.nodes[2500] = wf.nodes[2500].model_copy(update={"config": {"b": value}})
        t0 = time.perf_counter()
        live.node_changed(None, "n2500")
        problems = live.problems()
        timings.append(time.perf_counter() - t0)
        assert [p.node_id for p in problems] == (["n2500"] if isinstance(value, str) else [])
    assert checked == ["n2500"] * 4
    assert min(timings) < 0.005  # the target; a full pass takes ~100x longer
