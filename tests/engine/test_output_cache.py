"""The output cache and partial runs, through the real `flowcli` and a real store file.

Executions are counted by a toy plugin that appends each node id it runs to a file,
so every assertion says exactly which nodes ran.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

FLOWCLI = Path(sys.executable).with_name("flowcli")

PLUGIN = '''
import os
from typing import Any
from engine import Node, NodeConfig, NodeContext, Port


def _count(ctx):
    with open(os.environ["TOY_COUNT"], "a") as f:
        f.write(ctx.node_id + "\\n")


class Step(Node):
    type = "toy.step"
    version = int(os.environ.get("TOY_VERSION", "1"))
    inputs = (Port("value", "any", required=False, multiple=True),)
    outputs = (Port("value", "any"),)

    class Config(NodeConfig):
        add: int = 1
        label: str = ""

    async def run(self, ctx: NodeContext, value: Any = None) -> dict[str, Any]:
        _count(ctx)
        return {"value": sum(value or [0]) + self.config.add}


class Big(Node):
    type = "toy.big"
    outputs = (Port("text", "string"),)

    class Config(NodeConfig):
        size: int = 4000
        n: int = 0

    async def run(self, ctx: NodeContext) -> dict[str, Any]:
        _count(ctx)
        return {"text": str(self.config.n) * self.config.size}


class Effect(Node):
    type = "toy.effect"
    cacheable = False
    inputs = (Port("value", "any", required=False),)
    outputs = (Port("value", "any"),)

    class Config(NodeConfig):
        add: int = 100

    async def run(self, ctx: NodeContext, value: Any = None) -> dict[str, Any]:
        _count(ctx)
        return {"value": (value or 0) + self.config.add}
'''


class Toy:
    """A data folder with the toy plugin, a workflow file and the execution counter."""

    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path
        plugins = tmp_path / "plugins"
        plugins.mkdir()
        (plugins / "toy.py").write_text(PLUGIN)
        self.count_file = tmp_path / "count.txt"
        self.env = {**os.environ, "FLOWUI_DATA_DIR": str(tmp_path / "data"),
                    "FLOWUI_PLUGINS": str(plugins), "TOY_COUNT": str(self.count_file)}
        self.flow = tmp_path / "t.flow.json"

    def write(self, nodes: list[dict], wires: list[tuple[str, str]], **extra: object) -> None:
        data = {"format": "flowui-workflow", "version": 1, "name": "toy", "nodes": nodes,
                "connections": [{"from": a, "to": b} for a, b in wires], **extra}
        self.flow.write_text(json.dumps(data), encoding="utf-8")

    def run(self, *args: str, env: dict[str, str] | None = None, code: int = 0,
            ) -> tuple[list[str], dict, list[dict]]:
        """(node ids executed in order, result, events)."""
        self.count_file.write_text("")
        p = subprocess.run([str(FLOWCLI), "run", str(self.flow), "--events", "jsonl",
                            *args], capture_output=True, text=True, timeout=60,
                           env={**self.env, **(env or {})})
        assert p.returncode == code, p.stderr
        events = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
        ran = self.count_file.read_text().split()
        return ran, events[-1] if events else {}, events

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(FLOWCLI), *args], capture_output=True, text=True,
                              timeout=60, env=self.env)


def chain_with_branch(toy: Toy) -> None:
    """a -> b -> c -> d, and e (side effect) -> d; f alone."""
    toy.write([
        {"id": "a", "type": "toy.step", "config": {"add": 1}},
        {"id": "b", "type": "toy.step", "config": {"add": 2}},
        {"id": "c", "type": "toy.step", "config": {"add": 3}},
        {"id": "e", "type": "toy.effect"},
        {"id": "d", "type": "toy.step", "config": {"add": 4}},
        {"id": "f", "type": "toy.step", "config": {"add": 5}},
    ], [("a.value", "b.value"), ("b.value", "c.value"), ("c.value", "d.value"),
        ("e.value", "d.value")])


@pytest.fixture
def toy(tmp_path: Path) -> Toy:
    t = Toy(tmp_path)
    chain_with_branch(t)
    return t


def completed(events: list[dict]) -> dict[str, bool]:
    return {e["node_id"]: e["cached"] for e in events if e["event"] == "node_completed"}


def test_second_cached_run_executes_no_cacheable_node(toy: Toy):
    ran, result, _ = toy.run()
    assert sorted(ran) == ["a", "b", "c", "d", "e", "f"]
    ran, result, events = toy.run("--cache")
    # the side-effecting node always runs; d follows it, and it produced the same value
    # again, so d is reused too
    assert ran == ["e"]
    assert completed(events) == {"a": True, "b": True, "c": True, "e": False, "d": True,
                                 "f": True}
    assert not [e for e in events if e["event"] == "node_started" and e["node_id"] != "e"]
    assert result["status"] == "completed"
    assert result["outputs"] == {"d": {"value": 1 + 2 + 3 + 4 + 100}, "f": {"value": 5}}
    ran, _, _ = toy.run()  # without --cache, scripts and CI get every node executed
    assert sorted(ran) == ["a", "b", "c", "d", "e", "f"]


def test_config_edit_reruns_that_node_and_its_descendants_only(toy: Toy):
    toy.run()
    data = json.loads(toy.flow.read_text())
    data["nodes"][1]["config"]["add"] = 20  # b
    toy.flow.write_text(json.dumps(data))
    ran, result, _ = toy.run("--cache")
    assert sorted(ran) == ["b", "c", "d", "e"]
    assert result["outputs"]["d"] == {"value": 1 + 20 + 3 + 4 + 100}
    ran, _, _ = toy.run("--cache")
    assert ran == ["e"]


def test_a_non_cacheable_node_whose_output_changes_reruns_what_follows(toy: Toy):
    toy.run()
    data = json.loads(toy.flow.read_text())
    data["nodes"][3]["config"] = {"add": 7}  # e: its own key changes, and its output
    toy.flow.write_text(json.dumps(data))
    ran, result, _ = toy.run("--cache")
    assert sorted(ran) == ["d", "e"]
    assert result["outputs"]["d"] == {"value": 1 + 2 + 3 + 4 + 7}


def test_only_with_a_cold_cache_runs_the_ancestors_first(toy: Toy):
    ran, _result, events = toy.run("--only", "c")
    assert ran == ["a", "b", "c"]
    assert set(completed(events)) == {"a", "b", "c"}  # nothing else of the workflow
    ran, _, events = toy.run("--only", "c")
    assert ran == ["c"]  # always runs; its upstream comes from the cache
    assert completed(events) == {"a": True, "b": True, "c": False}


def test_only_takes_even_a_non_cacheable_upstream_from_the_cache(toy: Toy):
    toy.run()
    ran, result, events = toy.run("--only", "d")
    assert ran == ["d"]  # the side effect e is not repeated to fix d
    assert completed(events)["e"] is True
    assert result["outputs"] == {"d": {"value": 1 + 2 + 3 + 4 + 100}}


def test_cached_only_fails_naming_the_missing_node_before_anything_runs(toy: Toy):
    ran, _result, events = toy.run("--only", "d", "--cached-only", code=2)
    assert ran == []
    assert [e["event"] for e in events] == ["run_completed"]
    p = subprocess.run([str(FLOWCLI), "run", str(toy.flow), "--only", "d", "--cached-only"],
                       capture_output=True, text=True, env=toy.env, timeout=60)
    assert p.returncode == 2
    for node in ("'a'", "'e'"):  # the roots; b and c follow a missing one
        assert node in p.stderr
    assert "--cached-only" in p.stderr and "Traceback" not in p.stderr
    toy.run("--until", "b")
    p = subprocess.run([str(FLOWCLI), "run", str(toy.flow), "--only", "d", "--cached-only"],
                       capture_output=True, text=True, env=toy.env, timeout=60)
    assert p.returncode == 2 and "'c'" in p.stderr and "'e'" in p.stderr
    assert "'a'" not in p.stderr and "'b'" not in p.stderr


def test_until_and_from(toy: Toy):
    ran, result, events = toy.run("--until", "c")
    assert ran == ["a", "b", "c"]
    assert result["outputs"] == {"c": {"value": 6}}
    ran, _, events = toy.run("--from", "c")
    assert sorted(ran) == ["c", "d", "e"]  # e: d's other upstream, missing, so it runs
    ran, _, events = toy.run("--from", "c")
    assert sorted(ran) == ["c", "d"]  # now e's last output is taken
    assert completed(events) == {"a": True, "b": True, "c": False, "e": True, "d": False}


def test_type_version_bump_invalidates(toy: Toy):
    toy.run()
    ran, _, _ = toy.run("--cache", env={"TOY_VERSION": "2"})
    assert sorted(ran) == ["a", "b", "c", "d", "e", "f"]
    ran, _, _ = toy.run("--cache", env={"TOY_VERSION": "2"})
    assert ran == ["e"]


def test_run_inputs_are_part_of_the_key(tmp_path: Path):
    toy = Toy(tmp_path)
    toy.write([{"id": "in", "type": "flow.input", "config": {"name": "n"}},
               {"id": "s", "type": "toy.step", "config": {"add": 1}},
               {"id": "k", "type": "toy.step", "config": {"add": 1, "label": "n={{ inputs.n }}"}}],
              [("in.value", "s.value")], inputs={"n": {"type": "integer"}})
    assert sorted(toy.run("--input", "n=1")[0]) == ["k", "s"]
    assert toy.run("--input", "n=1", "--cache")[0] == []
    ran, result, _ = toy.run("--input", "n=2", "--cache")
    assert sorted(ran) == ["k", "s"] and result["outputs"]["s"] == {"value": 3}


def test_usage_errors(toy: Toy):
    for args, words in [(("--only", "zz"), "no top-level node"),
                        (("--only", "a", "--from", "b"), "one of --only"),
                        (("--cached-only",), "goes with --only"),
                        (("--cache", "--no-store"), "leave out --no-store")]:
        p = toy.cli("run", str(toy.flow), *args)
        assert p.returncode == 2 and words in p.stderr, (args, p.stderr)
        assert "Traceback" not in p.stderr


def test_cache_info_and_clear(toy: Toy):
    toy.run()
    info = json.loads(toy.cli("cache", "info", "--json").stdout)
    assert info["entries"] == 6 and info["reusable"] == 5 and info["bytes"] > 0
    p = toy.cli("cache", "clear")
    assert p.returncode == 0 and "cleared 6" in p.stderr
    assert json.loads(toy.cli("cache", "info", "--json").stdout)["entries"] == 0
    assert sorted(toy.run("--cache")[0]) == ["a", "b", "c", "d", "e", "f"]


def test_eviction_keeps_the_cache_under_its_limit(tmp_path: Path):
    toy = Toy(tmp_path)
    nodes = [{"id": f"n{i}", "type": "toy.big", "config": {"size": 400, "n": i}}
             for i in range(40)]
    toy.write(nodes, [])
    limit_mb = 0.002  # 2,000 bytes: a handful of entries
    env = {"FLOWUI_CACHE_MAX_MB": str(limit_mb)}
    toy.run(env=env)
    db = sqlite3.connect(toy.env["FLOWUI_DATA_DIR"] + "/runs.db")
    size, n = db.execute("SELECT sum(size), count(*) FROM cache").fetchone()
    assert 0 < n < 40 and size <= 2000
    p = toy.cli("run", str(toy.flow))
    assert p.returncode == 0
    bad = subprocess.run([str(FLOWCLI), "run", str(toy.flow), "--cache"], capture_output=True,
                         text=True, timeout=60, env={**toy.env, "FLOWUI_CACHE_MAX_MB": "lots"})
    assert bad.returncode == 2 and "FLOWUI_CACHE_MAX_MB" in bad.stderr


def test_pins_are_used_headless_unless_ignored(tmp_path: Path):
    toy = Toy(tmp_path)
    toy.write([{"id": "a", "type": "toy.step", "pinned": {"value": 41}},
               {"id": "b", "type": "toy.step"}], [("a.value", "b.value")])
    ran, result, events = toy.run()
    assert ran == ["b"] and result["outputs"] == {"b": {"value": 42}}
    assert completed(events)["a"] is True
    assert not [e for e in events if e["event"] == "node_started" and e["node_id"] == "a"]
    ran, result, _ = toy.run("--ignore-pins")
    assert ran == ["a", "b"] and result["outputs"] == {"b": {"value": 2}}


def test_the_cache_never_stores_a_secrets_value(tmp_path: Path):
    toy = Toy(tmp_path)
    secret = "sk-cache-test-5f2b9c"
    toy.write([{"id": "k", "type": "flow.constant",
                "config": {"value": "Bearer {{ secrets.TOKEN }}"}},
               {"id": "plain", "type": "flow.constant", "config": {"value": "hello"}},
               {"id": "lit", "type": "toy.step", "config": {"add": 1, "label": secret}}], [])
    env = {"FLOWUI_SECRET_TOKEN": secret}
    toy.run(env=env)
    toy.run("--cache", env=env)
    raw = b"".join(p.read_bytes() for p in Path(toy.env["FLOWUI_DATA_DIR"]).rglob("*")
                   if p.is_file())
    assert b"hello" in raw  # the store was written
    for form in (secret.encode(), secret.encode().hex().encode(),
                 __import__("base64").b64encode(secret.encode())):
        assert form not in raw
    db = sqlite3.connect(toy.env["FLOWUI_DATA_DIR"] + "/runs.db")
    nodes = {r[0] for r in db.execute("SELECT node FROM cache_nodes")}
    assert nodes == {"k", "plain", "lit"}
    # k's output holds the secret's value: never an entry, so it runs every time
    stored = [json.loads(r[0]) for r in db.execute("SELECT outputs FROM cache")]
    assert {"value": "hello"} in stored and len(stored) == 2


def test_a_pin_holding_a_secrets_value_is_refused(tmp_path: Path):
    toy = Toy(tmp_path)
    secret = "sk-pinned-9a8b7c6d"
    toy.write([{"id": "a", "type": "flow.constant",
                "config": {"value": "{{ secrets.TOKEN }}"}, "pinned": {"value": secret}}], [])
    p = subprocess.run([str(FLOWCLI), "run", str(toy.flow)], capture_output=True, text=True,
                       timeout=60, env={**toy.env, "FLOWUI_SECRET_TOKEN": secret})
    assert p.returncode == 2
    assert "pinned output holds the value of secret 'TOKEN'" in p.stderr
    assert secret not in p.stderr + p.stdout


def test_pins_survive_save_and_reload_byte_identically(tmp_path: Path):
    from engine.workflow.file import dumps, load, save

    toy = Toy(tmp_path)
    pinned = {"value": {"name": "Zoë ✓", "n": 1.5, "big": 12345678901234567890,
                        "list": [None, True, {"nested": ["é", -0.0, 1e-7]}], "empty": {}}}
    toy.write([{"id": "a", "type": "toy.step", "pinned": pinned}], [])
    first = tmp_path / "first.flow.json"
    save(load(toy.flow), first)
    again = tmp_path / "again.flow.json"
    save(load(first), again)
    assert first.read_bytes() == again.read_bytes()
    assert load(again).nodes[0].pinned == pinned
    assert json.loads(dumps(load(again)))["nodes"][0]["pinned"] == json.loads(
        json.dumps(pinned))


def test_rerunning_unchanged_nodes_writes_nothing_yet_lost_entries_come_back(toy: Toy):
    toy.run()
    db_path = toy.env["FLOWUI_DATA_DIR"] + "/runs.db"
    db = sqlite3.connect(db_path)
    before = sorted(db.execute("SELECT key, used_at FROM cache"))
    toy.run()
    assert sorted(db.execute("SELECT key, used_at FROM cache")) == before
    db.execute("DELETE FROM cache WHERE cacheable = 1")  # e.g. evicted by another process
    db.commit()
    toy.run()
    assert len(list(db.execute("SELECT key FROM cache"))) == len(before)
    assert toy.run("--cache")[0] == ["e"]
