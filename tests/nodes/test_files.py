"""file.read and file.write with real files: paths relative to the workflow file's folder,
atomic replacement, and the errors users meet."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest

import engine
from engine import Registry
from nodes.files import os_error

REGISTRY = Registry.discover(plugins=False)
NO_RETRY_CHECK = {"max_attempts": 3, "backoff": "fixed", "delay_s": 0.01, "jitter": False}


def run_flow(folder: Path, nodes: list[dict[str, Any]], connections: list[tuple[str, str]] = (),
             events: list | None = None, **extra: Any) -> engine.RunResult:
    """Save a workflow file into `folder` and run it the way flowcli does."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "files.flow.json"
    path.write_text(json.dumps({
        "format": "flowui-workflow", "version": 1, "nodes": nodes,
        "connections": [{"from": a, "to": b} for a, b in connections], **extra}))
    subscribers = (events.append,) if events is not None else ()
    return engine.run_file(path, registry=REGISTRY, subscribers=subscribers)


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The current directory is not the workflow's folder: relative paths must not land here."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


def test_write_then_read_relative_to_the_workflow_folder(tmp_path, elsewhere):
    project = tmp_path / "project"
    result = run_flow(project, [
        {"id": "w", "type": "file.write",
         "config": {"path": "out/report.txt", "text": "héllo\nwörld", "create_folders": True}},
        {"id": "r", "type": "file.read"},
    ], [("w.path", "r.path")])
    assert result.status == "completed", result.error
    written = project / "out" / "report.txt"
    assert result.outputs["r"]["text"] == "héllo\nwörld"
    assert written.read_text(encoding="utf-8") == "héllo\nwörld"
    assert not (elsewhere / "out").exists()


def test_write_outputs_the_absolute_path_and_read_takes_a_config_path(tmp_path, elsewhere):
    project = tmp_path / "p"
    project.mkdir()
    (project / "in.txt").write_text("data", encoding="utf-8")
    result = run_flow(project, [
        {"id": "r", "type": "file.read", "config": {"path": "in.txt"}},
        {"id": "w", "type": "file.write", "config": {"path": "copy.txt"}},
    ], [("r.text", "w.text")])
    assert result.status == "completed", result.error
    assert result.outputs["w"]["path"] == str((project / "copy.txt").resolve())
    assert (project / "copy.txt").read_text() == "data"


def test_encodings_both_ways(tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    (project / "latin.txt").write_bytes("café".encode("latin-1"))
    result = run_flow(project, [
        {"id": "r", "type": "file.read", "config": {"path": "latin.txt", "encoding": "latin-1"}},
        {"id": "w", "type": "file.write", "config": {"path": "utf16.txt", "encoding": "utf-16"}},
    ], [("r.text", "w.text")])
    assert result.status == "completed", result.error
    assert (project / "utf16.txt").read_bytes() == "café".encode("utf-16")


def test_undecodable_file_is_a_clear_error(tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    (project / "latin.txt").write_bytes("café".encode("latin-1"))
    events: list = []
    result = run_flow(project, [{"id": "r", "type": "file.read", "config": {"path": "latin.txt"},
                                 "retry": NO_RETRY_CHECK}], events=events)
    assert result.status == "failed"
    assert "is not utf-8 text (byte 3" in result.error["message"]
    assert "set encoding" in result.error["message"]
    assert [e.name for e in events].count("node_started") == 1


def test_unknown_encoding_is_a_validation_problem(tmp_path):
    result = run_flow(tmp_path / "p", [{"id": "r", "type": "file.read",
                                        "config": {"path": "x", "encoding": "klingon-8"}}])
    assert result.error["type"] == "validation"
    assert "unknown text encoding 'klingon-8'" in result.error["message"]


def test_missing_file_and_folder_fail_without_retry(tmp_path):
    project = tmp_path / "p"
    (project / "adir").mkdir(parents=True)
    for path, words in (("nope.txt", "does not exist"), ("adir", "it is a folder")):
        events: list = []
        result = run_flow(project, [{"id": "r", "type": "file.read", "config": {"path": path},
                                     "retry": NO_RETRY_CHECK}], events=events)
        assert result.status == "failed"
        assert words in result.error["message"] and str(project / path) in result.error["message"]
        assert [e.name for e in events].count("node_started") == 1, path


def test_write_to_a_missing_folder_says_how_to_fix_it(tmp_path):
    project = tmp_path / "p"
    result = run_flow(project, [{"id": "w", "type": "file.write",
                                 "config": {"path": "sub/x.txt", "text": "t"}}])
    assert result.status == "failed"
    assert "does not exist (set create_folders" in result.error["message"]
    assert not (project / "sub").exists()


def test_write_onto_a_folder_is_refused(tmp_path):
    project = tmp_path / "p"
    (project / "adir").mkdir(parents=True)
    result = run_flow(project, [{"id": "w", "type": "file.write",
                                 "config": {"path": "adir", "text": "t"}}])
    assert result.status == "failed" and "it is a folder" in result.error["message"]


def test_unencodable_text_leaves_the_old_file_and_no_temp_file(tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    (project / "a.txt").write_text("old")
    result = run_flow(project, [{"id": "w", "type": "file.write",
                                 "config": {"path": "a.txt", "text": "naïve ☃",
                                            "encoding": "ascii"}}])
    assert result.status == "failed"
    assert "cannot be written as ascii (character 'ï' at 2)" in result.error["message"]
    assert (project / "a.txt").read_text() == "old"
    assert sorted(p.name for p in project.iterdir()) == ["a.txt", "files.flow.json"]


def test_write_replaces_atomically_and_keeps_permissions(tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    target = project / "big.txt"
    old, new = "A" * 4_000_000, "B" * 4_000_000
    target.write_text(old)
    target.chmod(0o640)
    seen: set[str] = set()
    stop = threading.Event()

    def reader() -> None:
        for _ in range(100_000):  # bounded; stops as soon as the write is done
            if stop.is_set():
                return
            text = target.read_text()
            seen.add("old" if text == old else "new" if text == new else f"torn:{len(text)}")

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        result = run_flow(project, [{"id": "w", "type": "file.write",
                                     "config": {"path": "big.txt", "text": new}}])
    finally:
        stop.set()
        thread.join(10)
    assert result.status == "completed", result.error
    assert target.read_text() == new
    assert seen <= {"old", "new"}, seen  # a reader never sees half a file
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in project.iterdir()) == ["big.txt", "files.flow.json"]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root reads files whatever their permissions")
def test_unreadable_file_is_a_permission_error(tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    secret = project / "locked.txt"
    secret.write_text("x")
    secret.chmod(0)
    result = run_flow(project, [{"id": "r", "type": "file.read",
                                 "config": {"path": "locked.txt"}}])
    assert "permission denied" in result.error["message"]


def test_os_errors_map_to_clear_messages_and_retry_verdicts(tmp_path):
    where = tmp_path / "f.txt"
    denied = os_error(PermissionError(13, "Permission denied"), "read", where)
    assert str(denied) == f"cannot read {where}: permission denied"
    assert denied.retryable is False
    flaky = os_error(OSError(5, "Input/output error"), "write", where)
    assert str(flaky) == f"cannot write {where}: Input/output error" and flaky.retryable is True
