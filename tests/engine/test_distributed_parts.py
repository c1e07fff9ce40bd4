"""The Dask executor's parts that need no cluster: choosing the executor, sizing
batches, sealing payloads, the `worker` field in events and in the run store, and
the clear error when Dask is not installed."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from engine.core.events import NodeCompleted, NodeStarted
from engine.distributed.execution import BatchSizer
from engine.distributed.payload import RunPart, Sealed
from engine.distributed.target import ExecutorChoiceError, parse_executor
from engine.store.encode import decode_events, events_json
from tests.engine.test_cli import FLOWCLI


def test_executor_choices_parse_and_bad_ones_say_the_forms():
    assert parse_executor(None).is_local and parse_executor("local").is_local
    remote = parse_executor("dask://10.0.0.5:8786")
    assert (remote.kind, remote.address, str(remote)) == (
        "address", "tcp://10.0.0.5:8786", "dask://10.0.0.5:8786")
    local = parse_executor("dask:local[3]")
    assert (local.kind, local.workers, str(local)) == ("local_cluster", 3, "dask:local[3]")
    assert parse_executor("dask:local").workers == (os.cpu_count() or 1)
    for bad in ("dask://host", "dask://host:99999", "dask:local[0]", "ray://x:1", "dask"):
        with pytest.raises(ExecutorChoiceError, match="executor"):
            parse_executor(bad)


def test_batches_start_at_one_item_then_keep_scheduling_under_a_tenth_of_the_work():
    sizer = BatchSizer(slots=2)
    assert sizer.size(1000) == 1  # nothing measured yet
    sizer.observe(1, round_trip_s=0.003, work_s=0.001)  # 1 ms of work, 2 ms overhead
    assert sizer.size(1000) == 20  # 2 ms is 10% of 20 items of 1 ms
    heavy = BatchSizer(slots=2)
    heavy.observe(1, round_trip_s=0.030, work_s=0.020)  # 20 ms of work, 10 ms overhead
    assert heavy.size(1000) == 5
    assert heavy.size(12) == 3  # few left: batches small enough to share among slots
    slow = BatchSizer(slots=2)
    slow.observe(1, round_trip_s=0.202, work_s=0.2)  # heavy items: one per task
    assert slow.size(1000) == 1
    tiny = BatchSizer(slots=4)
    tiny.observe(1, round_trip_s=0.002, work_s=0.000_001)
    assert tiny.size(10) == 10  # a batch of microseconds never unbalances anything
    assert tiny.size(100_000) == 1000  # MAX_BATCH


def test_a_sealed_payload_never_shows_what_it_holds():
    secret = "hunter2-SECRET"
    sealed = Sealed("node", RunPart("r1", 0.0, {}, {"TOKEN": secret}, (), None))
    assert secret not in repr(sealed) and secret not in str(sealed)
    assert repr(sealed) == "<flowui node>"
    back = pickle.loads(pickle.dumps(sealed))
    assert back.open().secrets == {"TOKEN": secret}


def test_worker_is_left_out_of_local_events_and_the_store_reads_events_from_before_it():
    local = NodeCompleted("a", "toy.add", 1.0, {}, False, run_id="r", seq=1, timestamp=0.0)
    remote = NodeCompleted("a", "toy.add", 1.0, {}, False, None, None, "tcp://10.0.0.5:40000",
                           run_id="r", seq=2, timestamp=0.0)
    assert "worker" not in local.to_dict()
    assert remote.to_dict()["worker"] == "tcp://10.0.0.5:40000"
    stored = events_json([local, remote])
    assert decode_events("r", [stored]) == [local, remote]
    # a row written before events had `worker`: one field fewer, read as worker None
    old = json.dumps([["node_started", [3, 0.0, "a", "toy.add", 1, None, None]]])
    (event,) = decode_events("r", [old])
    assert isinstance(event, NodeStarted) and event.worker is None and event.attempt == 1


def test_a_missing_dask_is_a_clear_error_naming_the_extra(tmp_path: Path):
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "distributed.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'distributed'\", name='distributed')\n")
    flow = tmp_path / "t.flow.json"
    flow.write_text(json.dumps({"format": "flowui-workflow", "version": 1, "nodes": [
        {"id": "c", "type": "flow.constant", "config": {"value": 1}}]}))
    r = subprocess.run([str(FLOWCLI), "run", str(flow), "--executor", "dask:local[1]"],
                       capture_output=True, text=True, timeout=60,
                       env={**os.environ, "PYTHONPATH": str(shadow)})
    assert r.returncode == 2 and r.stdout == ""
    assert "the Dask executor needs Dask distributed" in r.stderr
    assert "pip install 'flowui[dask]'" in r.stderr


def test_a_local_run_never_imports_dask():
    code = ("import sys, runpy; sys.argv = ['flowcli', 'run', sys.argv[1], '--no-store', "
            "'--events', 'none']\n"
            "try:\n    runpy.run_module('engine.cli', run_name='__main__')\n"
            "except SystemExit as e:\n    assert e.code == 0, e.code\n"
            "assert 'distributed' not in sys.modules and 'dask' not in sys.modules\n")
    flow = Path(__file__).parents[2] / "resources" / "examples" / "if_else.flow.json"
    r = subprocess.run([sys.executable, "-c", code, str(flow)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
