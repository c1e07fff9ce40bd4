"""The engine's public API: the names `engine` exports, what importing them costs, and
that node types (ours included) use nothing else."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import engine

ROOT = Path(__file__).parents[2]

EXPORTED = sorted([
    # writing node types
    "Node", "NodeConfig", "Port", "BodySpec", "PortContext", "ERROR_PORT", "function_node",
    "expression", "template_text", "NodeContext", "preview", "type_name", "write_text_atomic",
    "read_regular", "confine", "OutsideRootsError", "in_thread", "parse_json",
    "JsonLimitError", "RemoteBody",
    # errors
    "FlowError", "NodeError", "TemplateError", "ConfigError", "InputTypeError",
    "NodeTimeoutError", "BodyError", "WorkflowFileError", "WorkflowInvalidError",
    "RegistryError", "InputsError", "SecretsError", "Problem",
    # the workflow file
    "Workflow", "Graph", "Subgraph", "NodeSpec", "Connection", "InputSpec", "RetryPolicy",
    "Settings", "IDENT_RE", "BODY_INPUT_TYPE", "BODY_OUTPUT_TYPE", "load", "loads", "dumps", "save",
    # validating and running
    "Registry", "NodePack", "validate", "compile_plan", "Runner", "Run", "RunResult", "run_file",
    "EventBus", "Event", "locate",
    # queues between workflows
    "current_queue", "QueueError",
])


def test_the_exported_names_are_exactly_these():
    assert engine.__all__ == EXPORTED
    for name in EXPORTED:
        assert getattr(engine, name) is not None, name
        assert name in dir(engine)


def test_an_unknown_name_is_an_attribute_error():
    try:
        engine.GraphExecution  # noqa: B018 - an internal, not part of the API
    except AttributeError as e:
        assert "GraphExecution" in str(e)
    else:
        raise AssertionError("engine.GraphExecution should not be exported")


def test_every_error_belongs_to_one_tree():
    from engine import errors

    classes = [v for v in vars(errors).values()
               if isinstance(v, type) and issubclass(v, Exception)]
    assert len(classes) >= 15
    assert all(issubclass(c, engine.FlowError) for c in classes), classes
    for name in ("MigrationError", "SecretsError", "ServeError", "BodyError"):
        assert issubclass(getattr(errors, name), engine.FlowError)
        assert name in errors.__doc__  # drawn in the module's tree


def test_names_load_on_first_use():
    """Writing a node type imports the SDK, not the executor, Jinja2 or httpx."""
    code = ("import sys, json\nfrom engine import Node, NodeConfig, Port\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('engine', 'jinja2', 'httpx', 'networkx', 'rich', 'click'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout
    loaded = json.loads(out)
    assert "engine.core.sdk" in loaded
    for heavy in ("engine.core.executor", "engine.core.runner", "engine.templates.engine",
                  "jinja2", "httpx", "networkx", "rich", "click"):
        assert heavy not in loaded, heavy


def _engine_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and \
                node.module.split(".")[0] == "engine":
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == "engine"]
    return found


def test_built_in_nodes_use_the_public_api_only():
    modules = sorted((ROOT / "nodes").glob("*.py"))
    assert len(modules) >= 10
    for path in modules:
        for module in _engine_imports(path):
            assert module == "engine", f"{path.name} imports {module}; use `from engine import`"


def test_the_public_api_check_sees_a_private_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from engine.core.executor import GraphExecution\nimport engine.errors\n")
    assert _engine_imports(bad) == ["engine.core.executor", "engine.errors"]
