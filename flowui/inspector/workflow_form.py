"""The inspector's page when no node is selected: the workflow's name and description,
its declared inputs (one card per input) and its run settings.

Inputs are pushed whole (SetInputsCommand) once every card is valid; a card with a
bad name or a default that does not fit its type says so and waits to be fixed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.support import bounded_json
from engine.workflow.model import IDENT_RE, InputSpec, Settings
from engine.workflow.porttypes import PORT_TYPES, matches
from flowui import theme
from flowui.document import GraphKey
from flowui.editor import Editor
from flowui.inspector.base import ComboBox, SpinBox, TextEdit, small_button
from flowui.inspector.form import (
    FormGrid,
    chain_tab_order,
    help_label,
    page_header,
    set_invalid,
)
from flowui.inspector.policies import ON_ERROR_LABELS, ON_ERROR_TIPS, optional_seconds

REQUIRED_CHOICES: tuple[tuple[str, bool | None], ...] = (
    ("Auto", None), ("Required", True), ("Optional", False))


def _card_style() -> str:
    look = theme.current()
    return (f"QFrame#inputCard {{ background: {look.panel.name()}; "
            f"border: 1px solid {look.border.name()}; border-radius: 6px; }}")


def input_data(spec: InputSpec) -> dict[str, Any]:
    """An input as the file writes it (a default counts only when it was given)."""
    out: dict[str, Any] = {"type": spec.type, "description": spec.description,
                           "required": spec.required}
    if "default" in spec.model_fields_set:
        out["default"] = spec.default
    return out


class InputCard(QFrame):
    """One declared input: name, type, default, required, description."""

    def __init__(self, name: str, spec: InputSpec) -> None:
        super().__init__()
        self.setObjectName("inputCard")
        self.setStyleSheet(_card_style())
        self.name = QLineEdit(name)
        self.name.setPlaceholderText("name")
        self.name.setToolTip("The input's name: inputs.<name> in templates, "
                             "--input <name>=... on the command line")
        self.type = ComboBox()
        self.type.addItems(list(PORT_TYPES))
        self.type.setCurrentIndex(PORT_TYPES.index(spec.type))
        self.type.setToolTip("Type of the value; a run checks it")
        self.remove = small_button("✕", "Remove this input")
        self.default = QLineEdit(self._default_text(spec))
        self.default.setPlaceholderText("no default")
        self.default.setToolTip("Default value: JSON, or plain text for a string input")
        self.required = ComboBox()
        for text, _ in REQUIRED_CHOICES:
            self.required.addItem(text)
        self.required.setCurrentIndex([v for _, v in REQUIRED_CHOICES].index(spec.required))
        self.required.setToolTip("Auto: required unless it has a default")
        self.description = QLineEdit(spec.description)
        self.description.setPlaceholderText("Description")
        self.error = help_label(name="error")
        grid = QGridLayout(self)
        grid.setContentsMargins(10, 8, 6, 8)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(6)
        for row, (caption, edit) in enumerate((("Name", self.name), ("Default", self.default),
                                               ("About", self.description))):
            label = QLabel(caption)
            theme.tone(label, "help")
            label.setBuddy(edit)
            grid.addWidget(label, row, 0)
            grid.addWidget(edit, row, 1, 1, 1 if row < 2 else 2)
        grid.addWidget(self.type, 0, 2)
        grid.addWidget(self.remove, 0, 3)
        grid.addWidget(self.required, 1, 2)
        grid.addWidget(self.error, 3, 0, 1, 4)
        grid.setColumnStretch(1, 1)
        font = self.name.font()
        font.setWeight(QFont.Weight.DemiBold)
        self.name.setFont(font)
        for combo in (self.type, self.required):
            combo.setFixedWidth(104)
        for edit in (self.default, self.description):
            edit.setCursorPosition(0)  # show a long value's start, not its end

    def tab_widgets(self) -> list[QWidget]:
        return [self.name, self.type, self.default, self.required, self.description]

    @staticmethod
    def _default_text(spec: InputSpec) -> str:
        if "default" not in spec.model_fields_set:
            return ""
        if spec.type == "string" and isinstance(spec.default, str):
            return spec.default
        return json.dumps(spec.default, ensure_ascii=False)

    def read(self) -> tuple[str, InputSpec | None, str]:
        """(name, spec, problem): spec is None when the card cannot be stored yet."""
        name, kind = self.name.text().strip(), PORT_TYPES[self.type.currentIndex()]
        if not IDENT_RE.match(name):
            return name, None, (f"{name!r} is not a valid name: a letter or _ first, then "
                                "letters, digits, _ or -" if name else "The input needs a name")
        data: dict[str, Any] = {"type": kind, "description": self.description.text(),
                                "required": REQUIRED_CHOICES[self.required.currentIndex()][1]}
        text = self.default.text()
        if text:
            if kind == "string":
                data["default"] = text
            else:
                try:
                    data["default"] = bounded_json.loads(text)
                except ValueError:
                    if kind != "any":
                        return name, None, f"Default: {text!r} is not a valid {kind}"
                    data["default"] = text
                if not matches(kind, data["default"]):
                    return name, None, f"Default: {text!r} is not a valid {kind}"
        return name, InputSpec.model_validate(data), ""

    def show_problem(self, problem: str) -> None:
        """Say what is wrong under the card and outline the field it is about."""
        self.error.setText(problem)
        self.error.setVisible(bool(problem))
        about_default = problem.startswith("Default")
        set_invalid(self.name, bool(problem) and not about_default)
        set_invalid(self.default, about_default)


class WorkflowForm(QWidget):
    def __init__(self, editor: Editor, graph: GraphKey) -> None:
        super().__init__()
        self.editor, self.doc, self.graph = editor, editor.doc, graph
        self.cards: list[InputCard] = []
        self._source: str | None = None
        self._detached = False
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(12)
        body = graph
        outer.addWidget(page_header(
            "Workflow" if body is None else f"Subgraph {body}", "Nothing selected",
            "app" if body is None else "subworkflow", QColor(theme.TEXT_DIM),
            "The workflow's own properties; select a node to edit it instead." if body is None
            else "A body run by loops and sub-workflow nodes: its inputs are what the "
                 "calling node passes in (flow.input nodes read them by name)."))
        form = FormGrid()
        outer.addWidget(form)
        form.add_section("General")
        self.name = QLineEdit()
        self.name.setPlaceholderText("Untitled workflow")
        form.add_row("Name", self.name, slot=False)
        self.description = TextEdit(multiline=True)
        self.description.setPlaceholderText("What this workflow does")
        form.add_row("Description", self.description, slot=False)
        form.add_section("Inputs")
        form.add_widget(help_label("Values each run takes; templates read them as "
                                   "inputs.<name>."))
        self.cards_box = QVBoxLayout()
        self.cards_box.setSpacing(6)
        holder = QWidget()
        holder.setLayout(self.cards_box)
        self.cards_box.setContentsMargins(0, 0, 0, 0)
        form.add_widget(holder)
        self.add_button = QPushButton("+ Add input")
        add_line = QHBoxLayout()
        add_line.addWidget(self.add_button)
        add_line.addStretch(1)
        add_holder = QWidget()
        add_holder.setLayout(add_line)
        add_line.setContentsMargins(0, 0, 0, 0)
        form.add_widget(add_holder)
        form.add_section("Settings" if body is None else "Settings (whole workflow)")
        self._build_settings(form)
        outer.addStretch(1)
        self.name.editingFinished.connect(self._meta_edited)
        self.description.editing_finished.connect(self._meta_edited)
        self.add_button.clicked.connect(self.add_input)
        self.doc.graph_changed.connect(self._on_doc_graph_changed)
        self.doc.settings_changed.connect(self.refresh)
        self.refresh()

    def detach(self, *, keep_edits: bool = True) -> None:
        """The page is being replaced: keep what was typed but not yet committed (a name
        without Enter), then stop following and editing the document."""
        if keep_edits and self.doc.has_graph(self.graph):
            self._meta_edited()
            self._inputs_edited()
        self.doc.graph_changed.disconnect(self._on_doc_graph_changed)
        self.doc.settings_changed.disconnect(self.refresh)
        self._detached = True

    def _build_settings(self, form: FormGrid) -> None:
        self.on_error = ComboBox()
        self.on_error_values = list(ON_ERROR_LABELS)
        self.on_error.addItems(list(ON_ERROR_LABELS.values()))
        for i, tip in enumerate(ON_ERROR_TIPS.values()):
            self.on_error.setItemData(i, tip, Qt.ItemDataRole.ToolTipRole)
        form.add_row("On error", self.on_error, slot=False,
                     help="What a failing node does, unless it says otherwise")
        self.spins: dict[str, SpinBox] = {}
        for field, label, hi, help in (
                ("max_parallel", "Parallel nodes", 10_000, "Nodes running at once"),
                ("max_iterations", "Loop limit", 1_000_000,
                 "Most runs of a loop body (a loop may set its own)"),
                ("max_workflow_attempts", "Run attempts", 100,
                 "Tries in all when a node's on_error is retry_workflow"),
                ("max_concurrent_runs", "Concurrent runs", 1_000,
                 "Triggered runs at once in serve mode")):
            spin = self.spins[field] = SpinBox()
            spin.setRange(1, hi)
            form.add_row(label, spin, help=help, slot=False)
            spin.valueChanged.connect(lambda v, f=field: self._set(f, int(v)))
        line, self.timeout_on, self.timeout = optional_seconds(600, 1e7)
        form.add_row("Run timeout", line, help="Limit for a whole run; unchecked: none",
                     slot=False)
        self.on_error.currentIndexChanged.connect(
            lambda i: self._set("on_error", self.on_error_values[i]))
        self.timeout_on.toggled.connect(self._timeout_changed)
        self.timeout.valueChanged.connect(self._timeout_changed)

    # --- following the document ---------------------------------------------------------------

    def _on_doc_graph_changed(self, graph: GraphKey) -> None:
        if graph == self.graph:
            self.refresh()

    def refresh(self) -> None:
        wf = self.doc.graph(self.graph)  # the workflow, or the subgraph on the canvas
        if self._source != "meta":
            if self.name.text() != wf.name:
                self.name.setText(wf.name)
            self.description.set_text(wf.description)
        if self._source != "inputs" and self._card_data() != [
                (k, input_data(v)) for k, v in wf.inputs.items()]:
            self._rebuild_cards()
        if self._source != "settings":
            s = self.doc.workflow.settings  # settings belong to the whole workflow
            widgets = [self.on_error, self.timeout_on, self.timeout, *self.spins.values()]
            for w in widgets:
                w.blockSignals(True)
            self.on_error.setCurrentIndex(self.on_error_values.index(s.on_error))
            for field, spin in self.spins.items():
                spin.setValue(getattr(s, field))
            self.timeout_on.setChecked(s.timeout_s is not None)
            if s.timeout_s is not None:
                self.timeout.setValue(s.timeout_s)
            self.timeout.setEnabled(s.timeout_s is not None)
            for w in widgets:
                w.blockSignals(False)

    def _card_data(self) -> list[tuple[str, dict[str, Any]]] | None:
        """What the cards hold, in order (None while one cannot be read)."""
        out: list[tuple[str, dict[str, Any]]] = []
        for card in self.cards:
            name, spec, _ = card.read()
            if spec is None:
                return None
            out.append((name, input_data(spec)))
        return out

    def _rebuild_cards(self) -> None:
        for card in self.cards:
            self.cards_box.removeWidget(card)
            card.deleteLater()
        self.cards = []
        for name, spec in self.doc.graph(self.graph).inputs.items():
            self._add_card(name, spec)

    def _add_card(self, name: str, spec: InputSpec) -> InputCard:
        card = InputCard(name, spec)
        self.cards.append(card)
        self.cards_box.addWidget(card)
        for edit in (card.name, card.default, card.description):
            edit.editingFinished.connect(self._inputs_edited)
        for combo in (card.type, card.required):
            combo.currentIndexChanged.connect(self._inputs_edited)
        card.remove.clicked.connect(lambda _=False, c=card: self.remove_input(c))
        self.order_tabs()
        return card

    def order_tabs(self) -> None:
        """Tab walks the page top to bottom, cards added later in their place."""
        if self.window() is not self:  # not in the panel yet: it calls this once it is
            chain_tab_order([self.name, self.description, *self.cards, self.add_button,
                             self.on_error, *self.spins.values(), self.timeout_on,
                             self.timeout])

    # --- edits -------------------------------------------------------------------------------

    def _run(self, source: str, edit: Callable[[], None]) -> None:
        """Make an edit through the editor, this page's own widgets left as they are."""
        if self._detached:
            return
        self._source = source
        try:
            edit()
        finally:
            self._source = None

    def _meta_edited(self) -> None:
        wf = self.doc.graph(self.graph)
        name, description = self.name.text(), self.description.toPlainText()
        if (name, description) != (wf.name, wf.description):
            self._run("meta", lambda: self.editor.set_meta(self.graph, name, description))

    def add_input(self) -> None:
        taken = {card.name.text().strip() for card in self.cards}
        name = next(n for n in (f"input{i}" if i > 1 else "input" for i in range(1, 10_000))
                    if n not in taken)
        card = self._add_card(name, InputSpec(type="string"))
        self._inputs_edited()
        card.name.setFocus()
        card.name.selectAll()

    def remove_input(self, card: InputCard) -> None:
        self.cards.remove(card)
        self.cards_box.removeWidget(card)
        card.deleteLater()
        self._inputs_edited()

    def _inputs_edited(self, *_: Any) -> None:
        specs: dict[str, InputSpec] = {}
        ok = True
        for card in self.cards:
            name, spec, problem = card.read()
            if spec is not None and name in specs:
                spec, problem = None, f"Another input is already called {name!r}"
            card.show_problem(problem)
            if spec is None:
                ok = False
            else:
                specs[name] = spec
        current = [(k, input_data(v)) for k, v in self.doc.graph(self.graph).inputs.items()]
        if ok and [(k, input_data(v)) for k, v in specs.items()] != current:  # order too
            self._run("inputs", lambda: self.editor.set_inputs(self.graph, specs))

    def _set(self, field: str, value: Any) -> None:
        current = self.doc.workflow.settings
        if getattr(current, field) != value:
            settings = Settings.model_validate({**current.model_dump(), field: value})
            self._run("settings", lambda: self.editor.set_settings(settings))

    def _timeout_changed(self, *_: Any) -> None:
        on = self.timeout_on.isChecked()
        self.timeout.setEnabled(on)
        value = self.timeout.value()
        self._set("timeout_s", (int(value) if value.is_integer() else value) if on else None)

