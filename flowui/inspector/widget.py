"""InspectorWidget: the editor's side panel showing the selected node's form, or the
workflow's properties when nothing is selected, in a scroll area.

It follows a node through a rename (the document removes the node and adds it
back under the new id in one go) and falls back to the workflow page when the
node is deleted.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtWidgets import QFrame, QScrollArea, QVBoxLayout, QWidget

from engine.workflow.model import NodeSpec
from flowui.document import WorkflowDocument
from flowui.inspector.node_form import NodeForm
from flowui.inspector.workflow_form import WorkflowForm

PANEL_STYLE = "QWidget#inspectorPage { background: #11161d; }"


class InspectorWidget(QWidget):
    def __init__(self, doc: WorkflowDocument, undo_stack: Any,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc, self.undo_stack = doc, undo_stack
        self.page: NodeForm | WorkflowForm | None = None
        self._lost: NodeSpec | None = None  # the shown node, just removed (maybe renamed)
        self.scroll_area = QScrollArea()
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.scroll_area)
        self.setMinimumWidth(300)
        doc.node_removed.connect(self._node_removed)
        doc.node_added.connect(self._node_added)
        doc.reset.connect(self._document_reset)
        self.show_node(None)

    def sizeHint(self) -> QSize:
        return QSize(360, 640)

    @property
    def current_node(self) -> str | None:
        return self.page.node_id if isinstance(self.page, NodeForm) else None

    def show_node(self, node_id: str | None, *, force: bool = False) -> None:
        """Show a node's form (None: the workflow's properties)."""
        page = self.page
        if node_id is None and not force and isinstance(page, NodeForm) and \
                not self.doc.has_node(page.node_id):
            # The shown node is being removed and the canvas selection went with it:
            # whether it comes back under a new id (a rename) is known once the command
            # is done, so the page stays until then.
            self._expect_return(page)
            return
        if node_id is not None and not self.doc.has_node(node_id):
            node_id = None
        if not force and self.page is not None and (
                node_id == self.current_node and (node_id is not None
                                                  or isinstance(self.page, WorkflowForm))):
            return  # already shown: keep the widgets (and the user's place in them)
        self._open(node_id)

    def _open(self, node_id: str | None, *, keep_edits: bool = True) -> None:
        self._lost = None
        if self.page is not None:
            self.page.detach(keep_edits=keep_edits)
        self.page = (NodeForm(self.doc, self.undo_stack, node_id) if node_id is not None
                     else WorkflowForm(self.doc, self.undo_stack))
        holder = QWidget()
        holder.setObjectName("inspectorPage")
        holder.setStyleSheet(PANEL_STYLE)
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

    def _document_reset(self) -> None:
        # What the old page still holds belongs to the document that was replaced.
        self._open(None, keep_edits=False)

    def _node_removed(self, node_id: str) -> None:
        page = self.page
        if isinstance(page, NodeForm) and page.node_id == node_id:
            self._expect_return(page)

    def _expect_return(self, page: NodeForm) -> None:
        if self._lost is None:
            self._lost = page.spec
            QTimer.singleShot(0, self, self._settle)  # not if the panel is gone by then

    def _node_added(self, node_id: str) -> None:
        lost, page = self._lost, self.page
        if lost is None or not isinstance(page, NodeForm):
            return
        spec = self.doc.node(node_id)
        if spec.model_copy(update={"id": lost.id}) == lost:  # the same node, renamed
            self._lost = None
            page.retarget(node_id)

    def _settle(self) -> None:
        if self._lost is not None:  # it did not come back: it was deleted
            self._lost = None
            self.show_node(None, force=True)
