"""The run store in-process: recording a run, reading it back, list filters and
cursors, id prefixes, deleting and pruning, interrupted runs, damaged and newer
stores, masked secrets in every byte of the files."""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine import Registry, Runner
from engine.errors import RunNotFoundError, StoreError
from engine.secrets.redactor import Redactor
from engine.store import schema
from engine.store.encode import is_cut
from engine.store.recording import start_recorded
from engine.store.store import RunStore
from engine.store.writer import StoreWriter
from engine.workflow.file import from_data

SECRET = "s3cr3t-Value-8812"


def flow(nodes: list, connections: list = (), name: str = "t", **extra):
    return from_data({"format": "flowui-workflow", "version": 1, "name": name, "nodes": nodes,
                      "connections": [{"from": a, "to": b} for a, b in connections], **extra})


CHAIN = flow([{"id": "a", "type": "flow.constant", "config": {"value": "{{ inputs.x }}"}},
              {"id": "b", "type": "debug.log", "config": {}}], [("a.value", "b.message")],
             name="chain", inputs={"x": {"type": "string", "default": "hi"}})


def record(store: RunStore, wf, inputs=None, *, keep_open: bool = False, **kw):
    async def go():
        writer = store.writer()
        run = start_recorded(Runner(Registry.discover()), writer, wf, inputs, path=None,
                             base_dir=Path.cwd(), **kw)
        result = await run.wait()
        if keep_open:  # committed, the connection (and so the -wal file) left open
            await writer.flush()
        else:
            await writer.close()
        return result
    return asyncio.run(go())


@pytest.fixture
def store(tmp_path):
    with RunStore(tmp_path / "runs.db") as s:
        yield s


def test_a_recorded_run_reads_back_whole(store):
    result = record(store, CHAIN, {"x": "yo"})
    detail = store.get(result.run_id)
    s = detail.summary
    assert s.status == "completed" and s.workflow == "chain" and s.source == "cli"
    assert list(s.times) == ["queued", "validating", "running", "finished"]
    assert s.times["queued"] <= s.times["validating"] <= s.times["running"] <= s.times["finished"]
    assert detail.inputs == {"x": "yo"} and detail.snapshot["name"] == "chain"
    assert detail.workflow_hash and s.duration_ms == result.duration_ms
    events = store.events(result.run_id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].name == "run_started" and events[-1].name == "run_completed"
    assert store.events(result.run_id, after_seq=3)[0].seq == 4
    outputs = {o.node_id: o.outputs for o in store.outputs(result.run_id)}
    assert outputs == {"a": {"value": "yo"}, "b": {"value": "yo"}}


def test_a_failed_run_keeps_its_error_and_failing_node(store):
    wf = flow([{"id": "bad", "type": "transform.json_parse", "config": {"json": "{nope"}}])
    result = record(store, wf)
    s = store.get(result.run_id).summary
    assert s.status == "failed" and s.failed_node == "bad" and s.error["node"] == "bad"


def test_values_over_the_limit_are_stored_as_previews_with_their_size(tmp_path):
    with RunStore(tmp_path / "r.db", max_value_bytes=1000) as store:
        wf = flow([{"id": "big", "type": "flow.constant",
                    "config": {"value": "{{ 'x' * 5000 }}"}},
                   {"id": "small", "type": "flow.constant", "config": {"value": 1}}])
        result = record(store, wf)
        outputs = {o.node_id: o.outputs["value"] for o in store.outputs(result.run_id)}
    assert outputs["small"] == 1
    assert is_cut(outputs["big"]) and outputs["big"]["size"] == 5002
    assert len(outputs["big"]["preview"]) < 1100


def test_list_filters_cursor_and_prefixes(store):
    ids = [record(store, CHAIN).run_id for _ in range(3)]
    other = record(store, flow([{"id": "c", "type": "flow.constant", "config": {"value": 1}}],
                               name="other")).run_id
    page = store.list_runs()
    assert [r.id for r in page.runs] == [other, *reversed(ids)] and page.cursor is None
    assert [r.id for r in store.list_runs(workflow="chain").runs] == list(reversed(ids))
    first = store.list_runs(limit=2)
    rest = store.list_runs(limit=2, cursor=first.cursor)
    assert [r.id for r in first.runs + rest.runs] == [other, *reversed(ids)]
    assert store.list_runs(status="failed").runs == []
    assert len(store.list_runs(since=time.time() - 60).runs) == 4
    assert store.list_runs(since=time.time() + 60).runs == []
    assert store.resolve(other[:-2]) == other
    with pytest.raises(RunNotFoundError, match="ambiguous"):
        store.resolve(other[:4])
    with pytest.raises(RunNotFoundError, match="no run 'nope'"):
        store.get("nope")


def test_delete_prune_and_the_change_token(store):
    ids = [record(store, CHAIN).run_id for _ in range(5)]
    token = store.change_token()
    assert store.delete(ids[0][:-1]) == ids[0]
    assert store.change_token() != token
    assert store.events(ids[1]) and store.count() == 4
    with pytest.raises(RunNotFoundError):
        store.get(ids[0])
    assert store.prune(keep=2) == 2
    assert [r.id for r in store.list_runs().runs] == [ids[4], ids[3]]
    assert store.prune(older_than_s=3600) == 0
    assert store.prune(older_than_s=0, now=time.time() + 1) == 2 and store.count() == 0
    assert store.db.execute("SELECT count(*) FROM events").fetchone()[0] == 0
    assert store.db.execute("SELECT count(*) FROM workflows").fetchone()[0] == 0


def test_a_run_whose_process_died_reads_as_interrupted(store, tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    result = record(store, CHAIN)
    store.db.execute("UPDATE runs SET status = 'running', finished_at = NULL, pid = ?, "
                     "heartbeat = ?", (int(dead), time.time()))
    s = store.get(result.run_id).summary
    assert s.status == "interrupted" and "interrupted" in s.times and not s.dead_letter
    # a serve-mode run becomes a dead letter; a stale heartbeat counts on any host
    store.db.execute("UPDATE runs SET status = 'queued', source = 'serve', pid = 1, "
                     "host = 'elsewhere', heartbeat = ?", (time.time() - 3600,))
    assert [r.id for r in store.list_runs(status="dead_letter").runs] == [result.run_id]


def test_a_damaged_store_is_moved_aside_and_a_new_one_started(tmp_path):
    path = tmp_path / "runs.db"
    path.write_bytes(b"this is not a database, just text" * 100)
    warnings: list[str] = []
    with RunStore(path, warn=warnings.append) as store:
        assert store.count() == 0
    assert len(warnings) == 1 and "damaged" in warnings[0] and ".corrupt-" in warnings[0]
    aside = list(tmp_path.glob("runs.db.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not")


def test_a_store_from_a_newer_flowui_is_refused(tmp_path):
    path = tmp_path / "runs.db"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {schema.VERSION + 1}")
    db.close()
    with pytest.raises(StoreError, match=r"newer FlowUI .*upgrade FlowUI.*--store PATH"):
        RunStore(path)
    assert path.exists()  # refused, not moved


def test_secrets_never_reach_the_files_in_any_encoding(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWUI_SECRET_TOKEN", SECRET)
    wf = flow([{"id": "a", "type": "flow.constant",
                "config": {"value": "key={{ secrets.TOKEN }} in={{ inputs.x }}"}},
               {"id": "b", "type": "debug.log", "config": {}}], [("a.value", "b.message")],
              inputs={"x": {"type": "string"}})
    path = tmp_path / "runs.db"
    store = RunStore(path)
    # the secret typed as an input and sent in a trigger payload too; the writer stays
    # open so the -wal file is still there to search
    result = record(store, wf, {"x": SECRET}, trigger={"body": {"token": SECRET}},
                    keep_open=True)
    assert result.status == "completed"
    files = [p for p in tmp_path.iterdir() if p.name.startswith("runs.db")]
    assert any(p.name.endswith("-wal") for p in files)
    data = b"".join(p.read_bytes() for p in files)
    assert b"key=***" in data
    for form in (SECRET, json.dumps(SECRET)[1:-1],
                 base64.b64encode(SECRET.encode()).decode()):
        assert form.encode() not in data, form
    store.close()


def test_secrets_never_reach_the_run_journal(tmp_path, monkeypatch):
    """A durable begin (serve mode's) writes the masked row to the journal at once."""
    monkeypatch.setenv("FLOWUI_SECRET_TOKEN", SECRET)
    wf = flow([{"id": "a", "type": "flow.constant", "config": {"value": "{{ secrets.TOKEN }}"}}])
    runner = Runner(Registry.discover())
    checked = runner.preflight(wf, {}, base_dir=tmp_path)

    async def go() -> bytes:
        writer = StoreWriter(tmp_path / "runs.db", interval_s=3600)
        writer.begin("r", wf, trigger={"body": {"token": SECRET}}, inputs={"x": SECRET},
                     redactor=Redactor(checked.secrets.values()), durable=True)
        assert writer._journal is not None
        data = writer._journal.path.read_bytes()
        await writer.close()
        return data

    data = asyncio.run(go())
    assert b'{\\"token\\":\\"***\\"}' in data  # the trigger, as JSON text in a JSON line
    for form in (SECRET, json.dumps(SECRET)[1:-1], base64.b64encode(SECRET.encode()).decode()):
        assert form.encode() not in data, form
