"""`flowserver` end to end: a real server process on 127.0.0.1, real HTTP, WebSocket and
SSE clients, a real run store."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.engine.flowserver import FLOWSERVER, FlowServer, delays, flow, hello, start

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlowServer]:
    tmp = tmp_path_factory.mktemp("flowserver")
    srv = start(tmp, env={"FLOWUI_DATA_DIR": str(tmp / "data"),
                          "FLOWUI_SECRET_API_KEY": "s3cr3t-value-123"})
    srv.put_workflow("hello", hello())
    srv.put_workflow("slow", delays(40, 0.05))
    yield srv
    assert srv.stop() == 0, srv.err()


def read_ws(srv: FlowServer, run_id: str, after_seq: int = 0, limit: int | None = None,
            ) -> tuple[list[dict], int | None]:
    """Events from the WebSocket (at most `limit`, then hang up) and the close code."""
    got: list[dict] = []
    url = f"{srv.ws_url}/runs/{run_id}/events?after_seq={after_seq}"
    with connect(url, additional_headers=srv.auth, open_timeout=10) as ws:
        try:
            while limit is None or len(got) < limit:
                got += json.loads(ws.recv(timeout=30))
        except ConnectionClosed as e:
            return got, e.rcvd.code if e.rcvd else None
    return got, None


def start_run(srv: FlowServer, body: dict) -> str:
    with srv.client() as c:
        r = c.post("/runs", json=body)
    assert r.status_code == 202, r.text
    return r.json()["run_id"]  # type: ignore[no-any-return]


# --- runs -----------------------------------------------------------------------------------


def test_post_runs_answers_at_once_and_the_run_completes(server: FlowServer) -> None:
    with server.client() as c:
        r = c.post("/runs", json={"workflow": "hello"})
        assert r.status_code == 202
        body = r.json()
        assert body["status"] == "queued" and r.headers["location"] == f"/runs/{body['run_id']}"
        assert body["urls"]["websocket"] == f"/runs/{body['run_id']}/events"
    detail = server.wait_run(body["run_id"])
    assert detail["status"] == "completed"
    assert detail["outputs"] == {"greeting": "hello world"}
    assert set(detail["times"]) == {"queued", "validating", "running", "finished"}
    assert detail["source"] == "api"


def test_slow_run_is_answered_before_it_ends(server: FlowServer) -> None:
    started = time.monotonic()
    run_id = start_run(server, {"workflow": "slow"})
    assert time.monotonic() - started < 1.5  # the run itself takes 2 s
    with server.client() as c:
        assert c.get(f"/runs/{run_id}").json()["status"] in ("queued", "validating", "running")
    assert server.wait_run(run_id)["status"] == "completed"


def test_inline_workflow_with_inputs(server: FlowServer) -> None:
    wf = flow("inline", [
        {"id": "i", "type": "flow.input", "config": {"name": "who"}},
        {"id": "t", "type": "transform.template", "config": {"template": "hi {{ value }}"}},
        {"id": "o", "type": "flow.output", "config": {"name": "out"}}],
        [("i.value", "t.value"), ("t.text", "o.value")],
        inputs={"who": {"type": "string"}})
    run_id = start_run(server, {"workflow": wf, "inputs": {"who": "ada"}})
    assert server.wait_run(run_id)["outputs"] == {"out": "hi ada"}


def test_invalid_run_is_refused_with_every_problem(server: FlowServer) -> None:
    wf = flow("bad", [{"id": "a", "type": "no.such", "config": {}},
                      {"id": "b", "type": "also.missing", "config": {}}])
    with server.client() as c:
        r = c.post("/runs", json={"workflow": wf})
        assert r.status_code == 422
        err = r.json()["error"]
        assert err["type"] == "invalid_workflow"
        assert {p["node"] for p in err["details"]} == {"a", "b"}
        r = c.post("/runs", json={"workflow": "nope", "inputs": [], "bogus": 1})
        assert r.status_code == 422  # the body's shape: every problem at once
        wheres = {p["where"] for p in r.json()["error"]["details"]}
        assert {"body.inputs", "body.bogus"} <= wheres
        assert c.post("/runs", json={"workflow": "nope"}).status_code == 404
        deep: list = []
        for _ in range(100):
            deep = [deep]
        r = c.post("/runs", content=json.dumps({"workflow": "hello", "inputs": {"x": deep},
                                                "trigger": {"y": float("nan")}}),
                   headers={"content-type": "application/json"})
        assert r.status_code == 422, r.text  # the JSON limits of docs/limits.md
        assert len(r.json()["error"]["details"]) == 2  # both problems at once
        r = c.post("/runs", content="[" * 100_000 + "]" * 100_000,
                   headers={"content-type": "application/json"})
        assert r.status_code in (400, 422) and "error" in r.json()


def test_websocket_streams_every_event_in_order(server: FlowServer) -> None:
    run_id = start_run(server, {"workflow": "slow"})
    events, code = read_ws(server, run_id)
    assert code == 1000
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["event"] == "run_started" and events[-1]["event"] == "run_completed"
    assert sum(e["event"] == "node_completed" for e in events) == 41
    with server.client() as c:
        stored = c.get(f"/runs/{run_id}/events").json()["events"]
    assert stored == events


def test_reconnect_with_after_seq_misses_nothing(server: FlowServer) -> None:
    run_id = start_run(server, {"workflow": "slow"})
    first, _ = read_ws(server, run_id, limit=10)  # hang up mid-run
    assert first and first[-1]["event"] != "run_completed"
    time.sleep(0.3)  # events go on meanwhile
    rest, code = read_ws(server, run_id, after_seq=first[-1]["seq"])
    assert code == 1000
    seqs = [e["seq"] for e in first + rest]
    assert seqs == list(range(1, len(seqs) + 1))  # no gap, no duplicate
    assert rest[-1]["event"] == "run_completed"
    again, _ = read_ws(server, run_id, after_seq=5)  # a finished run: from the store
    assert [e["seq"] for e in again] == seqs[5:]


def test_server_sent_events(server: FlowServer) -> None:
    run_id = start_run(server, {"workflow": "slow"})
    with server.client() as c, c.stream("GET", f"/runs/{run_id}/events/stream",
                                        params={"after_seq": 3}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        text = "".join(r.iter_text())
    blocks = [b for b in text.split("\n\n") if b.strip()]
    ids = [int(b.split("\n")[0].removeprefix("id: ")) for b in blocks]
    data = [json.loads(b.split("\n")[1].removeprefix("data: ")) for b in blocks]
    assert ids == [d["seq"] for d in data] == list(range(4, len(ids) + 4))
    assert data[-1]["event"] == "run_completed"


def test_cancel(server: FlowServer) -> None:
    run_id = start_run(server, {"workflow": "slow"})
    first, _ = read_ws(server, run_id, limit=3)
    with server.client() as c:
        r = c.post(f"/runs/{run_id}/cancel")
        assert r.status_code == 202
    events, code = read_ws(server, run_id, after_seq=first[-1]["seq"])
    assert code == 1000
    assert events[-1]["event"] == "run_completed" and events[-1]["status"] == "cancelled"
    assert server.wait_run(run_id)["status"] == "cancelled"
    with server.client() as c:
        assert c.post(f"/runs/{run_id}/cancel").status_code == 409
        assert c.post("/runs/nosuchrun/cancel").status_code == 404


def test_list_filters_and_cursor_pages(server: FlowServer) -> None:
    server.put_workflow("greeter", hello())  # its document's own name is "hello"
    ids = [start_run(server, {"workflow": "greeter"}) for _ in range(5)]
    for run_id in ids:
        server.wait_run(run_id)
    with server.client() as c:
        seen: list[str] = []
        cursor = None
        while True:
            params = {"workflow": "greeter", "status": "completed", "limit": 2}
            page = c.get("/runs", params={**params, **({"cursor": cursor} if cursor else {})})
            assert page.status_code == 200
            body = page.json()
            assert len(body["runs"]) <= 2
            seen += [r["run_id"] for r in body["runs"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert set(ids) == set(seen) and len(seen) == len(set(seen))  # greeter's only
        assert all(r["workflow"] == "hello" for r in c.get("/runs").json()["runs"]
                   if r["run_id"] in ids)
        assert c.get("/runs", params={"cursor": "garbage"}).status_code == 422
        assert c.get("/runs", params={"status": "nonsense"}).status_code == 422


def test_outputs_and_artifacts_match_flowcli_export(server: FlowServer, tmp_path: Path) -> None:
    run_id = start_run(server, {"workflow": "hello"})
    server.wait_run(run_id)
    flowcli = Path(sys.executable).with_name("flowcli")
    subprocess.run([str(flowcli), "runs", "export", run_id, str(tmp_path), "--store",
                    str(server.store)], check=True, capture_output=True)
    with server.client() as c:
        listed = c.get(f"/runs/{run_id}/artifacts").json()["artifacts"]
        assert [a["name"] for a in listed] == ["trace.json", "logs.txt", "metadata.json",
                                               "outputs.json"]
        for a in listed:
            served = c.get(a["url"]).text
            assert served == (tmp_path / a["name"]).read_text(), a["name"]
        outputs = c.get(f"/runs/{run_id}/outputs").json()
        assert outputs["outputs"] == {"greeting": "hello world"}
        assert {n["node_id"] for n in outputs["nodes"]} == {"c", "t", "o"}
        assert c.get(f"/runs/{run_id}/artifacts/passwd").status_code == 422


def test_secrets_never_in_a_response(server: FlowServer) -> None:
    wf = flow("secret", [
        {"id": "c", "type": "flow.constant", "config": {"value": "{{ secrets.API_KEY }}"}},
        {"id": "o", "type": "flow.output", "config": {"name": "leak"}}], [("c.value", "o.value")])
    run_id = start_run(server, {"workflow": wf, "inputs": {}})
    server.wait_run(run_id)
    with server.client() as c:
        texts = [c.get(f"/runs/{run_id}{p}").text for p in (
            "", "/events", "/outputs", "/artifacts/trace.json", "/artifacts/logs.txt",
            "/artifacts/metadata.json", "/artifacts/outputs.json", "/events/stream")]
    ws_events, _ = read_ws(server, run_id)
    texts.append(json.dumps(ws_events))
    assert all("s3cr3t-value-123" not in t for t in texts)
    assert json.loads(texts[0])["outputs"]["leak"] == "***"  # masked, as everywhere


# --- workflows ------------------------------------------------------------------------------


def test_workflow_crud_and_if_match(server: FlowServer) -> None:
    with server.client() as c:
        r = c.post("/workflows", json={"name": "made", "workflow": hello()})
        assert r.status_code == 201, r.text
        etag = r.headers["etag"]
        assert (server.folder / "made.flow.json").exists()
        assert c.post("/workflows", json={"name": "made", "workflow": hello()}
                      ).status_code == 409
        got = c.get("/workflows/made")
        assert got.headers["etag"] == etag and got.json()["workflow"]["name"] == "hello"
        assert "made" in [w["name"] for w in c.get("/workflows").json()["workflows"]]
        changed = hello() | {"name": "changed"}
        r = c.put("/workflows/made", json={"workflow": changed}, headers={"If-Match": etag})
        assert r.status_code == 200 and r.headers["etag"] != etag
        stale = c.put("/workflows/made", json={"workflow": hello()}, headers={"If-Match": etag})
        assert stale.status_code == 412
        assert stale.json()["error"]["type"] == "precondition_failed"
        assert c.get("/workflows/made").json()["workflow"]["name"] == "changed"  # unchanged
        report = c.post("/workflows/made/validate").json()
        assert report == {"valid": True, "problems": []}
        assert c.delete("/workflows/made", headers={"If-Match": etag}).status_code == 412
        assert c.delete("/workflows/made").status_code == 204
        assert c.get("/workflows/made").status_code == 404
        bad = c.post("/workflows", json={"name": "broken", "workflow": {"format": "x"}})
        assert bad.status_code == 422 and bad.json()["error"]["details"]


def test_workflow_validate_lists_every_problem(server: FlowServer) -> None:
    server.put_workflow("twobad", flow("twobad", [{"id": "a", "type": "no.such"},
                                                  {"id": "b", "type": "no.such"}]))
    with server.client() as c:
        report = c.post("/workflows/twobad/validate").json()
    assert report["valid"] is False and {p["node"] for p in report["problems"]} == {"a", "b"}


@pytest.mark.parametrize("name", ["..", "../secret", "..%2Fsecret", "%2e%2e%2fsecret",
                                  ".hidden", "a%2Fb", "x%00y", "link"])
def test_path_escapes_are_refused(server: FlowServer, name: str) -> None:
    outside = server.folder.parent / "secret.flow.json"
    outside.write_text(json.dumps(hello()))
    link = server.folder / "link.flow.json"
    if not link.exists():
        link.symlink_to(outside)
    with server.client() as c:
        for method, body in (("GET", None), ("PUT", {"workflow": hello()}), ("DELETE", None)):
            r = c.request(method, f"/workflows/{name}", json=body)
            assert r.status_code in (400, 404, 422), (method, name, r.status_code)
            assert "error" in r.json()
        r = c.post("/runs", json={"workflow": name.replace("%2F", "/").replace("%2e", ".")})
        assert r.status_code in (400, 404, 422)
    assert outside.read_text() == json.dumps(hello())  # nothing outside was touched


# --- security -------------------------------------------------------------------------------

ENDPOINTS = [("GET", "/workflows"), ("POST", "/workflows"), ("GET", "/workflows/hello"),
             ("PUT", "/workflows/hello"), ("DELETE", "/workflows/hello"),
             ("POST", "/workflows/hello/validate"), ("POST", "/runs"), ("GET", "/runs"),
             ("GET", "/runs/x"), ("POST", "/runs/x/cancel"), ("GET", "/runs/x/events"),
             ("GET", "/runs/x/events/stream"), ("GET", "/runs/x/outputs"),
             ("GET", "/runs/x/artifacts"), ("GET", "/runs/x/artifacts/trace.json"),
             ("GET", "/nodes"), ("GET", "/metrics")]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-token-0123456789"},
                                     {"Authorization": "Basic Zm9vOmJhcg=="}],
                         ids=["missing", "wrong", "basic"])
def test_token_required_everywhere(server: FlowServer, headers: dict) -> None:
    with httpx.Client(base_url=server.url, headers=headers) as c:
        for method, path in ENDPOINTS:
            r = c.request(method, path, json={})
            assert r.status_code == 401, (method, path, r.status_code)
            assert r.json()["error"]["type"] == "unauthorized"
            assert r.headers["www-authenticate"] == "Bearer"
        assert c.get("/health").status_code == 200
    run_id = start_run(server, {"workflow": "hello"})
    with connect(f"{server.ws_url}/runs/{run_id}/events", additional_headers=headers) as ws, \
            pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    with connect(f"{server.ws_url}/runs/{run_id}/events?token={server.token}") as ws:
        assert json.loads(ws.recv(timeout=10))[0]["event"] == "run_started"


def test_body_limit_and_unknown_run(server: FlowServer) -> None:
    with server.client() as c:
        r = c.post("/runs", content=b"{" + b" " * (33 * 1024 * 1024) + b"}",
                   headers={"content-type": "application/json"})
        assert r.status_code == 413 and r.json()["error"]["type"] == "too_large"
        r = c.get("/runs/nosuchrun")
        assert r.status_code == 404 and r.json()["error"]["type"] == "not_found"
    with connect(f"{server.ws_url}/runs/nosuchrun/events", additional_headers=server.auth
                 ) as ws, pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404


def test_websocket_message_size_limit(server: FlowServer) -> None:
    run_id = start_run(server, {"workflow": "slow"})
    with connect(f"{server.ws_url}/runs/{run_id}/events", additional_headers=server.auth,
                 max_size=None) as ws, pytest.raises(ConnectionClosed) as closed:
        ws.send("x" * (128 * 1024))
        while True:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def test_nodes_health_metrics(server: FlowServer) -> None:
    with server.client() as c:
        nodes = {n["type"]: n for n in c.get("/nodes").json()["nodes"]}
        assert "config_schema" in nodes["transform.template"]
        assert nodes["transform.template"]["inputs"][0]["name"] == "value"
        assert c.get("/health").json()["status"] == "ok"
        text = c.get("/metrics").text
    assert 'flowui_runs_total{status="completed"}' in text
    for name in ("flowui_node_executions_total", "flowui_queue_depth",
                 "flowui_run_duration_seconds_bucket", "flowui_run_duration_seconds_count"):
        assert name in text


def test_openapi_has_bearer_auth_and_error_model(server: FlowServer) -> None:
    doc = httpx.get(f"{server.url}/openapi.json").json()
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "ErrorBody" in doc["components"]["schemas"]
    post = doc["paths"]["/runs"]["post"]
    assert {"202", "401", "422", "503"} <= set(post["responses"])
    assert httpx.get(f"{server.url}/docs").status_code == 200


def test_token_file_is_private_and_printed_once(tmp_path: Path) -> None:
    srv = start(tmp_path, env={"FLOWUI_DATA_DIR": str(tmp_path / "data")})
    try:
        assert stat.S_IMODE((tmp_path / "token").stat().st_mode) == 0o600
        assert srv.token in srv.err()
    finally:
        assert srv.stop() == 0
    again = start(tmp_path, env={"FLOWUI_DATA_DIR": str(tmp_path / "data")})
    try:
        assert again.token == srv.token and again.token not in again.err()
    finally:
        again.stop()
    os.chmod(tmp_path / "token", 0o644)
    r = subprocess.run([str(FLOWSERVER), "--port", "0", "--token-file",
                        str(tmp_path / "token")], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "chmod 600" in r.stderr


def test_non_loopback_without_token_is_refused(tmp_path: Path) -> None:
    r = subprocess.run([str(FLOWSERVER), "--host", "0.0.0.0", "--port", "0", "--no-token",
                        "--workflows", str(tmp_path)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2
    assert "refusing to listen on 0.0.0.0 without a token" in r.stderr


def test_cors_is_off_unless_origins_are_given(server: FlowServer, tmp_path: Path) -> None:
    preflight = {"Origin": "http://app.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"}
    r = httpx.options(f"{server.url}/runs", headers=preflight)
    assert "access-control-allow-origin" not in r.headers
    r = httpx.get(f"{server.url}/runs", headers={**server.auth, "Origin": "http://app.example"})
    assert "access-control-allow-origin" not in r.headers
    srv = start(tmp_path, "--cors-origin", "http://app.example",
                env={"FLOWUI_DATA_DIR": str(tmp_path / "data")})
    try:
        r = httpx.options(f"{srv.url}/runs", headers=preflight)
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "http://app.example"
        other = httpx.options(f"{srv.url}/runs", headers={**preflight,
                                                          "Origin": "http://evil.example"})
        assert other.headers.get("access-control-allow-origin") != "http://evil.example"
        assert httpx.get(f"{srv.url}/runs", headers={"Origin": "http://app.example"}
                         ).status_code == 401  # CORS does not stand in for the token
    finally:
        assert srv.stop() == 0
