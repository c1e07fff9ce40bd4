"""Actions on the selected nodes: rename, disable/enable, create a subgraph from them,
ungroup a sub-workflow; in the Edit and Graph menus, the canvas's context menu and the
command palette, enabled for what is selected."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QInputDialog, QLineEdit, QWidget

from engine.workflow.model import SUBWORKFLOW_TYPE
from flowui.actions import make_action
from flowui.editor import Editor


class NodeActions(QObject):
    """The actions, their enabled states, and what they ask; messages go out through the
    editor's (the status bar's) signal."""

    def __init__(self, editor: Editor, window: QWidget, open_body: QAction) -> None:
        super().__init__(window)
        self.editor, self.window, self.open_body = editor, window, open_body
        self.actions: dict[str, QAction] = {
            "rename": make_action(window, "&Rename…", self.rename, "F2", None,
                                  "Give the selected node a title of its own"),
            "toggle_disabled": make_action(
                window, "Disa&ble", self.toggle_disabled, "Ctrl+E", None,
                "Disable the selected nodes (a run skips them and what depends on them), "
                "or enable them again"),
            "create_subgraph": make_action(
                window, "Create Subgraph from &Selection…", self.create_subgraph,
                "Ctrl+Alt+G", "subworkflow",
                "Move the selected nodes into a new subgraph run by one Sub-workflow node"),
            "ungroup": make_action(
                window, "&Ungroup Sub-workflow", self.ungroup, "Ctrl+Alt+Shift+G", None,
                "Put the nodes of the selected Sub-workflow node's subgraph in its place"),
        }
        # Once per burst of changes (a paste of 1,000 nodes is 1,000 signals); the
        # context menu refreshes at once before it shows.
        self._later = QTimer(self, singleShot=True, interval=0)
        self._later.timeout.connect(self.refresh)
        doc = editor.doc
        for signal in (editor.scene.selectionChanged, doc.node_changed, doc.node_removed,
                       doc.node_added, doc.reset):
            signal.connect(self._later.start)
        self.refresh()

    def _selected(self) -> list[str]:
        return self.editor.scene.selected_node_ids()

    def refresh(self, *_: object) -> None:
        """Enable what applies to the selection; Disable reads Enable when every selected
        node is disabled already."""
        ids = self._selected()
        doc, graph = self.editor.doc, self.editor.current_graph
        known = [i for i in ids if doc.has_node(graph, i)]
        all_off = bool(known) and all(doc.node(graph, i).disabled for i in known)
        a = self.actions
        a["toggle_disabled"].setText("Ena&ble" if all_off else "Disa&ble")
        a["toggle_disabled"].setEnabled(bool(known))
        a["rename"].setEnabled(len(known) == 1)
        a["create_subgraph"].setEnabled(bool(known))
        one = doc.node(graph, known[0]) if len(known) == 1 else None
        a["ungroup"].setEnabled(one is not None and one.type == SUBWORKFLOW_TYPE
                                and not one.config.get("path")
                                and one.config.get("subgraph") in doc.workflow.subgraphs)
        cls = doc.registry.get(one.type) if one is not None else None
        self.open_body.setEnabled(cls is not None and cls.body is not None
                                  and cls.runs_own_body(one.config if one else {}))

    def rename(self) -> None:
        ids = self._selected()
        if len(ids) != 1:
            self.editor.message.emit("Select one node to rename")
            return
        graph = self.editor.current_graph
        spec = self.editor.doc.node(graph, ids[0])
        cls = self.editor.doc.registry.get(spec.type)
        shown = spec.title or (cls.title if cls else spec.type)
        text, ok = QInputDialog.getText(
            self.window, "Rename node", f"Title of {ids[0]} (empty: the type's own name):",
            QLineEdit.EchoMode.Normal, shown)
        if ok and text.strip() != (spec.title or ""):
            self.editor.set_node_field(graph, ids[0], "title", text.strip() or None)

    def toggle_disabled(self) -> None:
        ids = self._selected()
        if not ids:
            self.editor.message.emit("Select the nodes to disable or enable first")
            return
        doc, graph = self.editor.doc, self.editor.current_graph
        self.editor.set_disabled(ids, not all(doc.node(graph, i).disabled for i in ids))

    def create_subgraph(self) -> None:
        """Ask for the new subgraph's name until it is a good one (what was typed stays,
        with why it cannot be used) or the user cancels."""
        ids = self._selected()
        if not ids:
            self.editor.message.emit("Select the nodes to put in a subgraph first")
            return
        text, why = self.editor.doc.unique_subgraph_name("group"), ""
        while True:
            name, ok = QInputDialog.getText(
                self.window, "Create subgraph from selection",
                why + "Name of the new subgraph (letters, digits, _ and -):",
                QLineEdit.EchoMode.Normal, text)
            if not ok:
                return
            problem = self.editor.subgraph_name_problem(name.strip())
            if problem is None:
                self.editor.create_subgraph(ids, name.strip())
                return
            text, why = name, problem + "\n\n"

    def ungroup(self) -> None:
        ids = self._selected()
        if len(ids) != 1:
            self.editor.message.emit("Select one Sub-workflow node to ungroup")
            return
        self.editor.ungroup(ids[0])
