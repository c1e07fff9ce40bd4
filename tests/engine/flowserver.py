"""A real `flowserver` process on 127.0.0.1 for the tests: started on a free port with
its own workflows folder, token file and run store, stopped with SIGINT."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

FLOWSERVER = Path(sys.executable).with_name("flowserver")
_LISTENING = re.compile(r"listening on (http://\S+)")


def flow(name: str, nodes: list[dict[str, Any]], connections: list[tuple[str, str]] = (),
         **extra: Any) -> dict[str, Any]:
    return {"format": "flowui-workflow", "version": 1, "name": name, "nodes": nodes,
            "connections": [{"from": a, "to": b} for a, b in connections], **extra}


def hello() -> dict[str, Any]:
    """constant -> template -> output: the benchmark's 3-node workflow."""
    return flow("hello", [
        {"id": "c", "type": "flow.constant", "config": {"value": "world"}},
        {"id": "t", "type": "transform.template", "config": {"template": "hello {{ value }}"}},
        {"id": "o", "type": "flow.output", "config": {"name": "greeting"}}],
        [("c.value", "t.value"), ("t.text", "o.value")])


def delays(n: int, seconds: float) -> dict[str, Any]:
    """A chain of n time.delay nodes: a run that lasts about n * seconds."""
    nodes = [{"id": "c", "type": "flow.constant", "config": {"value": 1}}]
    nodes += [{"id": f"d{i}", "type": "time.delay", "config": {"seconds": seconds}}
              for i in range(n)]
    links = [("c.value", "d0.value")] + [(f"d{i}.value", f"d{i + 1}.value")
                                         for i in range(n - 1)]
    return flow(f"delays{n}", nodes, links)


def chain(n: int) -> dict[str, Any]:
    """n constant nodes joined in a chain through templates: a large fast run."""
    nodes = [{"id": "n0", "type": "flow.constant", "config": {"value": 0}}]
    nodes += [{"id": f"n{i}", "type": "transform.template", "config": {"template": "{{ value }}"}}
              for i in range(1, n)]
    return flow(f"chain{n}", nodes, [(f"n{i}.{'value' if i == 0 else 'text'}",
                                      f"n{i + 1}.value") for i in range(n - 1)])


@dataclass
class FlowServer:
    proc: subprocess.Popen[bytes]
    url: str
    token: str
    folder: Path
    store: Path
    stderr: Path

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://")

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def client(self, **kw: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.auth, timeout=30, **kw)

    def err(self) -> str:
        return self.stderr.read_text()

    def put_workflow(self, name: str, data: dict[str, Any]) -> None:
        (self.folder / f"{name}.flow.json").write_text(json.dumps(data))

    def wait_run(self, run_id: str, timeout: float = 30) -> dict[str, Any]:
        """Poll until the run has finished; its detail."""
        deadline = time.monotonic() + timeout
        with self.client() as c:
            while True:
                detail = c.get(f"/runs/{run_id}").json()
                if detail["status"] not in ("queued", "validating", "running"):
                    return detail  # type: ignore[no-any-return]
                assert time.monotonic() < deadline, f"run {run_id} did not finish: {detail}"
                time.sleep(0.02)

    def stop(self, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


def start(tmp: Path, *args: str, env: dict[str, str] | None = None) -> FlowServer:
    folder = tmp / "workflows"
    folder.mkdir(exist_ok=True)
    token_file, store, stderr = tmp / "token", tmp / "runs.db", tmp / "server.err"
    with stderr.open("wb") as err:
        proc = subprocess.Popen(
            [str(FLOWSERVER), "--workflows", str(folder), "--port", "0", "--token-file",
             str(token_file), "--store", str(store), "--grace", "2", *args],
            stdout=subprocess.DEVNULL, stderr=err, env={**os.environ, **(env or {})})
    deadline = time.monotonic() + 30
    while True:
        found = _LISTENING.search(stderr.read_text())
        if found:
            break
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"flowserver did not start: {stderr.read_text()}")
        time.sleep(0.05)
    return FlowServer(proc, found.group(1), token_file.read_text().strip(), folder, store,
                      stderr)
