"""Run > Allowed Folders: the editor's setting for the folders file nodes and
sub-workflows may use besides the workflow's own; kept across sessions, applied to
validation and runs at once."""

from __future__ import annotations

import json

import pytest
from PySide6.QtWidgets import QDialog

from engine.support import file_roots
from engine.workflow import file as workflow_file
from flowui.run.allowed_folders import AllowedFoldersDialog, remembered


@pytest.fixture(autouse=True)
def _no_leftover_roots(monkeypatch):
    monkeypatch.delenv(file_roots.ENV, raising=False)
    monkeypatch.setattr(file_roots, "_allowed", [])


def test_allowing_a_folder_lets_a_sub_workflow_there_validate_and_run(
        make_window, tmp_path, monkeypatch):
    project, lib = tmp_path / "project", tmp_path / "lib"
    project.mkdir()
    lib.mkdir()
    (lib / "inner.flow.json").write_text(json.dumps({
        "format": "flowui-workflow", "version": 1, "nodes": [], "connections": []}))
    path = project / "main.flow.json"
    workflow_file.save(workflow_file.from_data({
        "format": "flowui-workflow", "version": 1, "nodes": [
            {"id": "sub", "type": "flow.subworkflow", "position": [0, 0],
             "config": {"path": "../lib/inner.flow.json"}}], "connections": []}), path)
    window = make_window()
    assert "allowed_folders" in window.runs.actions
    assert window.files.open_path(path, ask=False)
    problems = window.validation.validate_now()
    assert [p.node_id for p in problems] == ["sub"]
    assert "outside the folders this workflow may use" in problems[0].message

    # The user adds the folder in the dialog (the folder picker is a native dialog:
    # the test hands the folder over as the picker would).
    monkeypatch.setattr(AllowedFoldersDialog, "exec", lambda self: (
        self.add_folder(str(lib)), self.accept(), QDialog.DialogCode.Accepted)[-1])
    window.runs.actions["allowed_folders"].trigger()
    assert remembered(window.settings) == [str(lib)]
    assert lib.resolve() in file_roots.user_roots()
    assert window.validation.validate_now() == []
    assert not window.scene.nodes["sub"].problems

    # Another session starts with the folder allowed; removing it takes it away again.
    file_roots.set_allowed([])
    second = make_window()
    assert lib.resolve() in file_roots.user_roots()
    dialog = AllowedFoldersDialog(second, second.settings)
    assert dialog.folders() == [str(lib)]
    dialog.list.selectAll()
    dialog.remove_selected()
    dialog.accept()
    assert remembered(second.settings) == [] and file_roots.user_roots() == []
