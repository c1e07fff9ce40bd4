"""The built desktop bundle (`make dist`), tested as a user runs it, not the sources:
its `flowcli` and `flowui` executables, with nothing from this checkout on their
path. Skipped unless FLOWUI_BUNDLE names the bundle's folder (`make test-dist`,
which CI runs after the suite)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

BUNDLE = os.environ.get("FLOWUI_BUNDLE")
pytestmark = pytest.mark.skipif(not BUNDLE, reason="set FLOWUI_BUNDLE (make test-dist)")
EXE = ".exe" if sys.platform == "win32" else ""


@pytest.fixture
def bundle(tmp_path) -> Path:
    assert BUNDLE is not None
    return Path(BUNDLE).resolve()


def run(bundle: Path, tool: str, *args: object, data: Path, timeout: float = 120,
        **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([str(bundle / f"{tool}{EXE}"), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, cwd=data,
                          env={**clean, "FLOWUI_DATA_DIR": str(data), **env})


def test_versions(bundle, tmp_path):
    assert run(bundle, "flowcli", "--version", data=tmp_path).stdout.startswith("flowcli, version")
    assert run(bundle, "flowui", "--version", data=tmp_path).stdout.startswith("flowui ")


def test_validate_and_run_an_example_against_a_local_server(bundle, tmp_path):
    examples = bundle / "_internal" / "resources" / "examples"
    assert run(bundle, "flowcli", "validate", examples / "hello.flow.json",
               data=tmp_path).returncode == 0

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"title": "from the local server", "id": 7}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/item"
        done = run(bundle, "flowcli", "run", examples / "hello.flow.json", "--input",
                   f"url={url}", "--events", "none", data=tmp_path)
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stderr
    assert "from the local server" in done.stdout
    listed = run(bundle, "flowcli", "runs", "list", "--json", data=tmp_path)
    assert json.loads(listed.stdout)[0]["status"] == "completed"  # the store works frozen


def test_the_editor_self_test(bundle, tmp_path):
    done = run(bundle, "flowui", "--self-test", data=tmp_path, QT_QPA_PLATFORM="offscreen")
    assert done.returncode == 0, done.stderr
    assert "self-test passed" in done.stdout


def test_a_plugin_from_a_folder_outside_the_bundle_with_its_own_library(bundle, tmp_path):
    plugins = tmp_path / "plugins"
    (plugins / "_lib" / "shout_helpers").mkdir(parents=True)
    (plugins / "_lib" / "shout_helpers" / "__init__.py").write_text(
        "def shout(text):\n    return text.upper() + '!'\n")
    (plugins / "shout.py").write_text(
        "from engine import function_node\nfrom shout_helpers import shout\n\n"
        "@function_node('acme.shout', title='Shout')\n"
        "def shout_node(text: str) -> str:\n    return shout(text)\n")
    flow = tmp_path / "shout.flow.json"
    flow.write_text(json.dumps({
        "format": "flowui-workflow", "version": 1, "name": "shout",
        "nodes": [{"id": "c", "type": "flow.constant", "config": {"value": "hi"}},
                  {"id": "s", "type": "acme.shout"},
                  {"id": "out", "type": "flow.output", "config": {"name": "out"}}],
        "connections": [{"from": "c.value", "to": "s.text"},
                        {"from": "s.result", "to": "out.value"}]}))
    nodes = run(bundle, "flowcli", "nodes", data=tmp_path)
    assert "acme.shout" in nodes.stdout, nodes.stdout + nodes.stderr
    done = run(bundle, "flowcli", "run", flow, "--events", "none", data=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["outputs"] == {"out": "HI!"}


def test_serve_mode_answers_a_webhook(bundle, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    example = bundle / "_internal" / "resources" / "examples" / "webhook_echo.flow.json"
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.Popen([str(bundle / f"flowcli{EXE}"), "serve", str(example), "--port",
                             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**clean, "FLOWUI_DATA_DIR": str(tmp_path)})
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.post(f"http://127.0.0.1:{port}/echo", json={"ping": 1}, timeout=5)
                break
            except httpx.HTTPError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        assert answer.status_code == 200 and answer.json() == {"ping": 1}
    finally:
        proc.terminate()
        proc.wait(20)
