"""Moving between the workflow and its subgraphs (the bodies of loops and sub-workflows):
the graph selector in the toolbar and the Graph menu's actions."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QComboBox, QInputDialog, QMessageBox, QWidget

from flowui.actions import make_action
from flowui.document import GraphKey
from flowui.editor import Editor

WORKFLOW_LABEL = "Workflow"


class GraphSelector(QComboBox):
    """The toolbar's list of graphs: the workflow, then each subgraph."""

    def __init__(self, editor: Editor) -> None:
        super().__init__()
        self.editor = editor
        self.setMinimumWidth(180)
        self.setToolTip("The graph on the canvas: the workflow or one of its subgraphs")
        self._filling = False
        doc = editor.doc
        doc.subgraph_added.connect(self.refill)
        doc.subgraph_removed.connect(self.refill)
        doc.reset.connect(self.refill)
        editor.graph_shown.connect(self.refill)
        self.currentIndexChanged.connect(self._on_index_changed)
        self.refill()

    def refill(self, *_: object) -> None:
        self._filling = True
        self.clear()
        self.addItem(WORKFLOW_LABEL, None)
        for name in self.editor.doc.workflow.subgraphs:
            self.addItem(f"↳ {name}", name)
        index = self.findData(self.editor.current_graph, Qt.ItemDataRole.UserRole)
        self.setCurrentIndex(max(index, 0))
        self._filling = False

    def _on_index_changed(self, index: int) -> None:
        if not self._filling and index >= 0:
            self.editor.show_graph(self.itemData(index))


class GraphActions(QObject):
    """Back to the workflow, into the selected node's body, a new subgraph, delete the
    shown one; enabled for the graph on the canvas."""

    message = Signal(str)  # for the status bar

    def __init__(self, editor: Editor, window: QWidget) -> None:
        super().__init__(window)
        self.editor, self.window = editor, window
        self.actions: dict[str, QAction] = {
            "show_workflow": make_action(window, "Show &Workflow", lambda: editor.show_graph(None),
                                         "Ctrl+Up", "subworkflow",
                                         "Back from a subgraph to the workflow"),
            "open_body": make_action(window, "Open &Body of Selected Node",
                                     self.open_selected_body, "Ctrl+Down", None,
                                     "Edit the subgraph a loop or sub-workflow node runs"),
            "new_subgraph": make_action(window, "&New Subgraph…", self.new_subgraph, None, None,
                                        "Add an empty subgraph and show it"),
            "delete_subgraph": make_action(window, "&Delete This Subgraph", self.delete_subgraph),
        }
        editor.graph_shown.connect(self._enable)
        editor.doc.reset.connect(lambda: self._enable(None))
        self._enable(editor.current_graph)

    def _enable(self, graph: GraphKey) -> None:
        self.actions["delete_subgraph"].setEnabled(graph is not None)
        self.actions["show_workflow"].setEnabled(graph is not None)

    def open_selected_body(self) -> None:
        ids = self.editor.scene.selected_node_ids()
        if len(ids) != 1 or self.editor.open_body(ids[0]) is None:
            self.message.emit("Select one node that runs a body (a loop, a for-each, a "
                              "sub-workflow) first")

    def new_subgraph(self) -> None:
        """Ask for a name until it is a good one (what was typed stays, with why it
        cannot be used) or the user cancels."""
        text, why = self.editor.doc.unique_subgraph_name("body"), ""
        while True:
            name, ok = QInputDialog.getText(self.window, "New subgraph",
                                            why + "Name (letters, digits, _ and -):", text=text)
            if not ok:
                return
            problem = self.editor.subgraph_name_problem(name.strip())
            if problem is None:
                self.editor.add_subgraph(name.strip())
                return
            text, why = name, problem + "\n\n"

    def delete_subgraph(self) -> None:
        """Delete the subgraph shown, after asking when nodes still run it as their body
        (undo brings it back)."""
        name = self.editor.current_graph
        if name is None:
            self.message.emit("The workflow itself cannot be deleted: show a subgraph first")
            return
        users = self.editor.subgraph_users(name)
        if users:
            listed = ", ".join(node if graph is None else f"{node} (in {graph})"
                               for graph, node in users[:6])
            more = f" and {len(users) - 6} more" if len(users) > 6 else ""
            they = "it" if len(users) == 1 else "them"
            answer = QMessageBox.question(
                self.window, "Delete a subgraph in use",
                f"Subgraph {name!r} is the body of {listed}{more}. Deleting it leaves {they} "
                "without a body, and the workflow cannot run until each gets one.\n\n"
                "Delete it anyway? (Edit ▸ Undo brings it back.)",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.editor.remove_subgraph(name)
