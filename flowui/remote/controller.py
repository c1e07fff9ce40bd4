"""The editor as a client of a flowserver: File ▸ Connect to Server…, Open from
Server…, Save to Server, Run on Server (shown live as a local run is, through
RunController.follow), the server's runs in the Runs panel, Disconnect.

Every request is a task on the Qt loop (qasync): the window never waits on the
network. The URL is remembered in the settings; the token in the keychain only
(flowui.remote.credentials)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QInputDialog, QLabel, QMessageBox

from engine.errors import FlowError
from engine.store.records import RunSummary
from engine.workflow.file import loads, to_data
from flowui import theme
from flowui.actions import make_action
from flowui.remote import credentials
from flowui.remote.client import RemoteError, ServerClient
from flowui.remote.connect_dialog import ConnectDialog
from flowui.remote.live import FollowError, follow
from flowui.run.controller import snapshot
from flowui.run.keep import DEFAULT_BUDGET_BYTES
from flowui.run.session import RunSession

if TYPE_CHECKING:
    from flowui.mainwindow import MainWindow

log = logging.getLogger("flowui.remote")
Button = QMessageBox.StandardButton


class RemoteController(QObject):
    message = Signal(str)
    connected_changed = Signal(bool)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window, self.runs, self.settings = window, window.runs, window.settings
        self.client: ServerClient | None = None
        self.origin: tuple[str, str] | None = None  # (name, hash) the document came from
        self.remote_run: str | None = None  # the server run being followed
        self.last_error = ""
        self._asking = False  # a conflict's question is due (see _conflict)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.label = QLabel()
        self.label.setToolTip("The server this editor is connected to (File ▸ Disconnect)")
        self.dialog: QObject | None = None  # the dialog last opened (tests answer it)
        self.actions: dict[str, QAction] = {
            "connect_server": make_action(window, "Co&nnect to Server…", self.ask_connect,
                                          None, None, "Connect to a flowserver (URL, token)"),
            "disconnect_server": make_action(window, "&Disconnect from Server",
                                             self.disconnect_server, None, None,
                                             "Forget the server connection"),
            "open_from_server": make_action(window, "Open from Ser&ver…", self.ask_open, None,
                                            None, "Open one of the server's workflows"),
            "save_to_server": make_action(window, "Save to Serve&r", self.ask_save, None, None,
                                          "Save the workflow to the server"),
            "run_on_server": make_action(window, "Run on &Server", self.run_on_server,
                                         "Alt+F5", "run",
                                         "Run the workflow on the server, watched live here"),
            "server_runs": make_action(window, "Show Server R&uns", self.show_server_runs,
                                       None, None, "List the server's runs in the Runs panel"),
        }
        self.runs.external_cancel = self.cancel_remote
        window.doc.reset.connect(self._on_doc_reset)
        self._enable()

    # --- state -----------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self.client is not None

    @property
    def busy(self) -> bool:
        """A request or a followed run is in flight (tests wait for this to clear)."""
        return self._asking or any(not t.done() for t in self._tasks)

    def _enable(self) -> None:
        for name in ("disconnect_server", "open_from_server", "save_to_server",
                     "run_on_server", "server_runs"):
            self.actions[name].setEnabled(self.connected)
        if self.client is None:
            self.label.setText("")
            self.label.hide()
        else:
            self.label.setText(f"  ● Server {self.client.url.split('://', 1)[-1]}  ")
            self.label.setStyleSheet(f"color: {theme.status_color('completed').name()};")
            self.label.show()

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _fail(self, what: str, error: Exception) -> None:
        self.last_error = f"{what}: {error}"
        self.message.emit(self.last_error)

    def _on_doc_reset(self) -> None:
        self.origin = None  # set again after a load from the server

    # --- connecting ------------------------------------------------------------------------

    def ask_connect(self) -> None:
        url = credentials.remembered_url(self.settings)
        dialog = ConnectDialog(url, credentials.token_for(url) if url else "", self.window)
        dialog.accepted_values.connect(self.connect_to)
        self.dialog = dialog
        dialog.open()  # never exec(): the network work runs on this loop

    def connect_to(self, url: str, token: str) -> asyncio.Task[Any]:
        return self._spawn(self._connect(url, token))

    async def _connect(self, url: str, token: str) -> bool:
        if not url.startswith(("http://", "https://")):
            self._fail("Cannot connect", ValueError(
                f"{url!r} is not a server address: write it as http://HOST:PORT"))
            return False
        client = ServerClient(url, token)
        try:
            await client.check()
        except RemoteError as e:
            await client.close()
            self._fail("Cannot connect", e)
            return False
        await self._drop_client()
        self.client = client
        self.last_error = ""
        credentials.remember(self.settings, client.url, token)
        self._enable()
        self.connected_changed.emit(True)
        self.message.emit(f"Connected to {client.url}")
        return True

    def disconnect_server(self) -> None:
        self._spawn(self._drop_client())
        self.message.emit("Disconnected from the server")

    async def _drop_client(self) -> None:
        client, self.client = self.client, None
        self.origin = None
        self._enable()
        if client is not None:
            self.connected_changed.emit(False)
            await client.close()

    # --- open and save ---------------------------------------------------------------------

    def ask_open(self) -> None:
        self._spawn(self._ask_open())

    async def _ask_open(self) -> None:
        if self.client is None:
            return
        try:
            names = [w["name"] for w in await self.client.workflows()]
        except RemoteError as e:
            return self._fail("Cannot list the server's workflows", e)
        if not names:
            self.message.emit("The server has no workflows yet (Save to Server adds one)")
            return
        dialog = QInputDialog(self.window)
        dialog.setWindowTitle("Open from Server")
        dialog.setLabelText(f"Workflows on {self.client.url}:")
        dialog.setComboBoxItems(names)
        dialog.textValueSelected.connect(self.open_named)
        self.dialog = dialog
        dialog.open()

    def open_named(self, name: str) -> asyncio.Task[Any] | None:
        # Asked here, outside any task: a modal box inside a task's step would run the
        # loop's other callbacks re-entrantly (qasync refuses to enter a second task).
        if not self.window.files.maybe_save():
            return None
        return self._spawn(self._open(name))

    async def _open(self, name: str) -> bool:
        if self.client is None:
            return False
        try:
            got = await self.client.workflow(name)
            workflow = loads(json.dumps(got["workflow"]), source=f"{self.client.url} {name}")
        except (RemoteError, FlowError) as e:
            self._fail(f"Cannot open {name!r} from the server", e)
            return False
        self.window.files._load(workflow, None)
        self.origin = (name, str(got["hash"]))
        self.message.emit(f"Opened {name} from {self.client.url}")
        return True

    def ask_save(self) -> None:
        if self.origin is not None:
            self.save_named(self.origin[0])
            return
        default = self.window.doc.workflow.name or "workflow"
        dialog = QInputDialog(self.window)
        dialog.setWindowTitle("Save to Server")
        dialog.setLabelText("Name on the server (letters, digits, spaces, _ and -):")
        dialog.setTextValue(default)
        dialog.textValueSelected.connect(self.save_named)
        self.dialog = dialog
        dialog.open()

    def save_named(self, name: str, *, force: bool = False) -> asyncio.Task[Any]:
        return self._spawn(self._save(name, force))

    async def _save(self, name: str, force: bool) -> bool:
        client = self.client
        if client is None:
            return False
        known = self.origin[1] if self.origin and self.origin[0] == name else None
        document = to_data(self.window.doc.workflow)
        try:
            if known is None and not force:
                new_hash = await client.create_workflow(name, document)
            else:
                new_hash = await client.save_workflow(name, document, None if force else known)
        except RemoteError as e:
            if e.status in (409, 412):
                self._asking = True  # asked on the next turn, outside this task
                QTimer.singleShot(0, lambda status=e.status: self._conflict(name, status))
                return False
            self._fail(f"Cannot save {name!r} to the server", e)
            return False
        self.origin = (name, new_hash)
        self.window.stack.setClean()
        self.message.emit(f"Saved {name} to {client.url}")
        return True

    def _conflict(self, name: str, status: int) -> None:
        self._asking = False
        what = ("was changed on the server since you opened it" if status == 412
                else "already exists on the server")
        answer = QMessageBox.question(
            self.window, "The server's copy changed",
            f"Workflow {name!r} {what}.\n\nOverwrite it with yours (Yes), or reload the "
            "server's copy and lose your changes here (No)?",
            Button.Yes | Button.No | Button.Cancel)
        if answer == Button.Yes:
            self.save_named(name, force=True)
        elif answer == Button.No:
            self.window.stack.setClean()  # the user chose to drop the changes
            self._spawn(self._open(name))
        else:
            self.message.emit(f"Not saved: {name} on the server is unchanged")

    # --- running on the server -------------------------------------------------------------

    def run_on_server(self) -> asyncio.Task[Any] | None:
        if self.remote_run is not None or self.runs.running:
            self.message.emit("A run is already going: cancel it first")
            return None
        problems = self.runs.validation.revalidate()
        if problems:
            self.message.emit(f"Cannot run: the workflow has problems (see Problems). "
                              f"First: {problems[0]}")
            self.runs.problems_wanted.emit()
            return None
        return self._spawn(self._run())

    async def _run(self) -> bool:
        client = self.client
        if client is None:
            return False
        workflow = snapshot(self.window.doc.workflow)
        try:
            run_id = await client.start_run(to_data(workflow))
        except RemoteError as e:
            self._fail("The server did not start the run", e)
            return False
        session = RunSession(workflow, max_value_bytes=self.runs.max_value_bytes,
                             budget_bytes=DEFAULT_BUDGET_BYTES)
        session.run_id = run_id
        short = run_id.rsplit("-", 1)[-1]  # ids are <time>-<random>: the part that differs
        if not self.runs.follow(session, f"  Running on the server · run {short}  "):
            return False
        self.remote_run = run_id
        self.runs.actions["cancel"].setEnabled(True)
        self.message.emit(f"Running on {client.url} (run {short}); Shift+F5 cancels it")
        try:
            await follow(client, run_id, self.runs.follow_record)
        except FollowError as e:
            self._fail("Stopped following the server's run", e)
            if not session.finished:
                session.end("interrupted", str(e))
        finally:
            self.remote_run = None
            self.runs.apply_pending()
            self.runs.actions["cancel"].setEnabled(self.runs.running)
        if session.finished:
            self.message.emit(f"Server run {short} {session.status} (on {client.url})")
        return True

    def cancel_remote(self) -> bool:
        """RunController's Cancel when no local run goes: cancel the server's run (its
        run_completed, status cancelled, comes through the event stream)."""
        if self.remote_run is None or self.client is None:
            return False
        self._spawn(self._cancel(self.client, self.remote_run))
        self.message.emit("Cancelling the run on the server…")
        return True

    async def _cancel(self, client: ServerClient, run_id: str) -> None:
        try:
            await client.cancel_run(run_id)
        except RemoteError as e:
            self._fail("The server did not cancel the run", e)

    # --- the server's runs in the Runs panel -----------------------------------------------

    def show_server_runs(self) -> asyncio.Task[Any]:
        return self._spawn(self._list_runs())

    async def _list_runs(self) -> bool:
        client = self.client
        if client is None:
            return False
        try:
            found = await client.runs()
        except RemoteError as e:
            self._fail("Cannot list the server's runs", e)
            return False
        self.window.runs_panel.show_runs([_summary(r) for r in found],
                                         f"Runs on {client.url}")
        self.window._docks["runs"].raise_()
        return True

    def close(self) -> None:
        """The window closes: stop following, drop the connection."""
        for task in list(self._tasks):
            task.cancel()
        if self.client is not None:
            client, self.client = self.client, None
            self._spawn(client.close())


def _seconds(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _summary(run: dict[str, Any]) -> RunSummary:
    """A run as GET /runs gives it, as the Runs panel lists the store's."""
    return RunSummary(id=run["run_id"], workflow=run["workflow"],
                      workflow_path=run.get("workflow_path"), source=run.get("source", "api"),
                      status=run["status"],
                      times={k: _seconds(v) for k, v in (run.get("times") or {}).items()},
                      duration_ms=run.get("duration_ms"), error=run.get("error"),
                      failed_node=run.get("failed_node"), retry_of=run.get("retry_of"))
