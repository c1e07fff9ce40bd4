"""Moving between the workflow and its subgraphs (the bodies of loops and sub-workflows):
the graph selector in the toolbar, and opening (or creating) a node's body."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox

from engine.workflow.model import Connection, NodeSpec, Subgraph
from flowui.commands import AddSubgraphCommand, SetNodeCommand
from flowui.document import WorkflowDocument

WORKFLOW_LABEL = "Workflow"

# The body a new subgraph of each kind starts with: flow.input names -> flow.output names.
BODY_SKELETONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "control.for_each": (("item", "index"), ("result",)),
    "control.loop": (("state", "iteration"), ("state",)),
    "flow.subworkflow": ((), ()),
}


def body_field(type_id: str) -> str | None:
    """The config field naming a node type's body, or None when it has none."""
    if type_id in ("control.for_each", "control.loop"):
        return "body"
    if type_id == "flow.subworkflow":
        return "subgraph"
    return None


def skeleton(type_id: str) -> Subgraph:
    """A new body wired the way the calling node expects: inputs in, outputs out."""
    ins, outs = BODY_SKELETONS.get(type_id, ((), ()))
    nodes = [NodeSpec(id=name, type="flow.input", position=(0, 140 * i),
                      config={"name": name}) for i, name in enumerate(ins)]
    out_ids = [f"out_{name}" if name in ins else name for name in outs]
    nodes += [NodeSpec(id=out_id, type="flow.output", position=(420, 140 * i),
                       config={"name": name}) for i, (out_id, name) in enumerate(zip(
                           out_ids, outs, strict=True))]
    wires = [Connection.model_validate({"from": f"{ins[0]}.value", "to": f"{out_ids[0]}.value"})] \
        if ins and outs else []
    return Subgraph(nodes=nodes, connections=wires)


def open_body(doc: WorkflowDocument, stack, node_id: str) -> str | None:
    """Show the body of a loop / for-each / sub-workflow node, creating it (named after
    the node, wired to it, one undo step) when the node names none that exists.
    Returns the subgraph shown, or None for nodes without a body."""
    spec = doc.node(node_id)
    field = body_field(spec.type)
    if field is None:
        return None
    named = spec.config.get(field)
    if spec.type == "flow.subworkflow" and spec.config.get("path"):
        return None  # its body is another file: open that file instead
    if isinstance(named, str) and named in doc.workflow.subgraphs:
        doc.show_graph(named)
        return named
    name = named if isinstance(named, str) and named and "{{" not in named \
        else unique_subgraph_name(doc, f"{node_id}_body")
    stack.beginMacro(f"Create body {name} for {node_id}")
    stack.push(AddSubgraphCommand(doc, name, skeleton(spec.type)))
    if named != name:
        stack.push(SetNodeCommand(doc, node_id, field=f"config.{field}", value=name))
    stack.endMacro()
    doc.show_graph(name)
    return name


def unique_subgraph_name(doc: WorkflowDocument, base: str) -> str:
    name, n = base, 2
    while name in doc.workflow.subgraphs:
        name, n = f"{base}{n}", n + 1
    return name


class GraphSelector(QComboBox):
    """The toolbar's list of graphs: the workflow, then each subgraph."""

    def __init__(self, doc: WorkflowDocument) -> None:
        super().__init__()
        self.doc = doc
        self.setMinimumWidth(180)
        self.setToolTip("The graph on the canvas: the workflow or one of its subgraphs")
        self._filling = False
        doc.subgraphs_changed.connect(self.refill)
        doc.graph_shown.connect(lambda _key: self.refill())
        doc.reset.connect(self.refill)
        self.currentIndexChanged.connect(self._on_index_changed)
        self.refill()

    def refill(self) -> None:
        self._filling = True
        self.clear()
        self.addItem(WORKFLOW_LABEL, None)
        for name in self.doc.workflow.subgraphs:
            self.addItem(f"↳ {name}", name)
        index = self.findData(self.doc.graph_key, Qt.ItemDataRole.UserRole)
        self.setCurrentIndex(max(index, 0))
        self._filling = False

    def _on_index_changed(self, index: int) -> None:
        if not self._filling and index >= 0:
            self.doc.show_graph(self.itemData(index))
