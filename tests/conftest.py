"""Shared fixtures: a toy registry, a runner that records every event, isolated data dirs."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from engine import Registry, Runner, RunResult
from engine.core.events import Event
from engine.workflow.model import Workflow
from tests.engine.toy import ATTEMPTS, toy_registry


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """No test reads or writes the developer's real FlowUI data or plugins."""
    monkeypatch.setenv("FLOWUI_DATA_DIR", str(tmp_path_factory.mktemp("flowui-data")))
    monkeypatch.delenv("FLOWUI_PLUGINS", raising=False)
    ATTEMPTS.clear()


class Recorder:
    """Runs workflows and keeps their events."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.events: list[Event] = []

    def run(self, wf: Workflow, inputs: dict[str, Any] | None = None, **options: Any) -> RunResult:
        self.events = []
        return asyncio.run(Runner(self.registry).run(
            wf, inputs, subscribers=(self.events.append,), **options))

    def names(self) -> list[str]:
        return [e.name for e in self.events]

    def of(self, name: str) -> list[Any]:
        return [e for e in self.events if e.name == name]

    def trace(self, *, with_attempts: bool = False) -> list[tuple[str, ...]]:
        """(event, node id[, detail]) for node events, in order."""
        out: list[tuple[str, ...]] = []
        for e in self.events:
            node = getattr(e, "node_id", None)
            if node is None:
                out.append((e.name,))
            elif e.name == "node_skipped":
                out.append((e.name, node, e.reason))
            elif with_attempts and e.name in ("node_started", "node_failed", "node_retrying"):
                out.append((e.name, node, str(e.attempt)))
            else:
                out.append((e.name, node))
        return out


@pytest.fixture
def toy() -> Recorder:
    return Recorder(toy_registry())


@pytest.fixture
def builtin() -> Recorder:
    return Recorder(Registry.discover(plugins=False))
