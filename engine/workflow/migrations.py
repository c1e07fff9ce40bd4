"""Chained upgrades of older workflow file versions (v1 -> v2 -> ...).

Each step takes the raw JSON object of version N and returns version N + 1, so
a file from any older version reaches the current one through every step in
order. A file newer than the program is refused, never half-read.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from engine.errors import MigrationError
from engine.workflow.model import CURRENT_VERSION

Step = Callable[[dict[str, Any]], dict[str, Any]]


class Migrator:
    def __init__(self, current: int, steps: Mapping[int, Step]) -> None:
        missing = [v for v in range(1, current) if v not in steps]
        if missing:
            raise ValueError(f"no migration step from version(s) {missing}")
        self.current = current
        self._steps = dict(steps)

    def upgrade(self, data: dict[str, Any]) -> dict[str, Any]:
        version = data.get("version")
        if isinstance(version, bool) or not isinstance(version, int):
            raise MigrationError(
                f"'version' must be a whole number (this program writes {self.current}), "
                f"not {version!r}")
        if version > self.current:
            raise MigrationError(
                f"file format version {version} is newer than this FlowUI understands "
                f"(up to {self.current}); upgrade FlowUI to open it")
        if version < 1:
            raise MigrationError(f"file format version {version} does not exist (the first is 1)")
        if version == self.current:
            return data
        data = copy.deepcopy(data)  # steps may edit in place; the caller's object stays as read
        while version < self.current:
            data = self._steps[version](data)
            version += 1
            data["version"] = version
        return data


# Version 1 is the first; steps are added here as `{1: _v1_to_v2, ...}`.
DEFAULT = Migrator(CURRENT_VERSION, {})
