"""Align and distribute the selected nodes (Edit ▸ Arrange): where each node goes,
worked out from the nodes' boxes (no Qt). The editor applies it as one undoable move.

Aligning moves every node to the extreme (or the average centre) of the selection on
one axis; distributing keeps the first and last node (by position) where they are
and spaces the others so the gaps between neighbours are equal."""

from __future__ import annotations

from collections.abc import Mapping

Box = tuple[float, float, float, float]  # x, y, width, height (the node's position is x, y)
Position = tuple[float, float]

ALIGNMENTS = ("left", "right", "top", "bottom", "centre", "middle")


def align(boxes: Mapping[str, Box], edge: str) -> dict[str, Position]:
    """New positions: `left`/`right`/`top`/`bottom` to the selection's extreme on that
    side, `centre` (vertical line) or `middle` (horizontal line) to the average."""
    if edge not in ALIGNMENTS:
        raise ValueError(f"unknown alignment {edge!r}")
    out = {}
    if edge == "left":
        x = min(b[0] for b in boxes.values())
        out = {k: (x, b[1]) for k, b in boxes.items()}
    elif edge == "right":
        right = max(b[0] + b[2] for b in boxes.values())
        out = {k: (right - b[2], b[1]) for k, b in boxes.items()}
    elif edge == "top":
        y = min(b[1] for b in boxes.values())
        out = {k: (b[0], y) for k, b in boxes.items()}
    elif edge == "bottom":
        bottom = max(b[1] + b[3] for b in boxes.values())
        out = {k: (b[0], bottom - b[3]) for k, b in boxes.items()}
    elif edge == "centre":
        cx = sum(b[0] + b[2] / 2 for b in boxes.values()) / len(boxes)
        out = {k: (cx - b[2] / 2, b[1]) for k, b in boxes.items()}
    else:
        cy = sum(b[1] + b[3] / 2 for b in boxes.values()) / len(boxes)
        out = {k: (b[0], cy - b[3] / 2) for k, b in boxes.items()}
    return {k: (round(x, 1), round(y, 1)) for k, (x, y) in out.items()}


def distribute(boxes: Mapping[str, Box], axis: str) -> dict[str, Position]:
    """New positions spacing the nodes evenly along `axis` ("horizontal": left to
    right, "vertical": top to bottom): equal gaps, the outermost two kept."""
    if axis not in ("horizontal", "vertical"):
        raise ValueError(f"unknown axis {axis!r}")
    along = 0 if axis == "horizontal" else 1
    order = sorted(boxes, key=lambda k: (boxes[k][along], k))
    first, last = boxes[order[0]], boxes[order[-1]]
    span = last[along] + last[along + 2] - first[along]
    sizes = sum(boxes[k][along + 2] for k in order)
    gap = (span - sizes) / (len(order) - 1) if len(order) > 1 else 0.0
    out: dict[str, Position] = {}
    at = first[along]
    for k in order:
        box = boxes[k]
        out[k] = (round(at, 1), box[1]) if along == 0 else (box[0], round(at, 1))
        at += box[along + 2] + gap
    return out
