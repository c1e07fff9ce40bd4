"""`flowcli serve` end to end: a real server process on 127.0.0.1, real HTTP requests,
real signals, real dead-letter files."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).parents[2]
FLOWCLI = Path(sys.executable).with_name("flowcli")
ECHO = ROOT / "resources" / "examples" / "webhook_echo.flow.json"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_flow(tmp_path: Path, nodes: list, connections: list = (), **extra) -> Path:
    path = tmp_path / "serve.flow.json"
    path.write_text(json.dumps({
        "format": "flowui-workflow", "version": 1, "name": "serve test", "nodes": nodes,
        "connections": [{"from": a, "to": b} for a, b in connections], **extra}))
    return path


def hook(path: str = "/in") -> dict:
    return {"id": "hook", "type": "http.webhook", "config": {"path": path}}


def slow_flow(tmp_path: Path, seconds: float, max_runs: int = 4) -> Path:
    """webhook -> delay -> respond with the body."""
    return write_flow(tmp_path, [
        hook(), {"id": "wait", "type": "time.delay", "config": {"seconds": seconds}},
        {"id": "reply", "type": "http.respond"}],
        [("hook.body", "wait.value"), ("wait.value", "reply.body")],
        settings={"max_concurrent_runs": max_runs})


@dataclass
class Served:
    proc: subprocess.Popen
    url: str
    stdout: Path
    stderr: Path

    def err(self) -> str:
        return self.stderr.read_text()

    def events(self) -> list[dict]:
        text = self.stdout.read_text()
        complete = text[:text.rfind("\n") + 1]  # the server may be writing the last line
        return [json.loads(line) for line in complete.splitlines()]

    def wait_for_run(self) -> None:
        """Until a run has started (needs `--events jsonl`)."""
        deadline = time.monotonic() + 15
        while not any(e["event"] == "run_started" for e in self.events()):
            assert time.monotonic() < deadline, "no run started within 15 s"
            time.sleep(0.02)

    def interrupt(self, timeout: float = 15) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout)


@contextlib.contextmanager
def served(tmp_path: Path, flow: Path, *args: str, env: dict | None = None) -> Iterator[Served]:
    port = free_port()
    out, err = tmp_path / "serve.out", tmp_path / "serve.err"
    with open(out, "w") as o, open(err, "w") as e:
        proc = subprocess.Popen([str(FLOWCLI), "serve", str(flow), "--port", str(port), *args],
                                stdout=o, stderr=e, env={**os.environ, **(env or {})})
    server = Served(proc, f"http://127.0.0.1:{port}", out, err)
    try:
        deadline = time.monotonic() + 20
        while True:  # ready when it accepts connections
            assert proc.poll() is None, f"flowcli serve exited early:\n{server.err()}"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, f"not listening after 20 s:\n{server.err()}"
                time.sleep(0.05)
        yield server
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_webhook_echo_answers_with_the_body(tmp_path):
    with served(tmp_path, ECHO) as s:
        r = httpx.post(s.url + "/echo", json={"name": "Ada", "n": [1, 2]})
        assert r.status_code == 200 and r.json() == {"name": "Ada", "n": [1, 2]}
        assert r.headers["content-type"] == "application/json"
        run_id = r.headers["x-flowui-run-id"]
        text = httpx.post(s.url + "/echo", content="plain words",
                          headers={"Content-Type": "text/plain"})
        assert text.status_code == 200 and text.text == "plain words"
        assert text.headers["content-type"].startswith("text/plain")
        assert httpx.get(s.url + "/echo").status_code == 405
        assert httpx.post(s.url + "/elsewhere", json={}).status_code == 404
        bad = httpx.post(s.url + "/echo", content="{oops",
                         headers={"Content-Type": "application/json"})
        assert bad.status_code == 400 and "not valid JSON" in bad.json()["error"]
        assert s.interrupt() == 0
    lines = s.err().splitlines()
    assert any(line.startswith("POST /echo 200 ") and line.endswith(run_id) for line in lines)
    assert lines[-1] == "stopped"


def test_without_respond_the_caller_gets_202_and_the_run_id(tmp_path):
    flow = write_flow(tmp_path, [hook(), {"id": "log", "type": "debug.log"}],
                      [("hook.body", "log.message")])
    with served(tmp_path, flow, "--events", "jsonl") as s:
        r = httpx.post(s.url + "/in", json={"x": 1})
        assert r.status_code == 202 and r.json() == {"run_id": r.headers["x-flowui-run-id"]}
        assert s.interrupt() == 0
    done = [e for e in s.events() if e["event"] == "run_completed"]
    assert [(e["run_id"], e["status"]) for e in done] == [(r.json()["run_id"], "completed")]
    assert '[log] {"x": 1}' in s.err()  # debug.log text on stderr, as in `flowcli run`


def test_a_failed_run_answers_500_and_leaves_a_dead_letter(tmp_path):
    flow = write_flow(tmp_path, [hook(), {"id": "parse", "type": "transform.json_parse"},
                                 {"id": "reply", "type": "http.respond"}],
                      [("hook.body", "parse.json"), ("parse.parsed", "reply.body")])
    data_dir = tmp_path / "data"
    with served(tmp_path, flow, env={"FLOWUI_DATA_DIR": str(data_dir)}) as s:
        r = httpx.post(s.url + "/in?source=test", content="not json",
                       headers={"Content-Type": "text/plain", "X-Trace": "t-1"})
        assert r.status_code == 500
        answer = r.json()
        assert answer["error"]["node"] == "parse" and answer["error"]["message"]
        ok = httpx.post(s.url + "/in", content='{"fine": true}',
                        headers={"Content-Type": "text/plain"})
        assert ok.status_code == 200 and ok.json() == {"fine": True}
        assert s.interrupt() == 0
    letters = list((data_dir / "dead-letter" / "serve_test").iterdir())
    assert [p.name for p in letters] == [f"{answer['run_id']}.json"]  # the failure only
    letter = json.loads(letters[0].read_text())
    assert letter["run_id"] == answer["run_id"] and letter["status"] == "failed"
    assert letter["error"] == answer["error"] and letter["trigger"] == "hook"
    assert letter["time"].endswith("Z")
    payload = letter["payload"]
    assert payload["body"] == "not json" and payload["method"] == "POST"
    assert payload["query"] == {"source": "test"} and payload["headers"]["x-trace"] == "t-1"


def test_runs_are_bounded_and_the_queue_overflow_gets_503(tmp_path):
    flow = slow_flow(tmp_path, 0.5, max_runs=2)
    with served(tmp_path, flow, "--queue-size", "2", "--events", "jsonl") as s:

        def post(i: int) -> tuple[int, float, dict]:
            t0 = time.monotonic()
            r = httpx.post(s.url + "/in", json={"i": i}, timeout=20)
            return r.status_code, time.monotonic() - t0, dict(r.headers)

        with ThreadPoolExecutor(6) as pool:
            results = list(pool.map(post, range(6)))
        assert s.interrupt() == 0
    statuses = sorted(code for code, _, _ in results)
    assert statuses == [200, 200, 200, 200, 503, 503]  # 2 running + 2 queued, 2 refused
    assert all(h["retry-after"] == "1" for code, _, h in results if code == 503)
    waits = sorted(t for code, t, _ in results if code == 200)
    assert waits[1] < 0.9 and waits[2] >= 0.9  # the queued two waited for a free slot
    running = peak = 0
    for e in s.events():  # printed in order by the one server process
        running += {"run_started": 1, "run_completed": -1}.get(e["event"], 0)
        peak = max(peak, running)
    assert peak == 2


def test_sigint_lets_running_runs_finish_within_the_grace_period(tmp_path):
    with served(tmp_path, slow_flow(tmp_path, 0.8), "--grace", "5", "--events", "jsonl") as s:
        answers: list[httpx.Response] = []
        worker = threading.Thread(target=lambda: answers.append(
            httpx.post(s.url + "/in", json={"keep": "me"}, timeout=20)))
        worker.start()
        s.wait_for_run()
        t0 = time.monotonic()
        s.proc.send_signal(signal.SIGINT)
        time.sleep(0.2)
        with pytest.raises(httpx.ConnectError):  # no longer accepting
            httpx.post(s.url + "/in", json={}, timeout=5)
        assert s.proc.wait(15) == 0
        worker.join(10)
    assert answers[0].status_code == 200 and answers[0].json() == {"keep": "me"}
    assert time.monotonic() - t0 < 3


def test_runs_past_the_grace_period_are_cancelled_and_dead_lettered(tmp_path):
    letters = tmp_path / "letters"
    with served(tmp_path, slow_flow(tmp_path, 30), "--grace", "0.3",
                "--dead-letter", str(letters), "--events", "jsonl") as s:
        answers: list[httpx.Response] = []
        worker = threading.Thread(target=lambda: answers.append(
            httpx.post(s.url + "/in", json={"keep": "me"}, timeout=20)))
        worker.start()
        s.wait_for_run()
        t0 = time.monotonic()
        assert s.interrupt() == 0
        assert time.monotonic() - t0 < 5
        worker.join(10)
    r = answers[0]
    assert r.status_code == 503 and r.json()["error"]["type"] == "cancelled"
    letter = json.loads((letters / f"{r.json()['run_id']}.json").read_text())
    assert letter["status"] == "cancelled" and letter["payload"]["body"] == {"keep": "me"}
    assert "cancelling 1 run(s)" in s.err()


def test_interval_trigger_fires_count_times_then_serve_ends(tmp_path):
    flow = write_flow(tmp_path, [
        {"id": "every", "type": "time.interval", "config": {"every_s": 0.1, "count": 3}},
        {"id": "log", "type": "debug.log", "config": {"format": "tick {{ ports.message }}"}}],
        [("every.tick", "log.message")])
    t0 = time.monotonic()
    r = subprocess.run([str(FLOWCLI), "serve", str(flow), "--events", "jsonl"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - t0 >= 0.2  # ticks at 0, 0.1 and 0.2 s
    done = [json.loads(line) for line in r.stdout.splitlines()
            if json.loads(line)["event"] == "run_completed"]
    assert [e["status"] for e in done] == ["completed"] * 3
    assert [line for line in r.stderr.splitlines() if "] tick " in line] == [
        "[log] tick 0", "[log] tick 1", "[log] tick 2"]
    assert sum(line.startswith("TICK every ") for line in r.stderr.splitlines()) == 3


def test_interval_ticks_are_skipped_while_the_run_bound_is_reached(tmp_path):
    flow = write_flow(tmp_path, [
        {"id": "every", "type": "time.interval", "config": {"every_s": 0.1, "count": 3}},
        {"id": "wait", "type": "time.delay", "config": {"seconds": 0.5}}],
        [("every.tick", "wait.value")], settings={"max_concurrent_runs": 1})
    r = subprocess.run([str(FLOWCLI), "serve", str(flow)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    assert [line.split()[:4] for line in lines if line.startswith("TICK")] == [
        ["TICK", "every", "0", "completed"]]
    assert sum("tick 1 skipped" in line or "tick 2 skipped" in line for line in lines) == 2


def test_serve_refuses_what_it_cannot_serve(tmp_path):
    no_trigger = write_flow(tmp_path, [{"id": "c", "type": "flow.constant"}])
    r = subprocess.run([str(FLOWCLI), "serve", str(no_trigger)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 2 and "no trigger" in r.stderr
    two = write_flow(tmp_path, [hook("/same"), {**hook("/same"), "id": "hook2"}])
    r = subprocess.run([str(FLOWCLI), "serve", str(two)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2 and "2 webhooks answer POST /same" in r.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = subprocess.run([str(FLOWCLI), "serve", str(ECHO), "--port", str(port)],
                           capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and f"cannot listen on 127.0.0.1:{port}" in r.stderr
