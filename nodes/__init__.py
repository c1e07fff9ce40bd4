"""FlowUI's built-in node types.

They reach the editor and the runner the way a third party's nodes do: through
the `flowui.nodes` entry point, which names `catalog`.
"""

from __future__ import annotations

from engine import Node


def catalog() -> list[type[Node]]:
    """Every built-in node type."""
    from nodes import (
        code,
        control,
        debug,
        files,
        flow,
        http,
        llm,
        loops,
        subworkflow,
        timing,
        transform,
        triggers,
    )

    modules = (flow, debug, transform, control, timing, triggers, code, loops, subworkflow,
               http, llm, files)
    return [cls for m in modules for cls in m.NODES]
