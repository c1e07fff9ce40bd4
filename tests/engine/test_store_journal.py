"""Runs made durable without a commit (engine.store.journal) and row changes folded
into a row inserted by the same flush (engine.store.row_changes).

The journal is what lets serve mode accept a request without waiting for SQLite: a
process killed with SIGKILL between accepting runs and committing them must leave
them in the store for the next reader, as interrupted dead letters."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine.store import journal
from engine.store.row_changes import COLUMNS, INSERT_RUN, Change, apply, new_row
from engine.store.store import RunStore

ROOT = Path(__file__).parents[2]

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="sends SIGKILL")

# A process that records three runs with a writer whose timer never fires, so
# nothing is committed, then is killed before it can flush. DURABLE says whether
# begin() journals the rows; READY is printed once they are begun.
_VICTIM = textwrap.dedent("""
    import asyncio, os, signal, sys, time
    from pathlib import Path
    from engine.store.writer import StoreWriter
    from engine.workflow.file import from_data

    store, durable, wait = Path(sys.argv[1]), sys.argv[2] == "1", sys.argv[3] == "1"
    flow = from_data({"format": "flowui-workflow", "version": 1, "name": "victim",
                      "nodes": [{"id": "a", "type": "flow.output"}]})

    async def main():
        writer = StoreWriter(store, interval_s=3600)
        for i in range(3):
            writer.begin(f"run-{i}", flow, source="serve", durable=durable,
                         trigger={"node": "hook", "body": {"n": i},
                                  "headers": {"authorization": "***"}})
        print("READY", flush=True)
        if wait:
            await asyncio.sleep(3600)
        os.kill(os.getpid(), signal.SIGKILL)

    asyncio.run(main())
""")


def victim(store: Path, *, durable: bool, wait: bool = False) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", _VICTIM, str(store), "1" if durable else "0",
                             "1" if wait else "0"], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "READY"
    return proc


def cli_dead_letters(store: Path) -> list[dict]:
    done = subprocess.run([sys.executable, "-m", "engine.cli", "runs", "list", "--status",
                           "dead_letter", "--json", "--store", str(store)],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_journaled_runs_survive_a_sigkill_before_any_commit(tmp_path):
    store = tmp_path / "runs.db"
    proc = victim(store, durable=True)
    assert proc.wait(10) == -signal.SIGKILL
    dead = cli_dead_letters(store)  # a real `flowcli runs list` in another process
    assert sorted(d["run_id"] for d in dead) == ["run-0", "run-1", "run-2"]
    assert {d["status"] for d in dead} == {"interrupted"}
    with RunStore(store) as s:
        detail = s.get("run-1")
        assert detail.trigger == {"node": "hook", "body": {"n": 1},
                                  "headers": {"authorization": "***"}}
        snapshot = s.db.execute("SELECT snapshot FROM workflows WHERE hash = "
                                "(SELECT workflow_hash FROM runs WHERE id = 'run-1')").fetchone()
        assert snapshot is not None and json.loads(snapshot[0])["name"] == "victim"
    assert os.listdir(journal.folder_of(store)) == []  # imported once, then removed


def test_without_the_journal_the_same_kill_loses_them(tmp_path):
    """What the journal is for: the same process without it leaves no trace."""
    store = tmp_path / "runs.db"
    proc = victim(store, durable=False)
    assert proc.wait(10) == -signal.SIGKILL
    assert cli_dead_letters(store) == []


def test_a_live_writers_journal_is_left_alone(tmp_path):
    store = tmp_path / "runs.db"
    proc = victim(store, durable=True, wait=True)
    try:
        with RunStore(store) as s:
            assert s.list_runs().runs == []  # not committed, and its writer is alive
        files = os.listdir(journal.folder_of(store))
        assert len(files) == 1 and os.path.getsize(journal.folder_of(store) / files[0]) > 0
    finally:
        proc.kill()
        proc.wait(10)
    with RunStore(store) as s:
        assert len(s.list_runs().runs) == 3


def test_a_commit_empties_the_journal_and_close_removes_it(tmp_path):
    asyncio.run(_commit_empties_the_journal(tmp_path))


async def _commit_empties_the_journal(tmp_path: Path) -> None:
    from engine.store.writer import StoreWriter
    from engine.workflow.file import from_data

    flow = from_data({"format": "flowui-workflow", "version": 1, "name": "w",
                      "nodes": [{"id": "a", "type": "flow.output"}]})
    writer = StoreWriter(tmp_path / "runs.db", interval_s=3600)
    writer.begin("r1", flow, durable=True)
    assert writer._journal is not None
    path = writer._journal.path
    assert path.stat().st_size > 0
    await writer.flush()
    assert path.stat().st_size == 0  # committed: nothing left to recover
    writer.begin("r2", flow, durable=True)
    assert path.stat().st_size > 0
    await writer.close()
    assert not path.exists()
    with RunStore(tmp_path / "runs.db") as s:
        assert {r.id for r in s.list_runs().runs} == {"r1", "r2"}


# --- row changes ---------------------------------------------------------------------------

_STATUSES = ["queued", "validating", "running", "completed", "failed"]


def _random_change(rng: random.Random, run_id: str) -> Change:
    names = rng.sample(["status", "validating_at", "running_at", "finished_at", "error",
                        "heartbeat", "dead_letter_at", "outputs"], rng.randint(1, 4))
    values = tuple((n, rng.choice(_STATUSES) if n == "status" else rng.choice([None, 1.5, "x"]))
                   for n in names)
    keep = frozenset(n for n in names if n != "status" and rng.random() < 0.3)
    return Change(run_id, values, keep=keep, from_queued=rng.random() < 0.4)


@pytest.mark.parametrize("seed", range(40))
def test_folding_a_change_into_a_new_row_equals_updating_it(seed):
    rng = random.Random(seed)
    changes = [_random_change(rng, "r") for _ in range(rng.randint(1, 6))]

    def fresh() -> list:
        return new_row(id="r", workflow="w", source="serve", status="queued", queued_at=1.0,
                       validating_at=rng.choice([None, 0.5]))

    state = rng.getstate()
    folded_rows, updates = apply([fresh()], changes)
    assert updates == []
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE TABLE runs ({', '.join(COLUMNS)})")
    rng.setstate(state)
    db.execute(INSERT_RUN.replace("OR IGNORE ", ""), fresh())
    for change in changes:
        db.execute(*change.sql())
    assert db.execute("SELECT * FROM runs").fetchone() == folded_rows[0]


def test_changes_to_rows_inserted_earlier_stay_updates():
    rows, updates = apply([new_row(id="new", status="queued")],
                          [Change("old", (("status", "running"),)),
                           Change("new", (("status", "running"),))])
    assert [r[0] for r in rows] == ["new"] and rows[0][COLUMNS.index("status")] == "running"
    assert updates == [("UPDATE runs SET status = ? WHERE id = ?", ("running", "old"))]
