"""Editing subgraphs (the bodies of loops and sub-workflows) in the editor, and building a
workflow with a loop body through the editor alone, then running what was saved."""

from __future__ import annotations

import json

from PySide6.QtCore import QPointF, Qt

from engine import Registry, run_file
from engine.workflow import file as workflow_file
from tests.flowui.conftest import drag


def port(window, node_id: str, name: str, output: bool) -> QPointF:
    return window.scene.nodes[node_id].port_pos(name, output)


def test_double_click_creates_a_wired_body_and_shows_it_in_one_undo_step(window):
    window.editor.add_node("control.for_each", QPointF(0, 0))
    steps = window.stack.count()
    window._on_view_node_double_clicked("for_each")
    shown = window.editor.current_graph
    assert shown == "for_each_body"
    assert window.doc.workflow.subgraphs["for_each_body"] is window.doc.graph(shown)
    ids = {n.id: n.config for n in window.doc.nodes(shown)}
    assert ids == {"item": {"name": "item"}, "index": {"name": "index"},
                   "result": {"name": "result"}}
    assert [(c.from_, c.to) for c in window.doc.connections(shown)] == [("item.value",
                                                                         "result.value")]
    assert set(window.scene.nodes) == {"item", "index", "result"}  # the canvas shows the body
    assert "for_each_body" in window.windowTitle()
    assert window.graph_selector.currentText().endswith("for_each_body")
    assert window.stack.count() == steps + 1
    window.editor.show_graph(None)
    assert window.doc.node(None, "for_each").config["body"] == "for_each_body"
    window.stack.undo()
    assert "for_each_body" not in window.doc.workflow.subgraphs
    assert "body" not in window.doc.node(None, "for_each").config


def test_an_edit_made_in_a_body_is_undone_there(window):
    window.editor.add_node("control.loop", QPointF(0, 0))
    window._on_view_node_double_clicked("loop")
    window.editor.add_node("time.delay", QPointF(200, 300))
    assert window.doc.has_node(window.editor.current_graph, "delay")
    window.editor.show_graph(None)
    assert not window.doc.has_node(window.editor.current_graph, "delay")
    window.stack.undo()  # undo takes the user to the body it changes
    assert window.editor.current_graph == "loop_body" and \
        not window.doc.has_node(window.editor.current_graph, "delay")
    window.stack.redo()
    assert window.doc.has_node(window.editor.current_graph, "delay")


def test_graph_selector_and_menu_actions(window, monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("helper", True)))
    window.actions_by_name["new_subgraph"].trigger()
    assert window.editor.current_graph == "helper" and window.doc.nodes("helper") == []
    window.graph_selector.setCurrentIndex(0)
    assert window.editor.current_graph is None
    window.graph_selector.setCurrentIndex(window.graph_selector.findText("↳ helper"))
    assert window.editor.current_graph == "helper"
    window.actions_by_name["delete_subgraph"].trigger()
    assert window.editor.current_graph is None and "helper" not in window.doc.workflow.subgraphs
    window.stack.undo()
    assert "helper" in window.doc.workflow.subgraphs
    # A bad name is asked again with what was typed and why it cannot be used.
    asked: list[tuple[str, str]] = []
    answers = iter([("bad name", True), ("helper", True), ("bad name", False)])

    def get_text(parent, title, label, text=""):
        asked.append((label, text))
        return next(answers)

    monkeypatch.setattr(QInputDialog, "getText", staticmethod(get_text))
    window.actions_by_name["new_subgraph"].trigger()
    assert [text for _, text in asked] == ["body", "bad name", "helper"]
    assert "letters, digits, _ and - only" in asked[1][0]
    assert "already a subgraph named 'helper'" in asked[2][0]
    assert set(window.doc.workflow.subgraphs) == {"helper"}  # cancelled: nothing added


def test_deleting_a_body_still_in_use_asks_first(window, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    window.editor.add_node("control.for_each", QPointF(0, 0))
    window._on_view_node_double_clicked("for_each")  # creates and shows its body
    window.answers = [QMessageBox.StandardButton.No]
    window.actions_by_name["delete_subgraph"].trigger()
    assert "for_each_body" in window.doc.workflow.subgraphs  # kept
    assert "is the body of for_each" in window.asked[-1]
    window.answers = [QMessageBox.StandardButton.Yes]
    window.actions_by_name["delete_subgraph"].trigger()
    assert "for_each_body" not in window.doc.workflow.subgraphs
    assert window.editor.current_graph is None
    assert not window.actions_by_name["delete_subgraph"].isEnabled()  # nothing to delete


def test_validation_badges_inside_a_body(window, qtbot):
    window.editor.add_node("control.for_each", QPointF(0, 0))
    window._on_view_node_double_clicked("for_each")
    window.editor.add_node("transform.json_parse", QPointF(200, 300))  # its input is unwired
    window.validation.validate_now()
    assert window.scene.nodes["json_parse"].problems
    assert not window.scene.nodes["item"].problems
    window.editor.show_graph(None)
    window.validation.validate_now()
    assert "json_parse" not in window.scene.nodes


def test_a_loop_workflow_built_with_the_editor_alone_runs(window, tmp_path):
    """Build [1, 2, 3] -> for_each(body: item * 10) -> output, save, reopen, run."""
    ed, doc = window.editor, window.doc
    window.view.resetTransform()
    ed.add_node("flow.constant", QPointF(0, 0))
    ed.set_node_field(None, "constant", "config.value", [1, 2, 3])
    ed.add_node("control.for_each", QPointF(320, 0))
    ed.add_node("flow.output", QPointF(640, 0))
    ed.set_node_field(None, "output", "config.name", "tens")
    window.view.centerOn(QPointF(400, 60))
    drag(window.view, port(window, "constant", "value", True),
         port(window, "for_each", "items", False))
    drag(window.view, port(window, "for_each", "results", True),
         port(window, "output", "value", False))
    window._on_view_node_double_clicked("for_each")  # the body, pre-wired item -> result
    ed.add_node("transform.template", QPointF(300, 220))
    ed.set_node_field("for_each_body", "template", "config.template", "{{ ports.value * 10 }}")
    window.view.centerOn(QPointF(250, 60))
    drag(window.view, port(window, "item", "value", True),
         port(window, "template", "value", False))
    drag(window.view, port(window, "template", "text", True),
         port(window, "result", "value", False))  # replaces item -> result
    assert [(c.from_, c.to) for c in doc.connections("for_each_body")] == [
        ("item.value", "template.value"), ("template.text", "result.value")]
    window.editor.show_graph(None)
    assert window.validation.validate_now() == []
    path = tmp_path / "tens.flow.json"
    window.files.write(path)
    saved = json.loads(path.read_text())
    assert saved["subgraphs"]["for_each_body"]["nodes"][-1]["type"] == "transform.template"
    assert window.files.open_path(path, ask=False)
    assert window.doc.snapshot() == path.read_text()  # reopens byte-identical
    result = run_file(path, registry=Registry.discover(plugins=False))
    assert result.status == "completed", result.error
    assert result.outputs == {"tens": ["10", "20", "30"]}
    assert workflow_file.load(path).nodes[1].config["body"] == "for_each_body"


def open_example(window, name: str = "for_each"):
    from flowui import resources

    assert window.files.open_path(resources.examples_dir() / f"{name}.flow.json", ask=False)


def test_undoing_an_edit_of_the_shown_graph_rebuilds_neither_canvas_nor_inspector(window):
    """Settings, the workflow's inputs, a node's config, a move: undo and redo follow them
    in place, in the workflow and in a body alike."""
    from engine.workflow.model import InputSpec

    open_example(window)
    rebuilt = []
    window.scene.rebuilt.connect(lambda: rebuilt.append(window.editor.current_graph))
    for graph, node in ((None, "each"), ("square", "log")):
        window.editor.show_graph(graph)
        rebuilt.clear()
        items = dict(window.scene.nodes)
        page = window.inspector.page
        settings = window.doc.workflow.settings
        window.editor.set_settings(settings.model_copy(
            update={"max_parallel": settings.max_parallel + 1}))
        window.editor.set_inputs(None, {"n": InputSpec(type="number")})
        window.editor.set_node_field(graph, node, "title", "Renamed title")
        window.editor.move_nodes({node: (window.doc.node(graph, node).position, (40, 400))})
        for _ in range(4):
            window.stack.undo()
        assert window.doc.workflow.settings.max_parallel == settings.max_parallel
        for _ in range(4):
            window.stack.redo()
        assert window.scene.nodes[node].title == "Renamed title"
        assert window.editor.current_graph == graph
        assert rebuilt == [], "the canvas was rebuilt"
        assert window.scene.nodes == items and all(
            window.scene.nodes[k] is v for k, v in items.items())
        assert window.inspector.page is page, "the inspector was rebuilt"
        assert window.inspector.page.spins["max_parallel"].value() == settings.max_parallel + 1
    # Undoing an edit of another graph shows that graph, rebuilding the canvas once.
    window.editor.show_graph(None)
    rebuilt.clear()
    window.stack.undo()
    assert window.editor.current_graph == "square" and rebuilt == ["square"]
    assert window.scene.nodes["log"].pos() != QPointF(40, 400)


PLUGIN = '''
from pydantic import Field

from engine import BodySpec, Node, NodeConfig, Port


class Repeat(Node):
    """A third party's loop: runs the subgraph `steps` names, n times."""

    type = "acme.repeat"
    title = "Repeat"
    category = "Acme"
    inputs = (Port("n", "integer", required=False),)
    outputs = (Port("out", "any"),)
    body = BodySpec("steps", inputs=("n",), outputs=("out",))

    class Config(NodeConfig):
        steps: str | None = Field(None, description="The subgraph to repeat")

    async def run(self, ctx, n=None):
        return {"out": n}
'''


def test_a_plugin_folder_loop_type_gets_its_body_by_double_click(make_window, tmp_path):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QMouseEvent

    from tests.flowui.conftest import mouse

    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "acme_repeat.py").write_text(PLUGIN)
    registry = Registry.discover(plugins=False)
    registry.load_plugin_dir(plugins)
    assert registry.get("acme.repeat") is not None, registry.load_errors
    window = make_window(registry)
    window.editor.add_node("acme.repeat", QPointF(0, 0))
    steps = window.stack.count()
    window.view.resetTransform()
    window.view.centerOn(QPointF(100, 40))
    title = window.scene.nodes["repeat"].mapToScene(QPointF(60, 10))
    for kind, buttons in ((QMouseEvent.Type.MouseButtonPress, Qt.MouseButton.LeftButton),
                          (QMouseEvent.Type.MouseButtonRelease, Qt.MouseButton.NoButton),
                          (QMouseEvent.Type.MouseButtonDblClick, Qt.MouseButton.LeftButton),
                          (QMouseEvent.Type.MouseButtonRelease, Qt.MouseButton.NoButton)):
        mouse(window.view, kind, title, buttons=buttons)
    assert window.editor.current_graph == "repeat_body"
    body = window.doc.graph("repeat_body")
    assert [(n.id, n.type, n.config) for n in body.nodes] == [
        ("n", "flow.input", {"name": "n"}), ("out", "flow.output", {"name": "out"})]
    assert [(c.from_, c.to) for c in body.connections] == [("n.value", "out.value")]
    assert set(window.scene.nodes) == {"n", "out"}
    assert window.doc.node(None, "repeat").config == {"steps": "repeat_body"}
    assert window.stack.count() == steps + 1
    window.stack.undo()  # one step takes both back
    assert "repeat_body" not in window.doc.workflow.subgraphs
    assert window.doc.node(None, "repeat").config == {}
    assert window.editor.current_graph is None and set(window.scene.nodes) == {"repeat"}


def test_a_real_double_click_on_a_node_opens_its_body(window):
    # Through the mouse, on the node's title and on its middle (issue 11, fix 1).
    from PySide6.QtGui import QMouseEvent

    from tests.flowui.conftest import mouse

    for type_id, node_id in (("control.for_each", "for_each"), ("control.loop", "loop"),
                             ("flow.subworkflow", "subworkflow")):
        window.editor.show_graph(None)
        window.editor.add_node(type_id, QPointF(0, 0))
        item = window.scene.nodes[node_id]
        window.view.centerOn(item)
        rect = item.sceneBoundingRect()
        where = QPointF(rect.center().x(), rect.top() + 12)  # on the title
        mouse(window.view, QMouseEvent.Type.MouseButtonPress, where)
        mouse(window.view, QMouseEvent.Type.MouseButtonRelease, where,
              buttons=Qt.MouseButton.NoButton)
        mouse(window.view, QMouseEvent.Type.MouseButtonDblClick, where)
        mouse(window.view, QMouseEvent.Type.MouseButtonRelease, where,
              buttons=Qt.MouseButton.NoButton)
        assert window.editor.current_graph == f"{node_id}_body", type_id
