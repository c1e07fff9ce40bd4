"""The inspector: the side panel that edits the selected node, or the workflow itself
when nothing is selected, through undo commands only."""

from __future__ import annotations

from flowui.inspector.widget import InspectorWidget

__all__ = ["InspectorWidget"]
