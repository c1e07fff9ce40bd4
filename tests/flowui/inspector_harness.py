"""Shared pieces of the inspector tests: a document on the installed node types, a
harness that shows one node's form, and small widget helpers."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtWidgets import QApplication, QLineEdit

from engine.core.registry import Registry
from engine.workflow import file as workflow_file
from flowui import theme
from flowui.canvas.scene import GraphScene
from flowui.document import WorkflowDocument
from flowui.editor import Editor
from flowui.inspector import InspectorWidget
from flowui.inspector.node_form import NodeForm

# A Qt warning (a bad tab order, a broken style) fails the test like an exception does.
pytestmark = [pytest.mark.qt_log_level_fail("WARNING"),
              pytest.mark.qt_log_ignore("propagateSizeHints")]  # the offscreen platform's


@cache
def registry() -> Registry:
    return Registry.discover(plugins=False)


class Harness:
    def __init__(self, qtbot: Any, nodes: list[dict[str, Any]],
                 wires: tuple[tuple[str, str], ...] = (), **extra: Any) -> None:
        app = QApplication.instance()
        if not theme.applied(app):  # re-styling re-polishes every widget
            theme.apply(app)
        wf = workflow_file.from_data({
            "format": "flowui-workflow", "version": 1, "nodes": nodes,
            "connections": [{"from": a, "to": b} for a, b in wires], **extra})
        self.doc = WorkflowDocument(registry(), wf)
        self.editor = Editor(self.doc, GraphScene(self.doc))
        self.stack = self.editor.undo_stack
        self.widget = InspectorWidget(self.editor)
        qtbot.addWidget(self.widget)
        self.widget.resize(360, 800)
        self.widget.show()

    @property
    def page(self) -> Any:
        return self.widget.page

    def node(self, node_id: str | None = None) -> NodeForm:
        if node_id is not None:
            self.widget.show_node(node_id)
        assert isinstance(self.page, NodeForm)
        return self.page

    def config(self, node_id: str) -> dict[str, Any]:
        return self.doc.node(None, node_id).config


@pytest.fixture
def make(qtbot):
    return lambda nodes, wires=(), **extra: Harness(qtbot, nodes, wires, **extra)


def one(type_id: str, config: dict[str, Any] | None = None, node_id: str = "n",
        **spec: Any) -> dict[str, Any]:
    return {"id": node_id, "type": type_id, "config": config or {}, **spec}


def error_of(form: NodeForm, key: str) -> str:
    row = form.rows[key].row
    return "" if row.error.isHidden() else row.error.text()


def spin_line(spin: Any) -> QLineEdit:
    return spin.findChild(QLineEdit)
