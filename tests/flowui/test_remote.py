"""The editor as a flowserver client (issue 14 item 6), against a real `flowserver`
process on 127.0.0.1 and a real window: connect (the token in the keychain, never in
the settings file), open and save with a conflict, run on the server live, cancel."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import keyring
import pytest
from keyring.backend import KeyringBackend
from PySide6.QtWidgets import QMessageBox

from flowui.remote import credentials
from flowui.remote.events import event_from_json
from tests.engine.flowserver import FlowServer, delays, hello, start
from tests.flowui.test_run_live import item_states, open_file, run_to_end

Button = QMessageBox.StandardButton


class MemoryKeyring(KeyringBackend):
    """A keychain of this process only: what the editor stores there, the test reads."""

    priority = 10  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.items.pop((service, username), None)


@pytest.fixture
def keychain():
    before = keyring.get_keyring()
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    credentials._session_tokens.clear()
    yield memory
    keyring.set_keyring(before)
    credentials._session_tokens.clear()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = start(tmp_path_factory.mktemp("flowserver"))
    yield srv
    assert srv.stop() == 0, srv.err()


def connected(qtbot, make_window, server: FlowServer):
    window = make_window()
    remote = window.remote
    remote.connect_to(server.url, server.token)
    qtbot.waitUntil(lambda: not remote.busy, timeout=10000)
    assert remote.connected, remote.last_error
    return window


def settle(qtbot, window, timeout: int = 15000) -> None:
    qtbot.waitUntil(lambda: not window.remote.busy, timeout=timeout)


def hang_up(qtbot, window) -> None:
    window.remote.disconnect_server()
    settle(qtbot, window)


def test_events_from_json_are_the_engines_records() -> None:
    e = event_from_json({"event": "node_started", "run_id": "r1", "seq": 3,
                         "ts": "2026-12-04T16:00:00.250Z", "node_id": "a",
                         "node_type": "flow.constant", "attempt": 1})
    assert type(e).__name__ == "NodeStarted" and e.node_id == "a" and e.seq == 3
    assert e.timestamp == pytest.approx(1796400000.25)
    assert e.iteration is None and e.worker is None  # left out of the JSON: None
    assert e.to_dict()["ts"] == "2026-12-04T16:00:00.250Z"
    assert event_from_json({"event": "from_the_future", "run_id": "r", "seq": 1}) is None
    assert event_from_json({"event": "node_started"}) is None  # malformed: skipped
    assert event_from_json([1, 2]) is None


def test_connect_keeps_the_token_in_the_keychain_and_a_wrong_one_says_why(
        qtbot, make_window, qloop, server, keychain, tmp_path) -> None:
    window = make_window()
    remote = window.remote
    assert not remote.actions["run_on_server"].isEnabled()
    remote.connect_to(server.url, "not-the-token")
    settle(qtbot, window)
    assert not remote.connected
    assert "refused the token (401)" in remote.last_error
    assert "server-token" in remote.last_error  # says where to find the right one
    assert "not-the-token" not in remote.last_error
    remote.connect_to("127.0.0.1:1", server.token)
    settle(qtbot, window)
    assert "http://HOST:PORT" in remote.last_error

    remote.connect_to(server.url, server.token)
    settle(qtbot, window)
    assert remote.connected and remote.last_error == ""
    assert remote.actions["run_on_server"].isEnabled()
    assert remote.label.isVisible() and server.url.split("://")[1] in remote.label.text()
    assert keychain.items == {(credentials.SERVICE, server.url): server.token}
    window.settings.sync()
    settings_text = Path(window.settings.fileName()).read_text()
    assert server.url in settings_text and server.token not in settings_text
    credentials._session_tokens.clear()  # a new session: the token comes from the keychain
    assert credentials.token_for(server.url) == server.token
    hang_up(qtbot, window)
    assert not remote.connected and not remote.label.isVisible()
    assert not remote.actions["open_from_server"].isEnabled()


def test_open_and_save_with_a_conflict_reload_or_overwrite(
        qtbot, make_window, qloop, server, keychain) -> None:
    server.put_workflow("greet", hello())
    window = connected(qtbot, make_window, server)
    remote = window.remote
    remote.open_named("greet")
    settle(qtbot, window)
    assert set(window.scene.nodes) == {"c", "t", "o"}
    assert remote.origin is not None and remote.origin[0] == "greet"

    # Saved unchanged: the server's hash follows.
    remote.save_named("greet")
    settle(qtbot, window)
    with server.client() as c:
        assert c.get("/workflows/greet").json()["hash"] == remote.origin[1]

    # Someone else changes it on the server: saving now is a conflict.
    theirs = hello()
    theirs["nodes"][0]["config"]["value"] = "theirs"
    with server.client() as c:
        c.put("/workflows/greet", json={"workflow": theirs}).raise_for_status()
    window.editor.rename_node(None, "o", "out")
    window.answers = [Button.No]  # reload the server's copy
    remote.save_named("greet")
    settle(qtbot, window)
    assert any("changed on the server" in text for text in window.asked)
    assert set(window.scene.nodes) == {"c", "t", "o"}  # their version, ours dropped
    assert window.doc.workflow.nodes[0].config["value"] == "theirs"

    with server.client() as c:  # and again: this time, overwrite
        c.put("/workflows/greet", json={"workflow": hello()}).raise_for_status()
    window.editor.rename_node(None, "o", "out")
    window.answers = [Button.Yes]
    remote.save_named("greet")
    settle(qtbot, window)
    with server.client() as c:
        got = c.get("/workflows/greet").json()
    assert {n["id"] for n in got["workflow"]["nodes"]} == {"c", "t", "out"}
    assert remote.origin == ("greet", got["hash"])
    assert window.stack.isClean()

    window.answers = [Button.Cancel]  # a new name that exists: asked, then left alone
    remote.origin = None
    remote.save_named("greet")
    settle(qtbot, window)
    assert "already exists" in window.asked[-1]
    hang_up(qtbot, window)


def test_a_server_run_shows_the_same_node_states_as_a_local_run(
        qtbot, make_window, qloop, server, keychain, tmp_path) -> None:
    path = tmp_path / "hello.flow.json"
    data = hello()
    for i, node in enumerate(data["nodes"]):
        node["position"] = [i * 300, (i % 2) * 80]
    path.write_text(json.dumps(data))
    window = connected(qtbot, make_window, server)
    open_file(window, path)
    local = run_to_end(qtbot, window)
    local_states = item_states(window)
    assert local.status == "completed" and set(local_states.values()) == {"completed"}
    window.runs.clear()
    assert set(item_states(window).values()) == {None}

    seen: list[set[str]] = []
    window.runs.updated.connect(lambda dirty: seen.append(set(dirty)))
    assert window.remote.run_on_server() is not None
    settle(qtbot, window)
    session = window.runs.session
    assert session is not None and session is not local
    assert session.status == "completed", window.remote.last_error
    assert item_states(window) == local_states
    assert session.result["outputs"] == local.result["outputs"] == {"greeting": "hello world"}
    assert seen  # fed through the live view's frames
    with server.client() as c:
        assert c.get(f"/runs/{session.run_id}").json()["status"] == "completed"

    window.remote.show_server_runs()
    settle(qtbot, window)
    listed = [r.id for r in window.runs_panel.model.runs]
    assert session.run_id in listed and local.run_id not in listed
    assert "Runs on" in window.runs_panel.note.text()
    # The connected window with the server's run shown (FLOWUI_SCREENSHOTS=/tmp keeps it).
    window.view.fit_all()
    shot = Path(os.environ.get("FLOWUI_SCREENSHOTS") or tmp_path) / "remote-run.png"
    assert window.grab().save(str(shot))
    hang_up(qtbot, window)


def test_cancel_cancels_the_server_run(qtbot, make_window, qloop, server, keychain,
                                       tmp_path) -> None:
    path = tmp_path / "slow.flow.json"
    path.write_text(json.dumps(delays(30, 0.2)))
    window = connected(qtbot, make_window, server)
    open_file(window, path)
    window.remote.run_on_server()
    qtbot.waitUntil(lambda: window.remote.remote_run is not None
                    and "d1" in (window.runs.session.running if window.runs.session else ()),
                    timeout=10000)
    assert window.runs.actions["cancel"].isEnabled()
    run_id = window.remote.remote_run
    window.runs.actions["cancel"].trigger()
    settle(qtbot, window, timeout=10000)
    session = window.runs.session
    assert session.status == "cancelled"
    assert item_states(window)["d29"] != "completed"
    assert window.remote.remote_run is None
    assert not window.runs.actions["cancel"].isEnabled()
    detail = httpx.get(f"{server.url}/runs/{run_id}", headers=server.auth).json()
    assert detail["status"] == "cancelled"
    hang_up(qtbot, window)


class DroppingProxy:
    """A TCP proxy to the server that cuts its first connection `after` seconds in (as
    a network drop does: no close frame), and passes later ones through."""

    def __init__(self, upstream: str, after: float) -> None:
        host, port = upstream.split("://")[1].split(":")
        self.upstream, self.after, self.connections = (host, int(port)), after, 0

    async def start(self) -> str:
        import asyncio

        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader, writer) -> None:
        import asyncio

        self.connections += 1
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)

        async def pipe(src, dst) -> None:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
            dst.close()  # one side ended: so does the other, as over a direct connection

        both = asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        try:
            if self.connections == 1:
                await asyncio.wait_for(both, self.after)
            else:
                await both
        except (TimeoutError, ConnectionError):
            pass
        finally:
            both.cancel()
            for w in (writer, up_writer):
                w.transport.abort()


def test_a_dropped_event_stream_reconnects_after_the_last_seq_missing_nothing(
        server, caplog) -> None:
    import asyncio
    import logging

    caplog.set_level(logging.DEBUG)  # every library's debug lines: none may hold the token

    from engine.core.events import RunCompleted
    from flowui.remote.client import ServerClient
    from flowui.remote.live import follow

    async def go() -> tuple[list, int]:
        proxy = DroppingProxy(server.url, after=0.6)
        url = await proxy.start()
        direct, client = ServerClient(server.url, server.token), ServerClient(url, server.token)
        try:
            run_id = await direct.start_run(delays(12, 0.1))  # only the stream goes through it
            got: list = []
            await follow(client, run_id, got.append)
        finally:
            await client.close()
            await direct.close()
            proxy.server.close()
        return got, proxy.connections

    got, connections = asyncio.run(go())
    assert connections == 2  # dropped once, then reconnected
    seqs = [e.seq for e in got]
    assert seqs == list(range(1, len(seqs) + 1))  # no gap, no duplicate
    assert type(got[-1]) is RunCompleted and got[-1].status == "completed"
    done = {e.node_id for e in got if type(e).__name__ == "NodeCompleted"}
    assert done == {"c", *(f"d{i}" for i in range(12))}
    assert server.token not in caplog.text
