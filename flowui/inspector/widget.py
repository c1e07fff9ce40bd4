"""InspectorWidget: the editor's side panel showing the selected node's form, or the
properties of the graph on the canvas when nothing is selected, in a scroll area; other
tabs (the run's view of the node) are added beside it.

A renamed node keeps its page (retargeted to the new id); a deleted node's page
gives way to the graph's once the edit that deleted it is over.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QFrame, QScrollArea, QTabWidget, QVBoxLayout, QWidget

from flowui import theme
from flowui.document import GraphKey
from flowui.editor import Editor
from flowui.inspector.node_form import NodeForm
from flowui.inspector.workflow_form import WorkflowForm


def panel_color() -> QColor:
    """The page's background (a palette: a style sheet here made every widget of every
    form be polished by it, ~15% of a form)."""
    look = theme.current()
    return theme.mix(look.panel, look.window, 0.4)


class InspectorWidget(QWidget):
    def __init__(self, editor: Editor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = editor
        self.doc = editor.doc
        self.page: NodeForm | WorkflowForm | None = None
        self.scroll_area = QScrollArea()
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.scroll_area, "Properties")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        self.setMinimumWidth(300)
        self.doc.node_removed.connect(self._on_doc_node_removed)
        self.doc.node_renamed.connect(self._on_doc_node_renamed)
        self.doc.reset.connect(self._on_doc_reset)
        editor.graph_shown.connect(self._on_editor_graph_shown)
        self.show_node(None)

    def changeEvent(self, event: QEvent) -> None:
        """A theme switch: the page is built again in the new colours (its sheets and
        badges were made from the old theme)."""
        if event.type() == QEvent.Type.PaletteChange and self.page is not None:
            QTimer.singleShot(0, self, self._rebuild)
        super().changeEvent(event)

    def _rebuild(self) -> None:
        if self.page is not None:
            self._open(self.page.graph, self.current_node)

    def sizeHint(self) -> QSize:
        return QSize(360, 640)

    def add_tab(self, widget: QWidget, title: str) -> None:
        self.tabs.addTab(widget, title)

    def show_run_tab(self) -> None:
        if self.tabs.count() > 1:
            self.tabs.setCurrentIndex(1)

    @property
    def current_node(self) -> str | None:
        return self.page.node_id if isinstance(self.page, NodeForm) else None

    def show_node(self, node_id: str | None, *, force: bool = False) -> None:
        """Show the form of a node of the graph on the canvas (None: the graph's properties)."""
        graph = self.editor.current_graph
        page = self.page
        if node_id is None and not force and isinstance(page, NodeForm) and not page.live():
            return  # its node was just deleted: `_on_doc_node_removed` has it in hand
        if node_id is not None and not self.doc.has_node(graph, node_id):
            node_id = None
        if not force and page is not None and page.graph == graph and (
                node_id == self.current_node and (node_id is not None
                                                  or isinstance(page, WorkflowForm))):
            return  # already shown: keep the widgets (and the user's place in them)
        self._open(graph, node_id)

    def _open(self, graph: GraphKey, node_id: str | None, *, keep_edits: bool = True) -> None:
        if self.page is not None:
            self.page.detach(keep_edits=keep_edits)
        self.page = (NodeForm(self.editor, graph, node_id) if node_id is not None
                     else WorkflowForm(self.editor, graph))
        holder = QWidget()
        holder.setObjectName("inspectorPage")
        holder.setAutoFillBackground(True)
        palette = holder.palette()
        palette.setColor(QPalette.ColorRole.Window, panel_color())
        holder.setPalette(palette)
        box = QVBoxLayout(holder)
        box.setContentsMargins(14, 12, 12, 16)
        box.addWidget(self.page)
        old = self.scroll_area.takeWidget()
        self.scroll_area.setWidget(holder)
        if old is not None:
            # Later, not now: this may run inside a signal of a widget on the old page
            # (Enter in the id field renames; the canvas then changes the selection).
            old.hide()
            old.deleteLater()
        self.page.order_tabs()

    # --- following the document and the canvas -------------------------------------------

    def _on_doc_reset(self) -> None:
        # What the old page still holds belongs to the document that was replaced.
        self._open(None, None, keep_edits=False)

    def _on_editor_graph_shown(self, graph: GraphKey) -> None:
        page = self.page
        if not (isinstance(page, WorkflowForm) and page.graph == graph):  # not shown yet
            self._open(graph, None)

    def _on_doc_node_renamed(self, graph: GraphKey, old: str, new: str) -> None:
        page = self.page
        if isinstance(page, NodeForm) and (page.graph, page.node_id) == (graph, old):
            page.retarget(new)

    def _on_doc_node_removed(self, graph: GraphKey, node_id: str) -> None:
        page = self.page
        if isinstance(page, NodeForm) and (page.graph, page.node_id) == (graph, node_id):
            # Once the edit is over: a field of the page may be losing the focus right
            # now, and must find its node gone rather than its page half torn down.
            QTimer.singleShot(0, self, self._on_node_gone)

    def _on_node_gone(self) -> None:
        page = self.page
        if isinstance(page, NodeForm) and not page.live():
            self._open(self.editor.current_graph, None)
