"""File nodes and sub-workflows touch only the workflow's own folder (and below) and
the folders the user allows; links, `..`, `~` and absolute paths are resolved before
the check. Special files are never read and reads have a size limit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.support import file_roots
from tests.nodes.test_files import REGISTRY, run_flow  # noqa: F401  (the same runner)

FLOWCLI = Path(sys.executable).with_name("flowcli")


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """project/ (the workflow's folder) and secret/ beside it, holding a private file."""
    monkeypatch.delenv(file_roots.ENV, raising=False)
    monkeypatch.setattr(file_roots, "_allowed", [])
    monkeypatch.setenv("HOME", str(tmp_path))  # `~` lands in tmp_path
    project, secret = tmp_path / "project", tmp_path / "secret"
    project.mkdir()
    secret.mkdir()
    (secret / "key.txt").write_text("hunter2")
    (project / "mine.txt").write_text("mine")
    return project, secret


def read(project: Path, path: str) -> tuple[str, str]:
    result = run_flow(project, [{"id": "r", "type": "file.read", "config": {"path": path}}])
    if result.status == "completed":
        return "read", result.outputs["r"]["text"]
    return "refused", result.error["message"]


ESCAPES = ["../secret/key.txt", "{secret}/key.txt", "~/secret/key.txt", "sub/../../secret/key.txt",
           "link/key.txt", "linked_file.txt"]


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
@pytest.mark.parametrize("path", ESCAPES)
def test_reading_outside_the_workflow_folder_is_refused(layout, path):
    project, secret = layout
    (project / "sub").mkdir()
    (project / "link").symlink_to(secret)  # a link inside pointing outside
    (project / "linked_file.txt").symlink_to(secret / "key.txt")
    outcome, text = read(project, path.format(secret=secret))
    assert outcome == "refused"
    assert "hunter2" not in text
    assert str((secret / "key.txt").resolve()) in text  # names the real path...
    assert "FLOWUI_FILE_ROOTS" in text and "--allow-path" in text  # ...and how to allow it


def test_inside_the_folder_and_allowed_folders_read(layout, monkeypatch):
    project, secret = layout
    assert read(project, "mine.txt") == ("read", "mine")
    assert read(project, str(project / "mine.txt")) == ("read", "mine")
    monkeypatch.setenv(file_roots.ENV, os.pathsep.join(["/nonexistent", str(secret)]))
    assert read(project, "../secret/key.txt") == ("read", "hunter2")
    monkeypatch.delenv(file_roots.ENV)
    file_roots.allow([secret])
    assert read(project, "~/secret/key.txt") == ("read", "hunter2")


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_paths_that_cannot_be_paths_are_clear_errors(layout):
    project, _ = layout
    (project / "loop1").symlink_to(project / "loop2")
    (project / "loop2").symlink_to(project / "loop1")
    assert read(project, "loop1/x") == ("refused", "cannot use 'loop1/x': a loop of symbolic links")
    assert read(project, "a\0b") == ("refused",
                                     "cannot use 'a\\x00b': a path cannot contain a NUL character")


def test_writing_outside_is_refused_and_writes_nothing(layout):
    project, secret = layout
    result = run_flow(project, [{"id": "w", "type": "file.write",
                                 "config": {"path": "../secret/new.txt", "text": "x"}}])
    assert result.status == "failed" and "outside the folders" in result.error["message"]
    assert not (secret / "new.txt").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs and devices")
def test_special_files_and_big_files_are_refused_without_reading(layout, monkeypatch):
    project, _ = layout
    os.mkfifo(project / "pipe")
    assert read(project, "pipe") == ("refused", f"cannot read {project / 'pipe'}: it is a FIFO "
                                     "(named pipe), not a regular file; only regular files "
                                     "are read")
    monkeypatch.setenv(file_roots.ENV, "/")
    outcome, text = read(project, "/dev/zero")
    assert outcome == "refused" and "character device" in text
    (project / "big.txt").write_text("x" * 2000)
    result = run_flow(project, [{"id": "r", "type": "file.read",
                                 "config": {"path": "big.txt", "max_bytes": 1000}}])
    assert "larger than the limit of 1000 bytes; raise max_bytes" in result.error["message"]


@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs")
def test_special_files_are_never_replaced_by_a_write(layout):
    project, _ = layout
    os.mkfifo(project / "pipe")
    result = run_flow(project, [{"id": "w", "type": "file.write",
                                 "config": {"path": "pipe", "text": "x"}}])
    assert result.status == "failed" and "not a regular file" in result.error["message"]
    assert not (project / "pipe").is_file()  # still the FIFO


def test_sub_workflows_outside_are_a_validation_problem(layout):
    project, secret = layout
    (secret / "lib.flow.json").write_text(json.dumps({
        "format": "flowui-workflow", "version": 1, "nodes": [], "connections": []}))
    flow = project / "main.flow.json"
    flow.write_text(json.dumps({"format": "flowui-workflow", "version": 1, "nodes": [
        {"id": "s", "type": "flow.subworkflow", "config": {"path": "../secret/lib.flow.json"}}],
        "connections": []}))
    env = {k: v for k, v in os.environ.items() if k != file_roots.ENV}
    r = subprocess.run([str(FLOWCLI), "validate", str(flow)], capture_output=True, text=True,
                       env=env, timeout=30)
    assert r.returncode == 2 and "outside the folders this workflow may use" in r.stdout
    r = subprocess.run([str(FLOWCLI), "validate", str(flow), "--allow-path", str(secret)],
                       capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
