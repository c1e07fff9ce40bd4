"""FlowUI's engine: the workflow model, node SDK, validation, the async executor and
its events. Pure Python: it imports no Qt, so it runs headless in scripts and CI.

    import engine
    result = engine.run_file("flow.flow.json", {"name": "Ada"})
    print(result.status, result.outputs)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from engine.core.bus import EventBus
from engine.core.context import NodeContext
from engine.core.events import Event
from engine.core.plan import compile_plan, validate
from engine.core.registry import Registry
from engine.core.runner import Run, Runner, RunResult
from engine.core.sdk import Node, NodeConfig, Port, expression, function_node, template_text
from engine.errors import (
    FlowError,
    NodeError,
    Problem,
    TemplateError,
    WorkflowFileError,
    WorkflowInvalidError,
)
from engine.workflow.file import dumps, load, loads, save
from engine.workflow.model import Workflow

__all__ = [
    "Event", "EventBus", "FlowError", "Node", "NodeConfig", "NodeContext", "NodeError", "Port",
    "Problem", "Registry", "Run", "RunResult", "Runner", "TemplateError", "Workflow",
    "WorkflowFileError", "WorkflowInvalidError", "compile_plan", "dumps", "expression",
    "function_node", "load", "loads", "run_file", "save", "template_text", "validate",
]


def run_file(path: str | Path, inputs: Mapping[str, Any] | None = None, *,
             registry: Registry | None = None,
             subscribers: tuple[Callable[[Event], Any], ...] = (),
             **options: Any) -> RunResult:
    """Load and run a workflow file to the end (blocking), with the installed node types."""
    workflow = load(path)
    runner = Runner(registry or Registry.discover())
    return asyncio.run(runner.run(workflow, inputs, subscribers=subscribers,
                                  base_dir=Path(path).resolve().parent, **options))
