"""Node bodies on a real Dask cluster: a `dask scheduler` and two `dask worker`
processes on 127.0.0.1, started by these tests; plugins shipped from a plugin folder;
a worker killed mid-run; cancelling; secrets kept out of keys and logs."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import textwrap
import time
from collections import Counter
from pathlib import Path
from typing import Any

import distributed
import pytest

from engine import Registry, Runner, RunResult
from engine.core.events import Event
from engine.distributed.cluster import DaskCluster, MissingNodeTypesError
from engine.distributed.payload import Sealed
from engine.distributed.target import ExecutorChoice
from engine.support.paths import plugin_dirs
from engine.workflow.model import Workflow
from tests.engine.dask_processes import DaskProcesses

PLUGIN = textwrap.dedent('''
    import os
    import time

    from engine import NodeError, function_node


    @function_node("acme.burn")
    def burn(n: int) -> int:
        """Pure-Python CPU work: the sum of squares below n."""
        total = 0
        for i in range(n):
            total += i * i
        return total


    @function_node("acme.where")
    def where(value: int = 0, ctx=None) -> dict:
        ctx.info(f"running in {os.getpid()}")
        return {"pid": os.getpid(), "value": value}


    @function_node("acme.flaky")
    def flaky(ctx=None) -> int:
        if ctx.attempt == 1:
            raise NodeError("first attempts fail", retryable=True)
        return ctx.attempt


    @function_node("acme.use_token")
    def use_token(token: str, fail: bool = False) -> int:
        if fail:
            raise NodeError(f"the service refused token {token}", retryable=False)
        return len(token)


    @function_node("acme.sleep")
    def sleep(seconds: float, item: int = 0) -> int:
        time.sleep(seconds)
        return item
''')


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    procs = DaskProcesses(tmp_path_factory.mktemp("dask"))
    try:
        procs.start_worker()
        procs.start_worker()
        procs.wait_for_workers(2)
        yield procs
    finally:
        procs.stop()


@pytest.fixture
def plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "acme_nodes.py").write_text(PLUGIN, encoding="utf-8")
    monkeypatch.setenv("FLOWUI_PLUGINS", str(folder))
    return folder


def workflow(nodes: list[dict], wires: list[tuple[str, str]] = (), **extra: Any) -> Workflow:
    return Workflow.model_validate({
        "name": "t", "nodes": nodes, "connections": [{"from": a, "to": b} for a, b in wires],
        **extra})


def for_each(items: list[Any], body_nodes: list[dict], body_wires: list[tuple[str, str]],
             **config: Any) -> Workflow:
    return workflow(
        [{"id": "items", "type": "flow.constant", "config": {"value": items}},
         {"id": "each", "type": "control.for_each", "config": {"body": "b", **config}}],
        [("items.value", "each.items")],
        subgraphs={"b": {
            "nodes": [{"id": "item", "type": "flow.input", "config": {"name": "item"}},
                      *body_nodes,
                      {"id": "result", "type": "flow.output", "config": {"name": "result"}}],
            "connections": [{"from": a, "to": b} for a, b in body_wires]}})


async def _run_on(address: str | None, wf: Workflow, events: list[Event],
                  started: asyncio.Event | None = None, **options: Any) -> RunResult:
    registry = Registry.discover()
    if address is None:
        return await Runner(registry).run(wf, subscribers=(events.append,), **options)
    cl = await DaskCluster.connect(ExecutorChoice("address", address=address))
    try:
        await cl.ship_plugins(plugin_dirs())
        await cl.check_types({s.type for g in (wf, *wf.subgraphs.values()) for s in g.nodes
                              if (c := registry.get(s.type)) is not None and c.remote_capable})
        runner = Runner(registry, execution=cl.execution_factory())
        return await runner.run(wf, subscribers=(events.append,), **options)
    finally:
        await cl.close()


def run(address: str | None, wf: Workflow, **options: Any) -> tuple[RunResult, list[Event]]:
    events: list[Event] = []
    return asyncio.run(_run_on(address, wf, events, **options)), events


def shape(events: list[Event]) -> Counter[tuple[Any, ...]]:
    """What happened, without timings, order between items, or where."""
    return Counter((e.name, getattr(e, "node_id", None),
                    e.index if "index" in e.fields else None)  # not tuple.index
                   for e in events if e.name != "node_progress")


BURN_BODY = ([{"id": "burn", "type": "acme.burn"}], [("item.value", "burn.n"),
                                                      ("burn.result", "result.value")])


def test_a_for_each_over_cpu_bound_items_gives_what_the_local_executor_gives(cluster, plugins):
    items = [200_000 + 1_000 * i for i in range(12)]
    wf = for_each(items, *BURN_BODY, max_parallel=4)
    local_kept: list[Any] = []
    remote_kept: list[Any] = []
    local, local_events = run(None, wf, on_outputs=local_kept.append)
    remote, remote_events = run(cluster.address, wf, on_outputs=remote_kept.append)
    assert local.status == remote.status == "completed"
    assert remote.outputs == local.outputs
    assert remote.outputs["each"]["results"] == [sum(i * i for i in range(n)) for n in items]
    assert shape(remote_events) == shape(local_events)  # the same events, item by item
    # and the same full outputs for a run store, the body's nodes' included
    assert {(r.node_id, r.index): r.outputs for r in remote_kept} == \
        {(r.node_id, r.index): r.outputs for r in local_kept}
    assert len([r for r in remote_kept if r.node_id == "each/burn"]) == len(items)
    # the body's nodes ran on the workers (both of them), and their events say where
    workers = {e.worker for e in remote_events if e.name == "node_completed"
               and e.node_id == "each/burn"}
    assert workers <= set(cluster.worker_pids()) and len(workers) == 2
    assert all(e.worker is None for e in local_events if e.name == "node_completed")
    # the loop itself, and everything outside the body, ran here
    assert {e.worker for e in remote_events if e.name == "node_completed"
            and "/" not in e.node_id} == {None}


def test_a_plugin_node_runs_on_a_worker_and_its_logs_come_back(cluster, plugins):
    wf = workflow([{"id": "w", "type": "acme.where", "config": {"value": 7}}])
    result, events = run(cluster.address, wf)
    assert result.status == "completed", result.error
    pids = cluster.worker_pids()
    out = result.outputs["w"]["result"]
    assert out["value"] == 7
    assert out["pid"] in pids.values() and out["pid"] != os.getpid()
    done = next(e for e in events if e.name == "node_completed")
    assert pids[done.worker] == out["pid"]  # the event names that worker
    log = next(e for e in events if e.name == "node_log")
    assert log.node_id == "w" and log.worker == done.worker
    assert log.message == f"running in {out['pid']}"


def test_the_retry_policy_applies_to_a_node_failing_on_a_worker(cluster, plugins):
    wf = workflow([{"id": "f", "type": "acme.flaky",
                    "retry": {"max_attempts": 2, "delay_s": 0, "jitter": False}}])
    result, events = run(cluster.address, wf)
    assert result.status == "completed" and result.outputs == {"f": {"result": 2}}
    retrying = next(e for e in events if e.name == "node_retrying")
    assert retrying.error == {"type": "NodeError", "message": "first attempts fail"}
    assert [e.attempt for e in events if e.name == "node_started"] == [1, 2]
    assert next(e for e in events if e.name == "node_completed").worker.startswith("tcp://")


def test_a_worker_missing_a_node_type_stops_the_run_before_it_starts(cluster):
    async def check() -> None:
        cl = await DaskCluster.connect(ExecutorChoice("address", address=cluster.address))
        try:
            await cl.ship_plugins([])
            await cl.check_types(["code.complexity", "acme.not_installed"])
        finally:
            await cl.close()

    with pytest.raises(MissingNodeTypesError) as caught:
        asyncio.run(check())
    message = str(caught.value)
    assert "'acme.not_installed'" in message and "code.complexity" not in message
    for worker in cluster.worker_pids():
        assert f"worker {worker} lacks" in message


def test_a_secret_reaches_the_worker_only_inside_its_node_payload(cluster, plugins,
                                                                 monkeypatch):
    secret = "s3cr3t-VALUE-7f1e"
    monkeypatch.setenv("FLOWUI_SECRET_API_TOKEN", secret)
    token = {"token": "{{ secrets.API_TOKEN }}"}
    wf = for_each([1, 2], [{"id": "use", "type": "acme.use_token", "config": token}],
                  [("use.result", "result.value")], max_parallel=2)
    wf.nodes.append(wf.nodes[0].model_copy(update={"id": "single", "type": "acme.use_token",
                                                   "config": token}))
    # a subgraph no node runs, naming another secret: no task may carry that one
    other = "0ther-SECRET-never-sent"
    monkeypatch.setenv("FLOWUI_SECRET_OTHER", other)
    wf.subgraphs["unused"] = wf.subgraphs["b"].model_copy(update={"nodes": [
        *wf.subgraphs["b"].nodes[:1],
        wf.subgraphs["b"].nodes[1].model_copy(update={"config": {"token": "{{ secrets.OTHER }}"}}),
        *wf.subgraphs["b"].nodes[2:]]})
    sent: list[Any] = []
    real_submit = distributed.Client.submit

    def spy(self, fn, *args, **kwargs):  # what each task carries, as Dask gets it
        sent.extend(a.open() for a in args if isinstance(a, Sealed))
        return real_submit(self, fn, *args, **kwargs)

    monkeypatch.setattr(distributed.Client, "submit", spy)
    wf.nodes.append(wf.nodes[0].model_copy(update={
        "id": "failing", "type": "acme.use_token", "config": {**token, "fail": True},
        "on_error": "continue"}))
    result, events = run(cluster.address, wf)
    assert result.status == "completed", result.error
    # it arrived: the nodes measured it there
    assert result.outputs["each"]["results"] == [len(secret)] * 2
    assert result.outputs["single"]["result"] == len(secret)
    failed = next(e for e in events if e.name == "node_failed")
    assert failed.worker.startswith("tcp://") and "***" in failed.error["message"]
    # ...and nowhere else: not in keys, not in the scheduler's or the workers' logs
    keys = cluster.scheduler_keys()
    assert any(k.startswith("flowui-node-") for k in keys)
    assert any(k.startswith("flowui-items-") for k in keys)
    assert not [k for k in keys if secret in k]
    logs = cluster.logs()
    assert secret not in logs and "Compute Failed" not in logs
    assert secret not in json.dumps([e.to_dict() for e in events])
    # each task carried the secret its nodes name, and nothing else
    assert sent and all(task.run.secrets == {"API_TOKEN": secret} for task in sent)
    assert not [t for t in sent if other in repr(t)]


def test_cancelling_a_run_cancels_its_tasks(cluster, plugins):
    wf = for_each(list(range(6)), [{"id": "nap", "type": "acme.sleep",
                                    "config": {"seconds": 1.0}}],
                  [("item.value", "nap.item"), ("nap.result", "result.value")], max_parallel=2)
    events: list[Event] = []

    async def cancel_soon() -> tuple[RunResult, float]:
        registry = Registry.discover()
        cl = await DaskCluster.connect(ExecutorChoice("address", address=cluster.address))
        try:
            await cl.ship_plugins(plugin_dirs())
            running = Runner(registry, execution=cl.execution_factory()).start(
                wf, subscribers=(events.append,))
            while not cluster_has_tasks(cl):
                await asyncio.sleep(0.02)
            cancelled_at = time.monotonic()
            running.cancel()
            result = await running.wait()
            return result, time.monotonic() - cancelled_at
        finally:
            await cl.close()

    result, took = asyncio.run(cancel_soon())
    assert result.status == "cancelled"
    assert took < 0.5  # the run does not wait for the tasks' bodies to finish
    assert next(e for e in events if e.name == "node_cancelled").node_id == "each"
    deadline = time.monotonic() + 5
    while cluster.live_flowui_tasks() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert cluster.live_flowui_tasks() == []  # the scheduler forgot them
    time.sleep(1.0)  # the bodies already running end on their own; leave the workers idle


def cluster_has_tasks(cl: DaskCluster) -> bool:
    return bool(cl.client.futures)


def test_a_worker_killed_mid_run_does_not_lose_the_run(cluster, plugins):
    n = 1_500_000  # ~0.2-0.4 s of work per item
    items = [n + i for i in range(8)]
    wf = for_each(items, *BURN_BODY, max_parallel=2)
    events: list[Event] = []

    async def kill_one() -> tuple[RunResult, Any]:
        task = asyncio.ensure_future(_run_on(cluster.address, wf, events))
        busy = None
        while busy is None and not task.done():  # a worker in the middle of an item
            await asyncio.sleep(0.05)
            busy = await asyncio.to_thread(cluster.busy_worker, "flowui-items-")
        assert busy is not None, "no worker was ever seen running an item"
        pid = (await asyncio.to_thread(cluster.worker_pids))[busy]
        victim = next(p for p in cluster.workers if p.pid == pid)
        os.kill(pid, signal.SIGKILL)
        return await task, victim

    victim = None
    try:
        result, victim = asyncio.run(kill_one())
    finally:
        if victim is not None:
            victim.wait()
            cluster.workers.remove(victim)
        cluster.start_worker()  # the next tests get two workers again
        cluster.wait_for_workers(2)
    assert result.status == "completed", result.error
    assert result.outputs["each"]["results"] == [sum(i * i for i in range(k)) for k in items]
    lost = [e for e in events if e.name == "node_log" and "was lost" in e.message]
    assert lost and lost[0].level == "warning" and lost[0].node_id == "each"
    assert len(set(lost[0].message.split()) & {"item", "items"}) == 1


def test_when_dask_gives_up_on_a_lost_node_its_retry_policy_runs_it_again(
        tmp_path_factory: pytest.TempPathFactory, plugins):
    # A scheduler that gives up at the first lost worker (Dask's default tries 3 times):
    # the node's own retry policy then takes over, and the events say where each ran.
    strict = DaskProcesses(tmp_path_factory.mktemp("dask-strict"),
                           DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="0")
    try:
        strict.start_worker()
        strict.start_worker()
        strict.wait_for_workers(2)
        wf = workflow([{"id": "work", "type": "acme.burn", "config": {"n": 6_000_000},
                        "retry": {"max_attempts": 2, "delay_s": 0, "jitter": False}}])
        events: list[Event] = []

        async def kill_it() -> tuple[RunResult, str]:
            task = asyncio.ensure_future(_run_on(strict.address, wf, events))
            busy = None
            while busy is None and not task.done():
                await asyncio.sleep(0.05)
                busy = await asyncio.to_thread(strict.busy_worker, "flowui-node-")
            assert busy is not None, "the node was never seen running"
            os.kill((await asyncio.to_thread(strict.worker_pids))[busy], signal.SIGKILL)
            return await task, busy

        result, lost = asyncio.run(kill_it())
    finally:
        strict.stop()
    assert result.status == "completed", result.error
    assert result.outputs["work"]["result"] == sum(i * i for i in range(6_000_000))
    warning = next(e for e in events if e.name == "node_log" and "was lost" in e.message)
    assert warning.worker == lost and "attempt 1" in warning.message
    retrying = next(e for e in events if e.name == "node_retrying")
    assert retrying.error["type"] == "WorkerLost" and retrying.attempt == 2
    done = next(e for e in events if e.name == "node_completed")
    assert done.worker.startswith("tcp://") and done.worker != lost
    assert [e.attempt for e in events if e.name == "node_started"] == [1, 2]


def test_a_whole_run_whose_worker_dies_is_run_again_and_its_events_say_so(cluster, plugins):
    from engine.core.preflight import Checked
    from engine.distributed.whole_runs import DistributingRunner

    wf = workflow(
        [{"id": "one", "type": "acme.sleep", "config": {"seconds": 0.3, "item": 1}},
         {"id": "two", "type": "acme.sleep", "config": {"seconds": 1.5, "item": 2}}],
        [("one.result", "two.item")])
    events: list[Event] = []

    async def kill_mid_run() -> RunResult:
        registry = Registry.discover()
        cl = await DaskCluster.connect(ExecutorChoice("address", address=cluster.address))
        try:
            await cl.ship_plugins(plugin_dirs())
            runner = DistributingRunner(cl, registry)
            checked = runner.preflight(wf, {})
            assert isinstance(checked, Checked)
            run = runner.start(checked, subscribers=(events.append,))
            # the first node's events have come back in a batch: the run is mid-way
            while not any(e.name == "node_completed" for e in events):
                await asyncio.sleep(0.02)
            busy = await asyncio.to_thread(cluster.busy_worker, "flowui-run-")
            assert busy is not None
            os.kill((await asyncio.to_thread(cluster.worker_pids))[busy], signal.SIGKILL)
            return await run.wait()
        finally:
            await cl.close()

    try:
        result = asyncio.run(kill_mid_run())
    finally:
        time.sleep(0.2)  # the killed process is reaped
        cluster.workers[:] = [p for p in cluster.workers if p.poll() is None]
        while len(cluster.workers) < 2:  # the next tests get two workers again
            cluster.start_worker()
        cluster.wait_for_workers(2)
    assert result.status == "completed", result.error
    assert result.outputs == {"two": {"result": 1}}  # one's item, passed on
    names = [e.name for e in events]
    assert names[0] == "run_started" and names.count("run_started") == 1
    assert names.count("run_retrying") == 1 and names[-1] == "run_completed"
    retry = events[names.index("run_retrying")]
    assert retry.attempt == 2 and retry.error["type"] == "WorkerLost"
    assert [e.seq for e in events] == list(range(1, len(events) + 1))  # numbered on
    after = events[names.index("run_retrying"):]
    assert [e.node_id for e in after if e.name == "node_completed"] == ["one", "two"]
    assert len({e.worker for e in after if e.name == "node_completed"}) == 1
