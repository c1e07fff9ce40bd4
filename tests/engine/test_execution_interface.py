"""The seams between a run and what executes it: the execution factory, the public
outcome, the hook that hands over every node's full outputs, read-only plans shared
by many runs, and the one preflight."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from engine import Runner, WorkflowInvalidError
from engine.core.execution import NodeOutputs, Outcome
from engine.core.executor import GraphExecution
from engine.core.plan import compile_workflow
from engine.secrets.store import MappingSecrets
from tests.engine.toy import ATTEMPTS, toy_registry, workflow

LONG = "x" * 5000  # far over the events' preview limit


def looped() -> Any:
    return workflow(
        [{"id": "src", "type": "toy.source", "config": {"value": LONG}},
         {"id": "pin", "type": "toy.source", "pinned": {"value": [1, 2]}},
         {"id": "t", "type": "toy.text"},
         {"id": "sub", "type": "toy.source", "config": {"value": "{{ secrets.TOKEN }}!"}}],
        [("src.value", "t.text")])


def test_every_nodes_full_outputs_reach_the_hook_pinned_ones_marked_cached():
    got: list[NodeOutputs] = []
    runner = Runner(toy_registry(), secrets=MappingSecrets({"TOKEN": "hunter2"}))
    events: list[Any] = []
    result = asyncio.run(runner.run(looped(), on_outputs=got.append,
                                    subscribers=(events.append,)))
    assert result.status == "completed"
    by_node = {r.node_id: r for r in got}
    assert set(by_node) == {"src", "pin", "t", "sub"}
    assert by_node["src"].outputs == {"value": LONG}  # whole, where events cut it
    preview = next(e for e in events if e.name == "node_completed" and e.node_id == "src")
    assert len(preview.outputs["value"]) < len(LONG)
    assert by_node["t"].outputs == {"text": LONG, "length": 5000}
    assert by_node["pin"].cached and by_node["pin"].outputs == {"value": [1, 2]}
    assert not by_node["src"].cached and by_node["src"].node_type == "toy.source"
    assert by_node["sub"].outputs == {"value": "***!"}  # secrets masked here too
    assert {r.run_id for r in got} == {result.run_id}


def test_without_a_hook_nothing_is_handed_over():
    runner = Runner(toy_registry(), secrets=MappingSecrets({"TOKEN": "t"}))
    assert asyncio.run(runner.run(looped())).status == "completed"


def test_a_failing_run_hands_over_what_completed():
    got: list[NodeOutputs] = []
    wf = workflow([{"id": "a", "type": "toy.source", "config": {"value": 1}},
                   {"id": "boom", "type": "toy.crash"}], [("a.value", "boom.value")])
    result = asyncio.run(Runner(toy_registry()).run(wf, on_outputs=got.append))
    assert result.status == "failed" and [r.node_id for r in got] == ["a", "boom"]
    done, failed = got
    assert done.error is None and failed.outputs == {}
    assert failed.inputs == {"value": 1}  # what it ran with, as it arrived
    assert failed.error is not None and failed.error["type"] == result.error["type"]
    assert failed.error["message"] == result.error["message"]
    assert "Traceback (most recent call last)" in failed.error["traceback"]
    assert "toy.py" in failed.error["traceback"]  # names the node's own code


def test_the_hook_gets_each_nodes_inputs_with_secrets_masked_in_errors_too():
    got: list[NodeOutputs] = []
    wf = workflow([{"id": "s", "type": "toy.source", "config": {"value": "{{ secrets.TOKEN }}"}},
                   {"id": "t", "type": "toy.text"},
                   {"id": "boom", "type": "toy.crash"}],
                  [("s.value", "t.text"), ("t.text", "boom.value")])
    runner = Runner(toy_registry(), secrets=MappingSecrets({"TOKEN": "hunter2"}))
    asyncio.run(runner.run(wf, on_outputs=got.append))
    by_node = {r.node_id: r for r in got}
    assert by_node["t"].inputs == {"text": "***"}
    assert "hunter2" not in repr(got)  # inputs, outputs, error message and traceback


def test_the_runner_executes_through_its_factory_and_reads_the_outcome():
    made: list[GraphExecution] = []
    outcomes: list[Outcome] = []

    class Recording(GraphExecution):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

        def outcome(self) -> Outcome:
            found = super().outcome()
            outcomes.append(found)
            return found

    ATTEMPTS.clear()
    wf = workflow([{"id": "f", "type": "toy.flaky", "on_error": "retry_workflow",
                    "config": {"fail_times": 2}}], settings={"max_workflow_attempts": 3})
    result = asyncio.run(Runner(toy_registry(), execution=Recording).run(wf))
    assert result.status == "completed" and len(made) == 3  # one execution per attempt
    assert outcomes[0].failure is not None and outcomes[0].failure.policy == "retry_workflow"
    assert outcomes[-1].failure is None and outcomes[-1].outputs == {"f": {"value": None}}


def test_a_compiled_plan_is_read_only_and_serves_many_runs_at_once():
    wf = workflow([{"id": "a", "type": "toy.source", "config": {"value": 2}},
                   {"id": "s", "type": "toy.sleep", "config": {"seconds": 0.02}},
                   {"id": "b", "type": "toy.add"}],
                  [("a.value", "s.value"), ("s.value", "b.a")],
                  subgraphs={"body": {"nodes": [{"id": "x", "type": "toy.source"}]}})
    runner = Runner(toy_registry())
    prepared = runner.prepare(wf)
    plan = prepared.plan
    with pytest.raises(AttributeError, match="read-only"):
        plan.nodes[0].disabled = True  # type: ignore[misc]
    with pytest.raises(TypeError):
        plan.bodies["other"] = plan  # type: ignore[index]
    with pytest.raises(AttributeError):
        plan.nodes = ()  # type: ignore[misc]
    assert list(plan.bodies) == ["body"] and isinstance(plan.nodes, tuple)

    async def many() -> list[Any]:
        return await asyncio.gather(*(runner.run(prepared, base_dir=prepared.base_dir)
                                      for _ in range(20)))

    results = asyncio.run(many())
    assert {r.status for r in results} == {"completed"}
    assert all(r.outputs == {"b": {"sum": 2.0}} for r in results)
    assert len({r.run_id for r in results}) == 20


def test_sub_workflow_files_are_compiled_per_run_not_into_the_plan(tmp_path):
    from engine import Registry, save

    inner = workflow([{"id": "in", "type": "flow.input", "config": {"name": "x"}},
                      {"id": "out", "type": "flow.output", "config": {"name": "y"}}],
                     [("in.value", "out.value")], inputs={"x": {"type": "any"}})
    save(inner, tmp_path / "inner.flow.json")
    outer = workflow([{"id": "c", "type": "flow.constant", "config": {"value": 7}},
                      {"id": "call", "type": "flow.subworkflow",
                       "config": {"path": "inner.flow.json"}}], [("c.value", "call.x")])
    registry = Registry.discover(plugins=False)
    plan = compile_workflow(outer, registry, base_dir=tmp_path)
    before = dict(plan.bodies)
    runner = Runner(registry)
    prepared = runner.prepare(outer, base_dir=tmp_path)
    for _ in range(2):
        result = asyncio.run(runner.run(prepared))
        assert result.status == "completed" and result.outputs == {"call": {"y": 7}}
    assert dict(prepared.plan.bodies) == before == {}


def test_the_preflight_reports_plan_inputs_and_secrets_at_once():
    wf = workflow([{"id": "a", "type": "toy.nope"},
                   {"id": "b", "type": "toy.source", "config": {"value": "{{ secrets.KEY }}"}}],
                  inputs={"n": {"type": "number"}})
    runner = Runner(toy_registry(), secrets=MappingSecrets({}))
    with pytest.raises(WorkflowInvalidError) as e:
        runner.preflight(wf, {})
    assert [p.code for p in e.value.problems] == ["unknown_type", "missing_input",
                                                  "missing_secret"]
    fixed = workflow([{"id": "b", "type": "toy.source",
                       "config": {"value": "{{ secrets.KEY }}"}}],
                     inputs={"n": {"type": "number", "default": 1}})
    checked = Runner(toy_registry(), secrets=MappingSecrets({"KEY": "k"})).preflight(fixed)
    assert dict(checked.inputs) == {"n": 1} and dict(checked.secrets) == {"KEY": "k"}


def test_long_chains_settle_without_recursion():
    """A disabled head skips 5,000 nodes after it, one after another, and a chain of
    nodes that finish at once runs to the end: neither may grow the stack per node."""
    n = 5000
    nodes = [{"id": "n0", "type": "toy.source", "config": {"value": 1}}] + [
        {"id": f"n{i}", "type": "toy.add"} for i in range(1, n)]
    wires = [("n0.value", "n1.a")] + [(f"n{i}.sum", f"n{i + 1}.a") for i in range(1, n - 1)]
    events: list[Any] = []
    runner = Runner(toy_registry())
    done = asyncio.run(runner.run(workflow(nodes, wires), subscribers=(events.append,)))
    assert done.status == "completed" and done.outputs == {f"n{n - 1}": {"sum": 1.0}}
    nodes[0]["disabled"] = True
    events.clear()
    skipped = asyncio.run(runner.run(workflow(nodes, wires), subscribers=(events.append,)))
    assert skipped.status == "completed"
    reasons = [e.reason for e in events if e.name == "node_skipped"]
    assert len(reasons) == n and reasons[0] == "disabled"
    assert set(reasons[1:]) == {"upstream_skipped"}


def test_a_sub_workflow_file_is_compiled_once_while_unchanged(tmp_path):
    import os

    from engine import Registry, save
    from engine.core import run_context

    def inner(factor: int) -> Any:
        return workflow([{"id": "in", "type": "flow.input", "config": {"name": "x"}},
                         {"id": "k", "type": "flow.constant", "config": {"value": factor}},
                         {"id": "out", "type": "flow.output", "config": {"name": "y"}}],
                        [("k.value", "out.value")], inputs={"x": {"type": "any"}})

    path = tmp_path / "inner.flow.json"
    save(inner(1), path)
    outer = workflow([{"id": "call", "type": "flow.subworkflow",
                       "config": {"path": "inner.flow.json", "x": 0}}])
    compiled: list[Any] = []
    real = run_context.FilePlans.get

    def counting(self: Any, *args: Any) -> Any:
        plan = real(self, *args)
        compiled.append(plan)
        return plan

    runner = Runner(Registry.discover(plugins=False))
    prepared = runner.prepare(outer, base_dir=tmp_path)
    run_context.FilePlans.get = counting  # type: ignore[method-assign]
    try:
        first = [asyncio.run(runner.run(prepared)).outputs for _ in range(3)]
        save(inner(2), path)
        os.utime(path, ns=(1, 1))  # a different modification time whatever the clock
        second = asyncio.run(runner.run(prepared)).outputs
    finally:
        run_context.FilePlans.get = real  # type: ignore[method-assign]
    assert first == [{"call": {"y": 1}}] * 3 and second == {"call": {"y": 2}}
    assert compiled[0] is compiled[1] is compiled[2] and compiled[3] is not compiled[0]


def test_cancelling_the_caller_of_run_ends_the_run_as_cancelled_first():
    events: list[Any] = []
    wf = workflow([{"id": "s", "type": "toy.sleep", "config": {"seconds": 5}},
                   {"id": "after", "type": "toy.add"}], [("s.value", "after.a")])

    async def main() -> None:
        task = asyncio.ensure_future(Runner(toy_registry()).run(
            wf, subscribers=(events.append,)))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    names = [(e.name, getattr(e, "node_id", None)) for e in events]
    assert ("node_cancelled", "s") in names
    assert names[-1] == ("run_completed", None) and events[-1].status == "cancelled"


def test_inline_nodes_run_without_a_task_and_one_that_waits_fails_plainly():
    from engine import Node, NodeContext, Port, Registry

    seen_tasks: list[Any] = []

    class Quick(Node):
        type = "t.quick"
        inline = True
        outputs = (Port("out", "any"),)

        async def run(self, ctx: NodeContext) -> dict[str, Any]:
            seen_tasks.append(asyncio.current_task())
            return {"out": 1}

    class Liar(Node):
        type = "t.liar"
        inline = True

        async def run(self, ctx: NodeContext) -> dict[str, Any]:
            await asyncio.sleep(0)
            return {}

    registry = Registry([Quick, Liar])
    runner = Runner(registry)

    async def caller() -> Any:
        me = asyncio.current_task()
        result = await runner.run(workflow([{"id": "q", "type": "t.quick"}]))
        return me, result

    me, result = asyncio.run(caller())
    assert result.status == "completed" and seen_tasks == [me]  # no task of its own
    timed = asyncio.run(runner.run(workflow([{"id": "q", "type": "t.quick", "timeout_s": 5}])))
    assert timed.status == "completed" and seen_tasks[-1] is not me  # a timeout needs a task
    failed = asyncio.run(runner.run(workflow([{"id": "l", "type": "t.liar"}])))
    assert failed.status == "failed" and failed.failed_node == "l"
    assert "declared inline" in failed.error["message"]


def test_a_node_context_needs_only_its_scope_and_the_run():
    """NodeContext works in any execution that provides the NodeScope protocol: a node
    body can run under another executor (tests/engine/test_layering checks the imports)."""
    import ast
    from pathlib import Path

    from engine import EventBus, NodeContext
    from engine.core.run_context import RunContext

    source = Path(__file__).parents[2] / "engine" / "core" / "context.py"
    imported = {n.module for n in ast.walk(ast.parse(source.read_text()))
                if isinstance(n, ast.ImportFrom)}
    assert "engine.core.executor" not in imported

    async def main() -> tuple[list[Any], dict[str, Any]]:
        seen: list[Any] = []
        bus = EventBus()
        bus.subscribe(seen.append)
        plan = compile_workflow(workflow([{"id": "a", "type": "toy.source"}]), toy_registry())

        class Scope:  # what another executor would provide
            run = RunContext("r1", bus, None, toy_registry())
            inputs = {"x": 1}
            iteration, index = 2, None
            results: dict[str, Any] = {}

            def __init__(self) -> None:
                self.plan = plan

            def template_names(self, ports: dict[str, Any]) -> dict[str, Any]:
                return self.run.template_names(self.inputs) | {"ports": ports}

            async def run_body(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
                return {}

            def set_result(self, name: str, value: Any) -> None:
                self.results[name] = value

        scope = Scope()
        ctx = NodeContext(scope, "loop/a", "toy.source", {"v": 3})
        ctx.info("hello")
        ctx.set_result("out", ctx.evaluate("ports.v + inputs.x"))
        return seen, scope.results

    seen, results = asyncio.run(main())
    assert results == {"out": 4}
    assert [(e.name, e.node_id, e.message, e.iteration) for e in seen] == [
        ("node_log", "loop/a", "hello", 2)]
