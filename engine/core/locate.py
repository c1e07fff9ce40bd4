"""From a node path as the engine reports it to the graph and node of a document.

Events name a node inside a body by the path of the nodes that run it:
`loop1/inc` is node `inc` of the subgraph that node `loop1` runs (its body field
names it). Problems name the subgraph directly (`Problem.graph`). `locate` turns an
event path into (subgraph name or None for the workflow, node id), so the editor can
colour the right node whichever graph it shows.
"""

from __future__ import annotations

from engine.core.registry import Registry
from engine.workflow.model import Graph, Workflow


def locate(workflow: Workflow, registry: Registry, path: str) -> tuple[str | None, str] | None:
    """(graph, node id) of the deepest node on `path` that lives in `workflow`.

    A path through a node that runs a body outside this document (flow.subworkflow
    given a file) ends at that node; a path naming a node that does not exist (the
    document changed since the run started) gives None."""
    graph_key: str | None = None
    graph: Graph = workflow
    parts = path.split("/")
    for depth, node_id in enumerate(parts):
        spec = graph.node(node_id)
        if spec is None:
            return None
        if depth == len(parts) - 1:
            return graph_key, node_id
        cls = registry.get(spec.type)
        body = cls.body_name(spec.config) if cls is not None else None
        inner = workflow.subgraphs.get(body) if body is not None else None
        if inner is None or body is None:
            return graph_key, node_id  # runs something this document does not hold
        graph_key, graph = body, inner
    return None
