"""`flowcli secrets set | list | delete` as a user runs them, against a file-backed keyring
(tests/engine/filekeyring.py) or the "no keychain" backend: never the real keychain."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
FLOWCLI = Path(sys.executable).with_name("flowcli")
FILE_BACKEND = "tests.engine.filekeyring.FileKeyring"
NO_KEYCHAIN = "keyring.backends.fail.Keyring"
VALUE = "s3cr3t-Value-9431"


def make_env(tmp_path: Path, backend: str = FILE_BACKEND, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWUI_SECRET_")}
    env.update(PYTHON_KEYRING_BACKEND=backend, FLOWUI_TEST_KEYRING=str(tmp_path / "keyring.json"),
               PYTHONPATH=str(ROOT), **extra)
    return env


def secrets(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(FLOWCLI), "secrets", *args], input=stdin, capture_output=True,
                          text=True, env=env, timeout=60, cwd=ROOT)


def stored(tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "keyring.json"
    return json.loads(path.read_text()).get("flowui", {}) if path.exists() else {}


def test_set_list_use_delete_without_ever_printing_the_value(tmp_path):
    env = make_env(tmp_path)
    r = secrets(env, "set", "API_TOKEN", stdin=VALUE + "\n")
    assert r.returncode == 0, r.stderr
    assert stored(tmp_path) == {"API_TOKEN": VALUE}  # the newline echo adds is not kept
    listed = secrets(env, "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == ["API_TOKEN", "keychain"]
    as_json = json.loads(secrets(env, "list", "--json").stdout)
    assert as_json == [{"name": "API_TOKEN", "source": "keychain"}]

    # A run resolves it from the keychain (a missing secret would exit 2) and redacts it.
    flow = tmp_path / "uses.flow.json"
    flow.write_text(json.dumps({"format": "flowui-workflow", "version": 1, "nodes": [
        {"id": "c", "type": "flow.constant", "config": {"value": "{{ secrets.API_TOKEN }}"}}]}))
    ran = subprocess.run([str(FLOWCLI), "run", str(flow), "--events", "jsonl"],
                         capture_output=True, text=True, env=env, timeout=60, cwd=ROOT)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout.splitlines()[-1])["outputs"] == {"c": {"value": "***"}}

    gone = secrets(env, "delete", "API_TOKEN")
    assert gone.returncode == 0, gone.stderr
    assert stored(tmp_path) == {}
    assert secrets(env, "list").stdout.strip() == ""
    again = secrets(env, "delete", "API_TOKEN")
    assert again.returncode == 1 and "no stored secret 'API_TOKEN'" in again.stderr
    for out in (r, listed, ran, gone, again):
        assert VALUE not in out.stdout + out.stderr


def test_empty_values_and_bad_names_are_refused(tmp_path):
    env = make_env(tmp_path)
    empty = secrets(env, "set", "EMPTY", stdin="\n")
    assert empty.returncode == 2 and "cannot be empty" in empty.stderr
    bad = secrets(env, "set", "9-lives", stdin="x")
    assert bad.returncode == 2 and "must be letters, digits and _" in bad.stderr
    assert stored(tmp_path) == {}


def test_without_a_keychain_set_says_so_and_exits_2(tmp_path):
    env = make_env(tmp_path, NO_KEYCHAIN)
    r = secrets(env, "set", "API_TOKEN", stdin=VALUE)
    assert r.returncode == 2
    assert "no OS keychain is available" in r.stderr and "FLOWUI_SECRET_API_TOKEN" in r.stderr
    listed = secrets(env, "list")
    assert listed.returncode == 0 and "no OS keychain is available" in listed.stderr
    assert VALUE not in r.stdout + r.stderr


def test_environment_secrets_are_listed_with_their_source(tmp_path):
    env = make_env(tmp_path, NO_KEYCHAIN, FLOWUI_SECRET_FROM_ENV=VALUE)
    listed = secrets(env, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == [{"name": "FROM_ENV", "source": "environment"}]
    assert VALUE not in listed.stdout + listed.stderr
    # An environment secret is not in the keychain: delete says where it comes from.
    gone = secrets(env, "delete", "FROM_ENV")
    assert gone.returncode == 1 and "set in the environment" in gone.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_on_a_terminal_the_value_is_typed_without_echo(tmp_path):
    env = make_env(tmp_path)
    pid, fd = pty.fork()
    if pid == 0:  # the child: flowcli with the pty as its controlling terminal
        os.chdir(ROOT)
        os.execve(str(FLOWCLI), [str(FLOWCLI), "secrets", "set", "TYPED"], env)
    seen = b""
    deadline = time.monotonic() + 30
    answered = 0
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 1024)
            except OSError:  # the child closed the terminal: it has exited
                break
            if not chunk:
                break
            seen += chunk
            prompts = seen.count(b"Value of TYPED") + seen.count(b"Repeat for confirmation")
            if prompts > answered:  # the prompt and its confirmation
                os.write(fd, VALUE.encode() + b"\n")
                answered += 1
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, seen
    assert answered == 2
    assert VALUE.encode() not in seen
    assert stored(tmp_path) == {"TYPED": VALUE}
