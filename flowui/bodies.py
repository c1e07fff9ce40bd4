"""The subgraph a node type runs, as its `BodySpec` declares it: the skeleton a new body
starts with, so any loop-like type (ours or a plugin's) gets a body wired the way it
calls it."""

from __future__ import annotations

from engine.core.sdk import BodySpec
from engine.workflow.model import Connection, NodeSpec, Subgraph

# The file format's own body plumbing, not a node pack's choice: FORMAT.md (and
# BodySpec's docstring) say a body receives values through flow.input nodes and returns
# them through flow.output nodes, matched by name.
INPUT_TYPE = "flow.input"
OUTPUT_TYPE = "flow.output"


def skeleton(body: BodySpec) -> Subgraph:
    """A new body wired the way the calling node expects: its inputs in, its outputs
    out, the first input wired to the first output."""
    ins, outs = body.inputs, body.outputs
    nodes = [NodeSpec(id=name, type=INPUT_TYPE, position=(0, 140 * i), config={"name": name})
             for i, name in enumerate(ins)]
    out_ids = [f"out_{name}" if name in ins else name for name in outs]
    nodes += [NodeSpec(id=out_id, type=OUTPUT_TYPE, position=(420, 140 * i),
                       config={"name": name})
              for i, (out_id, name) in enumerate(zip(out_ids, outs, strict=True))]
    wires = [Connection.model_validate({"from": f"{ins[0]}.value", "to": f"{out_ids[0]}.value"})
             ] if ins and outs else []
    return Subgraph(nodes=nodes, connections=wires)
