"""FlowUI's engine: the workflow model, node SDK, validation, the async executor and
its events. Pure Python: it imports no Qt, so it runs headless in scripts and CI.

    import engine
    result = engine.run_file("flow.flow.json", {"name": "Ada"})
    print(result.status, result.outputs)

This module is the public API: node types (ours in `nodes/` too) and programs that
embed the engine import from here only; `tests/engine/test_public_api.py` pins it.
Names load on first use (PEP 562), so `flowcli` pays only for what a command
needs: a node pack importing `Node` does not import the executor, jinja2 or httpx.

Layout (each sub-package's docstring says more):

    engine/errors.py    the one exception tree (FlowError ...)
    engine/support/     atomic writes, the data folder, GC pauses
    engine/workflow/    the file: model, load/save, migrations, port types
    engine/templates/   templates and conditions in Jinja2's sandbox
    engine/secrets/     secret values and their redaction
    engine/core/        SDK, registry, validation, plan, executor, runs, events
    engine/server/      serve mode (webhooks, timers)
    engine/cli/         flowcli
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# public name -> module defining it
_EXPORTS: dict[str, str] = {
    # writing node types
    "Node": "engine.core.sdk", "NodeConfig": "engine.core.sdk", "Port": "engine.core.sdk",
    "BodySpec": "engine.core.sdk", "PortContext": "engine.core.sdk",
    "ERROR_PORT": "engine.core.sdk", "function_node": "engine.core.sdk",
    "expression": "engine.core.sdk", "template_text": "engine.core.sdk",
    "NodeContext": "engine.core.context", "preview": "engine.core.preview",
    "RemoteBody": "engine.core.execution",
    "type_name": "engine.workflow.porttypes", "write_text_atomic": "engine.support.atomic",
    "read_regular": "engine.support.bounded_read", "confine": "engine.support.file_roots",
    "OutsideRootsError": "engine.support.file_roots", "in_thread": "engine.support.threads",
    "parse_json": "engine.support.bounded_json", "JsonLimitError": "engine.support.bounded_json",
    # errors
    "FlowError": "engine.errors", "NodeError": "engine.errors",
    "TemplateError": "engine.errors", "ConfigError": "engine.errors",
    "InputTypeError": "engine.errors", "NodeTimeoutError": "engine.errors",
    "BodyError": "engine.errors", "WorkflowFileError": "engine.errors",
    "WorkflowInvalidError": "engine.errors", "RegistryError": "engine.errors",
    "InputsError": "engine.errors", "SecretsError": "engine.errors", "Problem": "engine.errors",
    # the workflow file
    "Workflow": "engine.workflow.model", "Graph": "engine.workflow.model",
    "Subgraph": "engine.workflow.model", "NodeSpec": "engine.workflow.model",
    "Connection": "engine.workflow.model", "InputSpec": "engine.workflow.model",
    "RetryPolicy": "engine.workflow.model", "Settings": "engine.workflow.model",
    "IDENT_RE": "engine.workflow.model", "BODY_INPUT_TYPE": "engine.workflow.model",
    "BODY_OUTPUT_TYPE": "engine.workflow.model",
    "load": "engine.workflow.file", "loads": "engine.workflow.file",
    "dumps": "engine.workflow.file", "save": "engine.workflow.file",
    # validating and running
    "Registry": "engine.core.registry", "NodePack": "engine.core.registry",
    "validate": "engine.core.plan",
    "compile_plan": "engine.core.plan", "Runner": "engine.core.runner",
    "Run": "engine.core.runner", "RunResult": "engine.core.runner",
    "run_file": "engine.core.runner", "EventBus": "engine.core.bus",
    "Event": "engine.core.events", "locate": "engine.core.locate",
    # queues between workflows (queue.push): the backend this process uses
    "current_queue": "engine.server.queues.current", "QueueError": "engine.server.queues.backend",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next look-up is a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # what type checkers and editors see; at run time names load lazily
    from engine.core.bus import EventBus
    from engine.core.context import NodeContext
    from engine.core.events import Event
    from engine.core.execution import RemoteBody
    from engine.core.locate import locate
    from engine.core.plan import compile_plan, validate
    from engine.core.preview import preview
    from engine.core.registry import NodePack, Registry
    from engine.core.runner import Run, Runner, RunResult, run_file
    from engine.core.sdk import (
        ERROR_PORT,
        BodySpec,
        Node,
        NodeConfig,
        Port,
        PortContext,
        expression,
        function_node,
        template_text,
    )
    from engine.errors import (
        BodyError,
        ConfigError,
        FlowError,
        InputsError,
        InputTypeError,
        NodeError,
        NodeTimeoutError,
        Problem,
        RegistryError,
        SecretsError,
        TemplateError,
        WorkflowFileError,
        WorkflowInvalidError,
    )
    from engine.server.queues.backend import QueueError
    from engine.server.queues.current import current_queue
    from engine.support.atomic import write_text_atomic
    from engine.support.bounded_json import JsonLimitError, parse_json
    from engine.support.bounded_read import read_regular
    from engine.support.file_roots import OutsideRootsError, confine
    from engine.support.threads import in_thread
    from engine.workflow.file import dumps, load, loads, save
    from engine.workflow.model import (
        BODY_INPUT_TYPE,
        BODY_OUTPUT_TYPE,
        IDENT_RE,
        Connection,
        Graph,
        InputSpec,
        NodeSpec,
        RetryPolicy,
        Settings,
        Subgraph,
        Workflow,
    )
    from engine.workflow.porttypes import type_name
