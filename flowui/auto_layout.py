"""Edit ▸ Arrange ▸ Auto-Layout: what to move where, read from the scene (each node's
real size and where its ports sit) and worked out by flowui.layout; the editor pushes
it as one move and the canvas glides the nodes there (flowui.canvas.glide)."""

from __future__ import annotations

from collections.abc import Collection

from flowui.canvas.scene import GraphScene
from flowui.layout import Box, Wire, layout, layout_selection

Moves = dict[str, tuple[tuple[float, float], tuple[float, float]]]


def plan_auto_layout(scene: GraphScene, only: Collection[str] | None = None) -> Moves:
    """node id -> (where it is, where it goes) for the nodes that move: every node of
    the graph shown, or only those of `only` (the others stay, and are not overlapped)."""
    doc, graph = scene.doc, scene.graph_key
    boxes: dict[str, Box] = {}
    for spec in doc.nodes(graph):
        item = scene.nodes.get(spec.id)
        if item is not None:
            size = item.body_rect()
            boxes[spec.id] = (*spec.position, size.width(), size.height())
    chosen = set(boxes) if only is None else set(only) & set(boxes)
    wires: list[Wire] = []
    for c in doc.connections(graph):
        (src, src_port), (dst, dst_port) = c.source, c.target
        if src in chosen and dst in chosen:
            a, b = scene.nodes[src], scene.nodes[dst]
            wires.append((src, dst, a.port_pos(src_port, True).y() - a.pos().y(),
                          b.port_pos(dst_port, False).y() - b.pos().y()))
    own = {k: boxes[k] for k in boxes if k in chosen}
    if only is None:
        placed = layout(own, wires)
    else:
        placed = layout_selection(own, wires, {k: b for k, b in boxes.items()
                                               if k not in chosen})
    return {k: (own[k][:2], pos) for k, pos in placed.items() if pos != own[k][:2]}
