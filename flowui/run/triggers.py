"""Run ▸ Serve Triggers: the workflow's webhooks (on a chosen port of 127.0.0.1) and
interval triggers served inside the editor, on its own loop, as `flowcli serve`
serves them; each run is recorded (the Runs panel) and the latest shown live.

This is engine.server.serve_mode's `Server` as it is, given the editor's runner, an
outputs hook for the Run tab, and no heap freeze (Qt wrappers; gcpause.py).

The workflow is served as it was when serving began (a snapshot, as every run is):
edits made since take effect when serving starts again.
"""

from __future__ import annotations

import asyncio
import logging

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QInputDialog, QWidget

from engine.core.events import Event, RunStarted
from engine.core.execution import NodeOutputs
from engine.errors import ServeError, StoreError, WorkflowInvalidError
from engine.server.serve_mode import ServeOptions, Server
from engine.store.writer import StoreWriter
from flowui.actions import make_action
from flowui.run.controller import RunController, snapshot
from flowui.run.keep import DEFAULT_BUDGET_BYTES
from flowui.run.session import RunSession

log = logging.getLogger("flowui.triggers")
DEFAULT_PORT = 8787
HOST = "127.0.0.1"  # the editor serves this machine only


class LiveTriggers(QObject):
    message = Signal(str)
    serving_changed = Signal(bool)

    def __init__(self, runs: RunController, settings: QSettings, window: QWidget) -> None:
        super().__init__(window)
        self.runs, self.settings, self.window = runs, settings, window
        self.server: Server | None = None
        self._task: asyncio.Future[None] | None = None
        self.action: QAction = make_action(
            window, "Serve &Triggers…", self.toggle, None, "webhook",
            "Run the workflow's webhooks and interval triggers here: each request or tick "
            "starts a run, shown live and kept in the Runs panel")
        self.action.setCheckable(True)

    @property
    def serving(self) -> bool:
        return self.server is not None

    def toggle(self) -> None:
        if self.serving:
            self.stop()
        else:
            self.start()

    def start(self, port: int | None = None) -> bool:
        """Serve the workflow's triggers; `port` for its webhooks (asked when None and
        the workflow has one). False, and why, when it cannot."""
        doc = self.runs.doc
        workflow = snapshot(doc.workflow)
        if port is None and self._has_webhook(workflow):
            port, ok = QInputDialog.getInt(
                self.window, "Serve triggers",
                f"Port on {HOST} for the workflow's webhooks:",
                _port(self.settings.value("triggers/port", DEFAULT_PORT)), 1024, 65535)
            if not ok:
                return self._not_serving()
            self.settings.setValue("triggers/port", port)
        writer = None
        if self.runs.store_path is not None:
            try:
                writer = StoreWriter(self.runs.store_path, warn=self.message.emit,
                                     commit_in_thread=True)
            except (StoreError, OSError) as e:
                self.message.emit(f"Runs will not be recorded: {e}")
        server = Server(workflow, self.runs.runner.registry, base_dir=doc.base_dir,
                        options=ServeOptions(host=HOST, port=port, freeze_heap=False),
                        runner=self.runs.runner, subscribers=(self._on_event,),
                        log=lambda line: log.info("%s", line), writer=writer,
                        on_outputs=self._on_outputs)
        server.workflow_path = doc.path
        try:
            server.check()
        except (WorkflowInvalidError, ServeError) as e:
            self.message.emit(f"Cannot serve the triggers: {e}")
            return self._not_serving()
        self.server = server
        self._task = asyncio.ensure_future(self._serve(server))
        self.action.setChecked(True)
        self.serving_changed.emit(True)
        where = f" (webhooks on http://{HOST}:{port})" if port else ""
        self.message.emit(f"Serving the workflow's triggers{where}; Run ▸ Serve Triggers "
                          "again stops")
        return True

    def stop(self) -> None:
        """Stop serving: requests in flight finish (serve mode's graceful stop)."""
        if self.server is not None:
            self.server.stop()

    async def _serve(self, server: Server) -> None:
        try:
            await server.serve()
        except OSError as e:  # the port is taken, most likely
            self.message.emit(f"Cannot serve the triggers: {e.strerror or e}")
        except Exception:  # the editor goes on whatever the server did
            log.exception("serving the triggers failed")
            self.message.emit("Serving the triggers stopped on an error (see the log)")
        finally:
            if self.server is server:
                self.server = None
                self._not_serving()
                self.message.emit("Stopped serving the triggers")

    def _not_serving(self) -> bool:
        self.action.setChecked(False)
        self.serving_changed.emit(False)
        return False

    def _has_webhook(self, workflow: object) -> bool:
        registry = self.runs.runner.registry
        return any((cls := registry.get(n.type)) is not None and cls.trigger_kind == "http"
                   and not n.disabled for n in getattr(workflow, "nodes", ()))

    # --- the runs it starts -------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        if type(event) is RunStarted and self.server is not None:
            session = RunSession(self.server.workflow, max_value_bytes=self.runs.max_value_bytes,
                                 budget_bytes=DEFAULT_BUDGET_BYTES)
            session.run_id = event.run_id
            self.runs.follow(session, f"Triggered run {event.run_id}")
        self.runs.follow_record(event)

    def _on_outputs(self, record: NodeOutputs) -> None:
        self.runs.follow_record(record)


def _port(value: object) -> int:
    """The remembered port (a hand-edited settings file may hold anything)."""
    try:
        port = int(str(value))
    except ValueError:
        return DEFAULT_PORT
    return port if 1024 <= port <= 65535 else DEFAULT_PORT
