"""The editor's shape, checked on its source: one owner of edits (only the editor pushes
undo commands, only commands change the document), a main window that only assembles,
and every module saying what it is for."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from engine.core.registry import Registry

PACKAGE = Path(__file__).resolve().parents[2] / "flowui"
SOURCES = {p.relative_to(PACKAGE.parent).as_posix(): ast.parse(p.read_text(encoding="utf-8"))
           for p in sorted(PACKAGE.rglob("*.py"))}

# The document's mutating methods (its queries and `snapshot` are for anyone).
DOCUMENT_EDITS = {"insert_node", "remove_node", "replace_node", "set_position", "rename_node",
                  "insert_connection", "remove_connection", "set_inputs", "set_meta",
                  "set_settings", "add_subgraph", "remove_subgraph", "set_ui"}


def calls(tree: ast.AST) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)]


def method_called(call: ast.Call) -> str | None:
    return call.func.attr if isinstance(call.func, ast.Attribute) else None


def on_a_document(call: ast.Call) -> bool:
    """`doc.x(...)` or `self.doc.x(...)`: a call on the document."""
    assert isinstance(call.func, ast.Attribute)
    receiver = call.func.value
    return (isinstance(receiver, ast.Name) and receiver.id == "doc") or (
        isinstance(receiver, ast.Attribute) and receiver.attr == "doc")


def modules_calling(names: set[str], *, on_document: bool = False) -> set[str]:
    return {module for module, tree in SOURCES.items() for call in calls(tree)
            if method_called(call) in names and (not on_document or on_a_document(call))}


def test_only_the_editor_pushes_undo_commands():
    assert modules_calling({"push"}) == {"flowui/editor.py"}
    assert modules_calling({"beginMacro", "endMacro"}) == {"flowui/editor.py"}


@pytest.mark.parametrize("commands", ["flowui.commands", "flowui.decor_commands"])
def test_only_the_editor_makes_commands(commands):
    importers = {module for module, tree in SOURCES.items() for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module == commands}
    assert importers == {"flowui/editor.py"}


def test_only_commands_change_the_document():
    assert modules_calling(DOCUMENT_EDITS, on_document=True) == {
        "flowui/commands.py", "flowui/decor_commands.py"}
    assert modules_calling({"load"}, on_document=True) == {"flowui/files.py"}


def test_the_app_names_no_node_type():
    """Node types reach the app through the registry, with what they declare (BodySpec,
    whose skeleton the engine builds with the file format's own body plumbing)."""
    ids = set(Registry.discover(plugins=False).type_ids())
    named = {(module, node.value) for module, tree in SOURCES.items() for node in ast.walk(tree)
             if isinstance(node, ast.Constant) and node.value in ids}
    assert named == set()


def test_the_main_window_only_assembles():
    lines = (PACKAGE / "mainwindow.py").read_text(encoding="utf-8").count("\n")
    assert lines < 300, f"mainwindow.py has {lines} lines"


@pytest.mark.parametrize("module", sorted(SOURCES))
def test_every_module_says_what_it_is_for(module):
    tree = SOURCES[module]
    doc = ast.get_docstring(tree)
    assert doc and 1 <= len(doc.split("\n\n")[0].splitlines()) <= 3, module
    if tree.body[1:]:
        assert any(isinstance(n, ast.ImportFrom) and n.module == "__future__"
                   for n in tree.body), f"{module}: from __future__ import annotations"
