"""The undo command for groups and sticky notes, made only by the editor: a graph's
`ui` swapped for an edited copy (flowui.decor makes it), so undo puts back exactly
what was there, entries the editor could not read included."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QUndoCommand

from flowui.document import GraphKey, WorkflowDocument


class EditDecorCommand(QUndoCommand):
    """Add, move, resize, rename, recolour or delete groups and notes of one graph
    (`text` names which). Moving a group with its nodes is this and a MoveNodesCommand
    in one macro."""

    def __init__(self, doc: WorkflowDocument, graph: GraphKey, ui: dict[str, Any],
                 text: str) -> None:
        super().__init__(text)
        self.doc = doc
        self.graph = graph
        self.before = doc.ui(graph)  # never changed in place: every edit makes a new one
        self.after = ui

    def redo(self) -> None:
        self.doc.set_ui(self.graph, self.after)

    def undo(self) -> None:
        self.doc.set_ui(self.graph, self.before)
