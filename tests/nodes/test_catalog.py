"""The built-in catalog is a NodePack: every type listed by id, each module imported
only when a workflow uses one of its types."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import subprocess
import sys

import pytest

import nodes
from engine import Node, NodePack, Registry
from engine.errors import DuplicateNodeTypeError, RegistryError


def defined_node_types() -> dict[str, type[Node]]:
    found = {}
    for info in pkgutil.iter_modules(nodes.__path__):
        module = importlib.import_module(f"nodes.{info.name}")
        for value in vars(module).values():
            if inspect.isclass(value) and issubclass(value, Node) and "type" in value.__dict__ \
                    and value.__module__ == module.__name__:
                found[value.type] = value
    return found


def test_the_list_and_the_classes_agree():
    listed = {cls.type: cls for cls in nodes.catalog()}
    assert listed == defined_node_types()
    assert len(listed) == 29


def test_discovery_knows_every_id_without_importing_a_node_module():
    code = ("import sys, json\nfrom engine import Registry\n"
            "r = Registry.discover(plugins=False)\nids = r.type_ids()\n"
            "before = sorted(m for m in sys.modules if m.startswith('nodes.'))\n"
            "r.get('flow.constant')\n"
            "after = sorted(m for m in sys.modules if m.startswith('nodes.'))\n"
            "print(json.dumps([ids, before, after, 'httpx' in sys.modules]))")
    ids, before, after, httpx = json.loads(subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert len(ids) == 29 and "http.request" in ids
    assert before == [] and after == ["nodes.flow"] and not httpx


def test_a_pack_entry_that_is_wrong_is_reported_and_the_rest_still_load(tmp_path, monkeypatch):
    pkg = tmp_path / "acme_nodes"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "good.py").write_text(
        "from engine import Node\nclass Good(Node):\n    type = 'acme.good'\n")
    (pkg / "broken.py").write_text("raise ImportError('no such library: frobnicate')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry()
    registry.register_pack(NodePack("acme_nodes", {"acme.good": "good:Good",
                                                   "acme.broken": "broken:Broken",
                                                   "acme.liar": "good:Good"}))
    assert registry.type_ids() == ["acme.broken", "acme.good", "acme.liar"]
    assert registry.get("acme.good").type == "acme.good"
    assert registry.get("acme.broken") is None
    assert registry.get("acme.liar") is None  # listed under an id its class does not have
    assert any("no such library: frobnicate" in e for e in registry.load_errors)
    assert any("'acme.liar'" in e and "not a Node with that type" in e
               for e in registry.load_errors)
    assert [cls.type for cls in registry] == ["acme.good"]


def test_a_listed_id_defined_again_is_a_duplicate():
    registry = Registry()
    registry.register_pack(nodes.catalog)

    class Mine(Node):
        type = "http.request"

    with pytest.raises(DuplicateNodeTypeError, match=r"http\.request"):
        registry.register(Mine)
    with pytest.raises(DuplicateNodeTypeError):
        registry.register_pack(NodePack("other", {"flow.constant": "x:Y"}))


def test_legacy_ids_of_a_pack_load_the_current_type(tmp_path, monkeypatch):
    pkg = tmp_path / "renamed_nodes"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "mod.py").write_text("from engine import Node\nclass New(Node):\n"
                                "    type = 'acme.new'\n    legacy_types = ('acme.old',)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry()
    registry.register_pack(NodePack("renamed_nodes", {"acme.new": "mod:New"},
                                    legacy={"acme.old": "acme.new"}))
    assert registry.get("acme.old").type == "acme.new"
    with pytest.raises(RegistryError, match="unlisted"):
        NodePack("p", {}, legacy={"a.b": "a.c"})
