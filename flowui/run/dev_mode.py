"""Development mode in the editor: run one node (or up to it, or from it) with its
upstream from the output cache, reuse unchanged outputs in whole runs, see which
nodes are out of date and why, and pin a node's output.

The engine does the work (engine.core.partial, output_cache, staleness); this module
is the window's side of it:

- Run ▸ Run This Node (Ctrl+F5), Run Up to Here (Ctrl+Shift+F5), Run From Here
  (Ctrl+Alt+F5), on the selected node, also in its context menu; the run is shown
  live like any other, cached nodes in the cached colour.
- Run ▸ Reuse Cached Outputs (toolbar toggle, on by default, remembered): whole runs
  take the outputs of unchanged cacheable nodes from the cache.
- Stale markers: after each edit (once the edits pause) and after each run, the
  workflow's current cache keys are compared with the store's; a stale node gets an
  amber triangle, its tooltip and the Run tab say why. Shown once the workflow has
  run at least once (a new workflow is not a field of warnings).
- Pins: Pin Output (Ctrl+Alt+P) freezes the node's last output as its result for
  later runs (saved in the file as the node's `pinned`; an undoable edit), Unpin,
  Edit Pinned Output… (JSON checked before it is kept).
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Generator
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QSettings, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from engine.core.partial import Mode
from engine.core.preflight import (
    PreparedWorkflow,
    pinned_secret_problems,
    prepare_steps,
    workflow_secrets,
)
from engine.core.staleness import stale_nodes
from engine.core.validation import resolve_inputs
from engine.errors import FlowError, WorkflowInvalidError
from engine.secrets.redactor import MASK
from engine.support.gcpause import gc_paused
from engine.workflow.model import Workflow
from flowui.actions import make_action
from flowui.editor import Editor
from flowui.run.controller import RunController, snapshot
from flowui.run.pin_dialog import PinDialog
from flowui.run.run_dialog import remembered_inputs

log = logging.getLogger("flowui.dev_mode")

PREPARE_SLICE_S = 0.005  # compiling for the markers yields to the window this often
STALE_AFTER_MS = 400  # stale markers are worked out once edits pause this long
REUSE_KEY = "run/reuse_cache"


class DevMode(QObject):
    message = Signal(str)
    stale_changed = Signal()

    def __init__(self, window: QWidget, runs: RunController, editor: Editor,
                 settings: QSettings) -> None:
        super().__init__(window)
        self.window, self.runs, self.editor, self.settings = window, runs, editor, settings
        self.doc = editor.doc
        self.stale: dict[str, tuple[str, ...]] = {}  # top-level node id -> reasons
        self.computing = False  # stale markers being worked out
        self._generation = 0
        run = self._run_partial
        self.actions: dict[str, QAction] = {
            "run_node": make_action(window, "Run This &Node", lambda: run("only"), "Ctrl+F5",
                                    "run_node", "Run the selected node alone, its inputs from "
                                    "the last runs (what is missing runs first)"),
            "run_until": make_action(window, "Run &Up to Here", lambda: run("until"),
                                     "Ctrl+Shift+F5", None,
                                     "Run the selected node and everything it depends on"),
            "run_from": make_action(window, "Run &From Here", lambda: run("from"), "Ctrl+Alt+F5",
                                    None, "Run the selected node and everything after it, "
                                    "its upstream from the last runs"),
            "reuse_cache": make_action(window, "Reuse Cached &Outputs", self._on_reuse_toggled,
                                       None, "cache", "Whole runs take unchanged nodes' "
                                       "outputs from the cache instead of running them"),
            "toggle_pin": make_action(window, "&Pin Output", self.toggle_pin, "Ctrl+Alt+P",
                                      "pin", "Use the selected node's last output in later "
                                      "runs instead of running it, or unpin it"),
            "edit_pin": make_action(window, "&Edit Pinned Output…", self.edit_pin, None, None,
                                    "Write the selected node's pinned output by hand"),
        }
        reuse = self.actions["reuse_cache"]
        reuse.setCheckable(True)
        reuse.setChecked(str(settings.value(REUSE_KEY, "true")).lower() != "false")
        runs.reuse_cache = reuse.isChecked()
        self._later = QTimer(self, singleShot=True, interval=STALE_AFTER_MS)
        self._later.timeout.connect(self.recompute)
        doc = self.doc
        for signal in (doc.node_changed, doc.node_added, doc.node_removed,
                       doc.connection_added, doc.connection_removed, doc.reset):
            signal.connect(self._later.start)
        runs.finished.connect(lambda _s: self._later.start())
        editor.scene.rebuilt.connect(self.show_markers)
        self._refresh_actions = QTimer(self, singleShot=True, interval=0)
        self._refresh_actions.timeout.connect(self.refresh)
        for signal in (editor.scene.selectionChanged, doc.node_changed, doc.reset,
                       runs.finished, runs.cleared, runs.started):
            signal.connect(self._refresh_actions.start)
        self.refresh()
        self._later.start()

    # --- actions -----------------------------------------------------------------------------

    def _one(self) -> str | None:
        """The one selected node of the workflow's own graph, or None."""
        ids = self.editor.scene.selected_node_ids()
        if len(ids) != 1 or self.editor.current_graph is not None:
            return None
        return ids[0] if self.doc.has_node(None, ids[0]) else None

    def _one_or_say(self, purpose: str) -> str | None:
        """The one selected node, or None after saying in the status bar what to select."""
        node = self._one()
        if node is None:
            self.message.emit(f"Select one node of the workflow (not inside a subgraph) to "
                              f"{purpose}")
        return node

    def refresh(self, *_: object) -> None:
        node = self._one()
        for name in ("run_node", "run_until", "run_from", "edit_pin"):
            self.actions[name].setEnabled(node is not None)
        pin = self.actions["toggle_pin"]
        pinned = node is not None and self.doc.node(None, node).pinned is not None
        pin.setText("Un&pin Output" if pinned else "&Pin Output")
        pin.setEnabled(node is not None)

    def _run_partial(self, mode: Mode) -> None:
        node = self._one_or_say("run it, up to it or from it")
        if node is None:
            return
        self.runs.request_run(partial=(mode, node))

    def _on_reuse_toggled(self) -> None:
        on = self.actions["reuse_cache"].isChecked()
        self.runs.reuse_cache = on
        self.settings.setValue(REUSE_KEY, "true" if on else "false")
        self.message.emit("Whole runs reuse unchanged nodes' cached outputs" if on else
                          "Whole runs run every node (cached outputs are still used by "
                          "Run This Node and Run From Here)")

    # --- pins --------------------------------------------------------------------------------

    def toggle_pin(self) -> None:
        node = self._one_or_say("pin its output")
        if node is None:
            return
        spec = self.doc.node(None, node)
        if spec.pinned is not None:
            self.editor.set_node_field(None, node, "pinned", None)
            self.message.emit(f"{node} unpinned: runs run it again")
            return
        state = self.runs.overlay.state_of(None, node)
        if state is None or state.status not in ("completed", "cached") or state.outputs is None:
            self.message.emit(f"{node} has no output to pin yet: run it first (Ctrl+F5), or "
                              "write one with Run ▸ Edit Pinned Output…")
            return
        if state.outputs.cut:
            self.message.emit(f"{node}'s whole output was not kept (over the value size limit"
                              "), so it cannot be pinned: raise Run ▸ Value Size Limit and run "
                              "it again")
            return
        value = state.outputs.value
        problem = self._secret_problem(node, value)
        if problem is None and MASK in json.dumps(value, default=str):
            problem = (f"{node}'s output holds a masked secret value ({MASK}); a pin is "
                       "saved in the workflow file, so this output cannot be pinned as it is: "
                       "write a value without the secret (Edit Pinned Output…)")
        if problem is not None:
            self.message.emit(problem)
            return
        self.editor.set_node_field(None, node, "pinned", value)
        self.message.emit(f"{node} pinned: runs use this output instead of running it")

    def edit_pin(self) -> None:
        node = self._one_or_say("edit its pinned output")
        if node is None:
            return
        spec = self.doc.node(None, node)
        ports = self._output_ports(node)
        current = spec.pinned
        if current is None:
            state = self.runs.overlay.state_of(None, node)
            current = state.outputs.value if state is not None and state.outputs is not None \
                and not state.outputs.cut else {p: None for p in ports}
        dialog = PinDialog(node, ports, json.dumps(current, indent=2, ensure_ascii=False,
                                                   default=str),
                           lambda value: self._secret_problem(node, value), self.window)
        dialog.accepted.connect(
            lambda: self.editor.set_node_field(None, node, "pinned", dialog.value))
        dialog.open()  # never exec(): the engine's loop is this loop
        self._dialog = dialog

    def _output_ports(self, node: str) -> list[str]:
        spec = self.doc.node(None, node)
        cls = self.doc.registry.get(spec.type)
        if cls is None:
            return []
        try:
            return [p.name for p in cls.ports(spec.config)[1]]
        except Exception:  # a type's ports() on a config being edited: its outputs as declared
            return [p.name for p in cls.outputs]

    def _secret_problem(self, node: str, value: Any) -> str | None:
        """Why `value` may not be pinned on `node` (it holds a secret's value), or None."""
        workflow = self.doc.workflow
        names = workflow_secrets(workflow, self.doc.registry)
        if not names:
            return None
        try:
            values, _missing = self.runs.runner.secrets.resolve(names)
        except FlowError:
            return None
        spec = self.doc.node(None, node).model_copy(update={"pinned": value})
        probe = workflow.model_copy(update={"nodes": [spec]})
        problems = pinned_secret_problems(probe, values)
        return problems[0].message.replace("its pinned", f"{node}'s pinned") if problems \
            else None

    # --- stale markers -----------------------------------------------------------------------

    def recompute(self) -> None:
        """Work out the stale nodes of the document as it is now: the workflow compiled
        in steps of a few ms on Qt timers (a 10,000-node compile is never one freeze;
        nothing is left behind on the asyncio loop when the window goes), then one
        lookup per node."""
        store = self.runs.store_path
        if store is None or not store.exists():
            self._set({})
            return
        self._generation += 1
        workflow = snapshot(self.doc.workflow)
        steps = prepare_steps(workflow, self.doc.registry, base_dir=self.doc.base_dir,
                              slice_s=PREPARE_SLICE_S)
        self.computing = True
        self._step(self._generation, steps, workflow, store)

    def _step(self, generation: int, steps: Generator[None, None, PreparedWorkflow],
              workflow: Workflow, store: Path) -> None:
        if generation != self._generation or not shiboken6.isValid(self):
            return  # a newer edit started its own computation
        try:
            with gc_paused():
                next(steps)
        except StopIteration as done:
            self._finish(generation, done.value, workflow, store)
            return
        except WorkflowInvalidError:
            self.computing = False  # the Problems list says what to fix
            return
        QTimer.singleShot(0, self, lambda: self._step(generation, steps, workflow, store))

    def _finish(self, generation: int, prepared: PreparedWorkflow, workflow: Workflow,
                store: Path) -> None:
        self.computing = False
        inputs = resolve_inputs(workflow, remembered_inputs(self.settings, self.doc.path))
        from engine.store.output_cache import StoredOutputs  # the store, when first needed

        try:
            outputs = StoredOutputs(store)
        except FlowError as e:
            log.warning("stale markers unavailable: %s", e)
            return
        try:
            ran = outputs.has_workflow(workflow.name)
            stale = stale_nodes(prepared.plan, outputs, workflow.name, inputs) if ran else {}
        finally:
            outputs.close()
        self._set(stale)

    def _set(self, stale: dict[str, tuple[str, ...]]) -> None:
        self.stale = stale
        self.show_markers()
        self.stale_changed.emit()

    def show_markers(self) -> None:
        """Put the markers on the canvas (the workflow's own graph only)."""
        scene = self.editor.scene
        top = scene.graph_key is None
        for node_id, item in scene.nodes.items():
            item.set_stale(self.stale.get(node_id, ()) if top else ())

    def note_for(self, graph: Any, node_id: str | None) -> str:
        """The Run tab's lines about `node_id`: pinned, stale and why."""
        if node_id is None or graph is not None or not self.doc.has_node(None, node_id):
            return ""
        lines = []
        if self.doc.node(None, node_id).pinned is not None:
            lines.append("<b>Pinned</b>: runs use its pinned output instead of running it "
                         "(Run ▸ Unpin Output, or Edit Pinned Output…).")
        reasons = self.stale.get(node_id)
        if reasons:
            said = "; ".join(html.escape(r, quote=False) for r in reasons)
            lines.append(f"<b>Stale</b>: {said}. Run This Node (Ctrl+F5) or Run From Here "
                         "brings it up to date.")
        return "<br>".join(lines)

