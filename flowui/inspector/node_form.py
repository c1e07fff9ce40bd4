"""The inspector's page for one node: header, id and title, a form generated from the
type's Config schema, values typed into unwired input ports, and failure policies.

Widgets are built once per node. Every edit is pushed as an undo command at once
(typing merges into one step); when the document changes, each widget is given
the new value in place, except the one the change came from, so focus and cursor
survive typing, undo and redo alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal, SignalInstance
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QLineEdit, QToolButton, QVBoxLayout, QWidget

from engine.workflow.model import IDENT_RE, RetryPolicy
from flowui import resources, theme
from flowui.document import GraphKey
from flowui.editor import Editor
from flowui.inspector.base import UNSET, FieldEditor, same_value, small_button
from flowui.inspector.fields import make_editor
from flowui.inspector.form import (
    FormGrid,
    Row,
    chain_tab_order,
    help_label,
    page_header,
)
from flowui.inspector.policies import PolicyEditor
from flowui.inspector.problems import config_problems
from flowui.inspector.schema import (
    ANY,
    ARRAY,
    OBJECT,
    TEMPLATE,
    FieldSchema,
    config_fields,
    port_field,
)

WIDE_KINDS = (OBJECT, ARRAY, ANY, TEMPLATE)


class FieldRow:
    """A config key's editor in the form, with its reset button and help text."""

    def __init__(self, key: str, schema: FieldSchema, editor: FieldEditor, row: Row,
                 reset: QToolButton, port: bool) -> None:
        self.key, self.schema, self.editor, self.row = key, schema, editor, row
        self.reset, self.port = reset, port
        self.help = row.help.text()


class IdEdit(QLineEdit):
    """The node id field: Escape puts back the id the node has."""

    escaped = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.escaped.emit()
            return
        super().keyPressEvent(event)


class NodeForm(QWidget):
    def __init__(self, editor: Editor, graph: GraphKey, node_id: str) -> None:
        super().__init__()
        self.editor = editor
        doc = self.doc = editor.doc
        self.graph, self.node_id = graph, node_id
        self.spec = doc.node(graph, node_id)
        self.cls = doc.registry.get(self.spec.type)
        self.rows: dict[str, FieldRow] = {}
        self._source: str | None = None  # the field whose edit is being pushed
        self._local: dict[str, str] = {}  # problems an editor found before pushing
        self._port_signature: tuple[Any, ...] = ()
        self._entered = False
        self._detached = False
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(12)
        outer.addWidget(self._header())
        form = self.form = FormGrid()
        outer.addWidget(form)
        form.add_section("Node")
        self.id_edit = IdEdit(node_id)
        self.id_row = form.add_row("ID", self.id_edit, help="Names the node in wires, "
                                   "events and results; Enter renames")
        self.title_edit = QLineEdit(self.spec.title or "")
        self.title_edit.setPlaceholderText(self.cls.title if self.cls else self.spec.type)
        form.add_row("Title", self.title_edit)
        form.add_section("Configuration")
        self.config_note = help_label(name="error")
        form.add_widget(self.config_note)
        self.fields = self._schema_fields()
        for schema in self.fields:
            self._add_field(form, schema, port=False)
        if not self.fields:
            form.add_widget(help_label("This node type has no settings."))
        self.ports_title = form.add_section("Inputs")
        self.ports_form = FormGrid()
        form.add_widget(self.ports_form)
        form.add_section("On failure")
        self.policies = PolicyEditor(form, self._set_policy,
                                     getattr(self.cls, "default_retry", None))
        self.policies.retry_reset.clicked.connect(self._reset_retry)
        outer.addStretch(1)
        self.id_edit.textEdited.connect(self._id_typed)
        self.id_edit.returnPressed.connect(self._id_entered)
        self.id_edit.editingFinished.connect(self._id_finished)
        self.id_edit.escaped.connect(lambda: self.retarget(self.node_id))
        self.title_edit.textEdited.connect(
            lambda text: self._set_field("title", text or None))
        # Any graph's inputs or the settings may change what is shown: a sub-workflow
        # node's ports are its body's inputs; a policy's default is the settings'.
        self._connections: list[tuple[SignalInstance, Callable[..., None]]] = [
            (doc.node_changed, self._on_doc_node_changed),
            (doc.graph_changed, self._on_doc_graph_changed),
            (doc.settings_changed, self.refresh),
            (doc.connection_added, self._on_doc_wires_changed),
            (doc.connection_removed, self._on_doc_wires_changed)]
        for signal, slot in self._connections:
            signal.connect(slot)
        self.refresh()

    def detach(self, *, keep_edits: bool = True) -> None:
        """Stop following and editing the document (the page is being replaced); every
        edit was pushed as it was made, so there is nothing to keep."""
        for signal, slot in self._connections:
            signal.disconnect(slot)
        self._connections = []
        self._detached = True

    def live(self) -> bool:
        """Whether the page may still edit its node: not once the page is being replaced
        (its widgets still emit while torn down, a field losing focus) or the node is gone."""
        return not self._detached and self.doc.has_node(self.graph, self.node_id)

    # --- building --------------------------------------------------------------------------

    def _header(self) -> QWidget:
        cls, spec = self.cls, self.spec
        if cls is None:
            return page_header("Unknown node type", spec.type, "plugin",
                               theme.category_color(""), warning=(
                                   f"No installed node type is called {spec.type!r}; its "
                                   "config is shown as it is in the file."))
        return page_header(cls.title, f"{cls.category}  ·  {spec.type}", cls.icon or "plugin",
                           theme.category_color(cls.category), cls.description)

    def _schema_fields(self) -> list[FieldSchema]:
        if self.cls is None:  # keep what the file says, editable as JSON
            return [FieldSchema(k, k, ANY) for k in self.spec.config]
        return config_fields(self.cls.Config.model_json_schema())

    def _add_field(self, form: FormGrid, schema: FieldSchema, *, port: bool) -> None:
        editor = make_editor(schema)
        reset = small_button("", "Reset to the default")
        reset.setIcon(resources.icon("revert"))
        reset.setIconSize(QSize(14, 14))
        reset.setVisible(False)
        wide = schema.kind in WIDE_KINDS
        row = form.add_row(schema.label, editor, help=schema.description, wide=wide,
                           trailing=reset)
        row.label.setToolTip(f"config.{schema.name}")
        key = schema.name
        self.rows[key] = FieldRow(key, schema, editor, row, reset, port)
        editor.edited.connect(lambda value, k=key: self._edit(k, value))
        editor.problem.connect(lambda text, k=key: self._local_problem(k, text))
        reset.clicked.connect(lambda _=False, k=key: self._reset(k))

    def _port_fields(self) -> list[Any]:
        if self.cls is None:
            return []
        inputs, _ = self.doc.ports(self.graph, self.node_id)
        names = {f.name for f in self.fields}
        return [p for p in inputs if p.name not in names]

    def _sync_port_rows(self) -> None:
        """(Re)build the Inputs section when the node's input ports changed."""
        ports = self._port_fields()
        self.ports_title.setVisible(bool(ports))
        signature = tuple((p.name, p.type, p.required, p.description) for p in ports)
        if signature == self._port_signature:
            return
        self._port_signature = signature
        for key in [k for k, r in self.rows.items() if r.port]:
            del self.rows[key]
        old = self.ports_form
        self.ports_form = FormGrid()
        self.form.grid.replaceWidget(old, self.ports_form)
        old.deleteLater()
        for p in ports:
            help = (f"{p.description.rstrip('.')}. " if p.description else "") + \
                "Used when nothing is wired to this " + \
                ("input" if p.type == "any" else f"{p.type} input")
            self._add_field(self.ports_form, replace(port_field(p), description=help),
                            port=True)
        self.order_tabs()

    def order_tabs(self) -> None:
        """Tab walks the page top to bottom, the Inputs rows (built later) in their place."""
        if self.window() is self:
            return  # not in the panel yet; the panel calls this once it is
        chain_tab_order([self.id_edit, self.title_edit, *(r.editor for r in self.rows.values()),
                         *self.policies.widgets()])

    # --- following the document ----------------------------------------------------------------

    def retarget(self, node_id: str) -> None:
        """The node was renamed (or the rename undone): same node, new id."""
        self.node_id = node_id
        self.id_edit.setText(node_id)
        self.id_row.set_error("")
        self.refresh()

    def _on_doc_node_changed(self, graph: GraphKey, node_id: str) -> None:
        if (graph, node_id) == (self.graph, self.node_id):
            self.refresh()

    def _on_doc_graph_changed(self, graph: GraphKey) -> None:
        self.refresh()

    def _on_doc_wires_changed(self, graph: GraphKey, source: str, target: str) -> None:
        if graph == self.graph and target.split(".", 1)[0] == self.node_id and self.live():
            self._show_wired()

    def refresh(self) -> None:
        if not self.live():
            return  # deleted; the InspectorWidget replaces the page
        spec = self.spec = self.doc.node(self.graph, self.node_id)
        if self._source != "title" and self.title_edit.text() != (spec.title or ""):
            self.title_edit.setText(spec.title or "")
        self._sync_port_rows()
        for key, r in self.rows.items():
            if f"config.{key}" != self._source:
                r.editor.set_value(spec.config.get(key, UNSET))
            r.reset.setVisible(key in spec.config)
        if self._source not in ("retry", "timeout_s", "on_error", "disabled"):
            self.policies.show(spec, self.doc.workflow.settings)
        self.policies.retry_reset.setVisible(spec.retry is not None)
        self._show_wired()
        self._show_problems()

    def _show_wired(self) -> None:
        inputs = {p.name for p in self.doc.ports(self.graph, self.node_id)[0]}
        for key, r in self.rows.items():
            wires = self.doc.connections_into(self.graph, self.node_id, key) \
                if key in inputs else []
            text = f"Wired from {', '.join(c.from_ for c in wires)}: the wire's value is " \
                   "used" if wires else r.help
            r.editor.setEnabled(not wires)
            r.row.help.setText(text)
            r.row.help.setVisible(bool(text))

    def _show_problems(self) -> None:
        problems = config_problems(self.doc, self.graph, self.node_id)
        for key, r in self.rows.items():
            r.row.set_error(self._local.get(key) or problems.pop(key, ""))
        general = "\n".join(problems.values())
        self.config_note.setText(general)
        self.config_note.setVisible(bool(general))

    # --- edits -----------------------------------------------------------------------------

    def _set_field(self, field: str, value: Any) -> None:
        """Set a spec field, or a config value (`config.<key>`; UNSET removes the key)."""
        if not self.live():
            return
        self._source = field  # its widget already shows the value: not set back
        try:
            if value is UNSET:
                self.editor.reset_node_field(self.graph, self.node_id,
                                             field.removeprefix("config."))
            else:
                self.editor.set_node_field(self.graph, self.node_id, field, value)
        finally:
            self._source = None

    def _set_policy(self, field: str, value: Any) -> None:
        if not self.live():
            return
        current = getattr(self.doc.node(self.graph, self.node_id), field)
        if field == "retry":  # compared as whole policies: {"max_attempts": 1} is one too
            current = current.model_dump() if current is not None else None
            compared = RetryPolicy.model_validate(value).model_dump() if value else None
        else:
            compared = value
        if not same_value(current, compared):
            self._set_field(field, value)

    def _edit(self, key: str, value: Any) -> None:
        if not self.live():
            return
        if same_value(self.doc.node(self.graph, self.node_id).config.get(key, UNSET), value):
            return  # e.g. a table re-read with nothing changed
        self._set_field(f"config.{key}", value)

    def _reset(self, key: str) -> None:
        if not self.live():
            return
        self._local.pop(key, None)
        if key in self.doc.node(self.graph, self.node_id).config:
            self.editor.reset_node_field(self.graph, self.node_id, key)

    def _reset_retry(self) -> None:
        if self.live() and self.doc.node(self.graph, self.node_id).retry is not None:
            self.editor.set_node_field(self.graph, self.node_id, "retry", None)

    def _local_problem(self, key: str, text: str) -> None:
        if text:
            self._local[key] = text
        else:
            self._local.pop(key, None)
        self._show_problems()

    def _id_typed(self, text: str) -> None:
        self.id_row.set_error(self._id_problem(text))

    def _id_problem(self, text: str) -> str:
        if text == self.node_id:
            return ""
        if not IDENT_RE.match(text):
            return "An ID starts with a letter or _ and has only letters, digits, _ and -"
        if self.doc.has_node(self.graph, text):
            return f"Another node is already called {text!r}"
        return ""

    def _id_entered(self) -> None:
        """Enter: rename, or say why not and keep the text to fix."""
        if not self.live():
            return
        self._entered = True
        text = self.id_edit.text()
        problem = self._id_problem(text)
        self.id_row.set_error(problem)
        if not problem and text != self.node_id:
            self.editor.rename_node(self.graph, self.node_id, text)

    def _id_finished(self) -> None:
        if not self.live():
            return
        if self._entered:  # Qt follows returnPressed with editingFinished
            self._entered = False
            return
        text = self.id_edit.text()  # focus left: a valid id is taken, anything else undone
        if text != self.node_id and not self._id_problem(text):
            self.editor.rename_node(self.graph, self.node_id, text)
        elif text != self.node_id:
            self.id_edit.setText(self.node_id)
            self.id_row.set_error("")
