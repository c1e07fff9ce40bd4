"""Changes to a run's row: an UPDATE, or folded into the row itself when the row is
inserted by the same flush.

A short run (serve mode's webhook answered in 0.2 ms) is queued, validating, running
and finished within one flush: as four statements, SQLite rewrites the row and its
status index four times; folded, it writes the row once (docs/notes.md).
"""

from __future__ import annotations

from typing import Any, NamedTuple

COLUMNS = ("id", "workflow", "workflow_path", "workflow_hash", "source", "trigger", "inputs",
           "status", "queued_at", "validating_at", "running_at", "finished_at",
           "interrupted_at", "dead_letter_at", "duration_ms", "error", "failed_node",
           "outputs", "node_errors", "retry_of", "pid", "host", "heartbeat")
INSERT_RUN = (f"INSERT OR IGNORE INTO runs ({', '.join(COLUMNS)}) "
              f"VALUES ({', '.join('?' * len(COLUMNS))})")
_AT = {name: i for i, name in enumerate(COLUMNS)}


def new_row(**values: Any) -> list[Any]:
    """A row for INSERT_RUN: the values given, NULL elsewhere."""
    row: list[Any] = [None] * len(COLUMNS)
    for name, value in values.items():
        row[_AT[name]] = value
    return row


class Change(NamedTuple):
    """`UPDATE runs SET col = value, ... WHERE id = run_id`, with two refinements."""

    run_id: str
    values: tuple[tuple[str, Any], ...]
    keep: frozenset[str] = frozenset()  # columns whose existing value wins: coalesce(col, ?)
    from_queued: bool = False  # the status changes only from 'queued'

    def sql(self) -> tuple[str, tuple[Any, ...]]:
        parts = []
        for name, _ in self.values:
            if name in self.keep:
                parts.append(f"{name} = coalesce({name}, ?)")
            elif name == "status" and self.from_queued:
                parts.append("status = CASE WHEN status = 'queued' THEN ? ELSE status END")
            else:
                parts.append(f"{name} = ?")
        return (f"UPDATE runs SET {', '.join(parts)} WHERE id = ?",
                (*(value for _, value in self.values), self.run_id))

    def fold(self, row: list[Any]) -> None:
        """The same change made to a row not inserted yet."""
        for name, value in self.values:
            i = _AT[name]
            if name in self.keep and row[i] is not None:
                continue
            if name == "status" and self.from_queued and row[i] != "queued":
                continue
            row[i] = value


def apply(inserts: list[list[Any]], changes: list[Change],
          ) -> tuple[list[tuple[Any, ...]], list[tuple[str, tuple[Any, ...]]]]:
    """The rows to insert (changes to them folded in, in order) and the UPDATEs left
    for rows inserted earlier."""
    pending: dict[str, list[Any]] = {}
    for row in inserts:
        pending.setdefault(row[0], row)  # INSERT OR IGNORE: the first one counts
    updates: list[tuple[str, tuple[Any, ...]]] = []
    for change in changes:
        found = pending.get(change.run_id)
        if found is None:
            updates.append(change.sql())
        else:
            change.fold(found)
    return [tuple(row) for row in pending.values()], updates
