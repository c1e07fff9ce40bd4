"""The scene mirrors one graph of the document (NodeItem per node, EdgeItem per wire)
through its signals, ignoring those about other graphs. Gestures end as intents that
the editor turns into undo commands: the scene never edits the document."""

from __future__ import annotations

from PySide6.QtCore import QObject, QPointF, QRect, QRectF, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene

from flowui.canvas.crossings import Crossings
from flowui.canvas.decor_layer import DecorLayer
from flowui.canvas.edge_item import EdgeItem
from flowui.canvas.node_item import NodeItem, PortRef
from flowui.canvas.overview import Overview
from flowui.document import GraphKey, WorkflowDocument

SCENE_MARGIN = 5000.0
NO_CACHE = QGraphicsItem.CacheMode.NoCache
DEVICE_CACHE = QGraphicsItem.CacheMode.DeviceCoordinateCache
NO_CONTENTS = QGraphicsItem.GraphicsItemFlag.ItemHasNoContents

Wire = tuple[str, str]  # ("node.port", "node.port"): a wire's source and target


def _renamed(endpoint: str, old: str, new: str) -> str:
    node, port = endpoint.split(".", 1)
    return f"{new}.{port}" if node == old else endpoint


class GraphScene(QGraphicsScene):
    connect_requested = Signal(str, str)  # source endpoint, target endpoint
    reconnect_requested = Signal(tuple, tuple)  # (old source, old target), (new ...)
    disconnect_requested = Signal(list)  # [(source, target), ...]
    move_finished = Signal(dict)  # node id -> (old position, new position)
    wire_dropped = Signal(object, QPointF)  # PortRef dragged from, scene position
    message = Signal(str)  # a sentence for the status bar (why a wire was refused...)
    rebuilt = Signal()  # every item was made afresh: another graph, or another file

    def __init__(self, doc: WorkflowDocument, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.graph_key: GraphKey = None  # the graph shown
        self.nodes: dict[str, NodeItem] = {}
        self._badged: set[str] = set()  # nodes showing a validation badge
        self.edges: dict[Wire, EdgeItem] = {}
        self._edges_of: dict[str, set[Wire]] = {}
        self._edges_from: dict[str, list[EdgeItem]] = {}  # node id -> wires leaving it
        self._syncing = False
        self.far = False  # zoomed out to blocks: see set_far
        self.overview = Overview()  # what is drawn when far
        self.crossings = Crossings(self)  # wires over nodes they do not touch
        self.decor = DecorLayer(self)  # groups and sticky notes (ui.groups, ui.notes)
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        doc.node_added.connect(self._on_doc_node_added)
        doc.node_removed.connect(self._on_doc_node_removed)
        doc.node_changed.connect(self._on_doc_node_changed)
        doc.node_moved.connect(self._on_doc_node_moved)
        doc.node_renamed.connect(self._on_doc_node_renamed)
        doc.connection_added.connect(self._on_doc_connection_added)
        doc.connection_removed.connect(self._on_doc_connection_removed)
        doc.reset.connect(self._on_doc_reset)
        self.selectionChanged.connect(self._on_selection_changed)
        self.rebuild()

    # --- building ---------------------------------------------------------------------------

    def show_graph(self, graph: GraphKey) -> None:
        """Mirror another graph of the document (the workflow, or a subgraph)."""
        self.graph_key = graph
        self.rebuild()

    def rebuild(self) -> None:
        """Recreate every item from the graph shown (a file was opened, a graph switched)."""
        self.clear()
        self.crossings.clear()
        self.nodes.clear()
        self.edges.clear()
        self._edges_of.clear()
        self._edges_from.clear()
        self._badged.clear()
        self.overview.invalidate()
        # Adding thousands of items with the index live re-sorts the BSP tree each time.
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
        for spec in self.doc.nodes(self.graph_key):
            self._add_node_item(spec.id)
        for c in self.doc.connections(self.graph_key):
            self._add_edge_item(c.from_, c.to)
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        self._grow_scene_rect()
        self.rebuilt.emit()

    def set_far(self, far: bool) -> None:
        """Zoomed out, a node is a filled block: caching its picture costs more than
        drawing it, the more so during a run when every node changes. Close up, the
        cache saves repainting text and ports."""
        if far != self.far:
            self.far = far
            self.overview.invalidate()
            mode = NO_CACHE if far else DEVICE_CACHE
            for item in self.nodes.values():
                item.setCacheMode(mode)
                item.setFlag(NO_CONTENTS, far)
            for edge in self.edges.values():
                self._far_edge(edge, far)
            self.decor.set_far(far)
            self.update()

    @staticmethod
    def _far_edge(edge: EdgeItem, far: bool) -> None:
        """Far out a wire is a line of the overview, not an item: hidden, Qt's frame
        skips it (10,000 items without contents still cost ~5 ms a frame to sort and
        skip). A selected wire stays an item (hiding would deselect it)."""
        edge.setFlag(NO_CONTENTS, far)
        if far != (not edge.isVisible()) and not (far and edge.isSelected()):
            edge.setVisible(not far)

    def restyle(self) -> None:
        """The theme changed: every item takes its colours again (the items' cached
        pixmaps and the far overview's picture are painted afresh)."""
        for item in self.nodes.values():
            item.restyle()
        for edge in self.edges.values():
            edge.restyle()
        for backdrop in self.decor.items.values():  # groups and notes
            backdrop.refresh()
            backdrop.update()
        self.overview.invalidate()
        self.update()

    def _on_selection_changed(self) -> None:
        self.overview.invalidate()  # (which items changed is not said)
        if self.far:  # Qt repaints items it knows have contents; the overview's are not
            self.update()

    def drawBackground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        super().drawBackground(painter, rect)
        # Not the view (it draws its own background): a rendering of the scene elsewhere.
        self.draw_overview(painter, QRectF(rect), kept=False)

    def draw_overview(self, painter: QPainter, rect: QRectF, *, kept: bool = True) -> None:
        """Far out, the nodes and wires (marked without contents) are drawn here;
        `kept`: from the view's kept picture (see flowui.canvas.overview)."""
        if self.far:
            self.overview.paint(painter, self.nodes.values(), self.edges.values(), kept=kept,
                                backdrops=self.decor.items.values())

    def _add_node_item(self, node_id: str) -> NodeItem:
        item = NodeItem(node_id)
        if self.far:
            item.setCacheMode(NO_CACHE)
            item.setFlag(NO_CONTENTS, True)
        item.on_moved = self.node_item_moved
        self._refresh_node(item)
        spec = self.doc.node(self.graph_key, node_id)
        self._syncing = True
        item.setPos(QPointF(*spec.position))
        self._syncing = False
        self.addItem(item)
        self.nodes[node_id] = item
        self.overview.invalidate()
        return item

    def _refresh_node(self, item: NodeItem) -> None:
        spec = self.doc.node(self.graph_key, item.node_id)
        item.update_from(spec, self.doc.registry.get(spec.type),
                         self.doc.ports(self.graph_key, item.node_id))

    def _add_edge_item(self, source: str, target: str) -> EdgeItem:
        src_node, src_port = source.split(".", 1)
        port = self.doc.port(self.graph_key, src_node, src_port, output=True) \
            if src_node in self.nodes else None
        item = EdgeItem(source, target, port.type if port else "any")
        if self.far:
            self._far_edge(item, True)
        self.addItem(item)
        self.overview.invalidate()
        self._file_edge(item)
        self._place_edge(item)
        return item

    def _file_edge(self, edge: EdgeItem) -> None:
        self._edges_from.clear()
        self.edges[edge.key] = edge
        for endpoint in edge.key:
            self._edges_of.setdefault(endpoint.split(".", 1)[0], set()).add(edge.key)

    def _unfile_edge(self, key: Wire) -> EdgeItem | None:
        self._edges_from.clear()
        for endpoint in key:
            self._edges_of.get(endpoint.split(".", 1)[0], set()).discard(key)
        return self.edges.pop(key, None)

    def _place_edge(self, edge: EdgeItem) -> None:
        (src, src_port), (dst, dst_port) = edge.source.split(".", 1), edge.target.split(".", 1)
        a, b = self.nodes.get(src), self.nodes.get(dst)
        if a is None or b is None:
            return
        edge.set_ends(a.port_pos(src_port, True), b.port_pos(dst_port, False))
        self.crossings.wire_moved(edge)

    def _grow_scene_rect(self) -> None:
        bounds = self.itemsBoundingRect()
        self.setSceneRect(bounds.adjusted(-SCENE_MARGIN, -SCENE_MARGIN,
                                          SCENE_MARGIN, SCENE_MARGIN) if not bounds.isNull()
                          else QRectF(-SCENE_MARGIN, -SCENE_MARGIN, 2 * SCENE_MARGIN,
                                      2 * SCENE_MARGIN))

    # --- following the document ------------------------------------------------------------

    def _on_doc_reset(self) -> None:
        self.show_graph(None)  # a newly loaded workflow is shown from its top

    def _on_doc_node_added(self, graph: GraphKey, node_id: str) -> None:
        if graph != self.graph_key:
            return
        self._add_node_item(node_id)
        if not self.sceneRect().contains(self.nodes[node_id].sceneBoundingRect()):
            self._grow_scene_rect()

    def _on_doc_node_removed(self, graph: GraphKey, node_id: str) -> None:
        if graph != self.graph_key:
            return
        item = self.nodes.pop(node_id)
        self.removeItem(item)
        self.crossings.node_removed(item)
        self.overview.invalidate()
        self._edges_of.pop(node_id, None)
        self._edges_from.clear()

    def _on_doc_node_changed(self, graph: GraphKey, node_id: str) -> None:
        if graph != self.graph_key:
            return
        self._refresh_node(self.nodes[node_id])
        self._update_edges_of(node_id)
        self.crossings.node_moved(self.nodes[node_id])  # it may have grown over a wire

    def _on_doc_node_moved(self, graph: GraphKey, node_id: str) -> None:
        if graph != self.graph_key:
            return
        item = self.nodes[node_id]
        pos = QPointF(*self.doc.node(graph, node_id).position)
        if item.pos() != pos:
            self._syncing = True
            item.setPos(pos)
            self._syncing = False
            self._update_edges_of(node_id)
            if not self.sceneRect().contains(item.sceneBoundingRect()):
                self._grow_scene_rect()  # moved far (an auto-layout): still reachable

    def _on_doc_node_renamed(self, graph: GraphKey, old: str, new: str) -> None:
        """The same items under the new id: selection, caches and badges stay."""
        if graph != self.graph_key:
            return
        item = self.nodes.pop(old)
        item.node_id = new
        self.nodes[new] = item
        if old in self._badged:
            self._badged.discard(old)
            self._badged.add(new)
        for key in list(self._edges_of.get(old, ())):
            edge = self._unfile_edge(key)
            if edge is not None:
                edge.set_endpoints(_renamed(edge.source, old, new),
                                   _renamed(edge.target, old, new))
                self._file_edge(edge)
        self._edges_of.pop(old, None)
        self._edges_from.clear()
        self._refresh_node(item)

    def _on_doc_connection_added(self, graph: GraphKey, source: str, target: str) -> None:
        if graph == self.graph_key:
            self._add_edge_item(source, target)

    def _on_doc_connection_removed(self, graph: GraphKey, source: str, target: str) -> None:
        if graph != self.graph_key:
            return
        item = self._unfile_edge((source, target))
        if item is not None:
            self.crossings.wire_removed(item)
            self.removeItem(item)
            self.overview.invalidate()

    # --- from items ---------------------------------------------------------------------------

    def node_item_moved(self, item: NodeItem) -> None:
        if self.far:
            self.update()  # the overview draws it: Qt does not know it moved a picture
        self.crossings.node_moved(item)
        if not self._syncing:
            self._update_edges_of(item.node_id)

    def place_nodes(self, positions: dict[str, QPointF]) -> None:
        """Move items without the document (an animation's frame): each wire touching
        them is placed once, not once per end."""
        self._syncing = True
        try:
            wires: set[Wire] = set()
            for node_id, pos in positions.items():
                item = self.nodes.get(node_id)
                if item is not None:
                    item.setPos(pos)
                    wires.update(self._edges_of.get(node_id, ()))
        finally:
            self._syncing = False
        for key in wires:
            self._place_edge(self.edges[key])

    def _update_edges_of(self, node_id: str) -> None:
        for key in self._edges_of.get(node_id, ()):
            self._place_edge(self.edges[key])

    # --- queries for gestures ----------------------------------------------------------------

    def port_at(self, pos: QPointF) -> PortRef | None:
        for item in self.items(QRectF(pos.x() - 10, pos.y() - 10, 20, 20)):
            if isinstance(item, NodeItem):
                ref = item.port_at(pos)
                if ref is not None:
                    return ref
        return None

    def edges_from(self, node_id: str) -> list[EdgeItem]:
        """The wires leaving a node (the run view lights them as values pass; asked
        for each node at every change of its state, so kept until the wires change)."""
        found = self._edges_from.get(node_id)
        if found is None:
            found = self._edges_from[node_id] = [
                self.edges[key] for key in self._edges_of.get(node_id, ())
                if key[0].split(".", 1)[0] == node_id]
        return found

    def selected_node_ids(self) -> list[str]:
        return [i.node_id for i in self.selectedItems() if isinstance(i, NodeItem)]

    def selected_edges(self) -> list[Wire]:
        return [i.key for i in self.selectedItems() if isinstance(i, EdgeItem)]

    def set_port_hints(self, hints: dict[str, bool]) -> None:
        """Highlight compatible ports and dim the others while a wire is dragged."""
        for item in self.nodes.values():
            own = {k: v for k, v in hints.items() if k.split(".", 1)[0] == item.node_id}
            if own or item.port_hint:
                item.port_hint = own
                item.update()

    def set_problems(self, problems: dict[str, list[str]]) -> None:
        """Validation badges: node id -> messages (an empty dict clears them). Only the
        nodes whose badge comes or goes are touched: a big graph has few problems."""
        for node_id in self._badged | problems.keys():
            item = self.nodes.get(node_id)
            if item is not None:
                item.set_problems(problems.get(node_id, []))
        self._badged = {node_id for node_id in problems if node_id in self.nodes}
