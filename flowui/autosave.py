"""Never lose work: unsaved changes are written to the data folder every few seconds,
and a start after a crash offers them back.

Each editor session owns `<data dir>/autosave/<session>.flow.json`, a small
`.meta.json` (the file it belongs to, the time) and a `.lock` it holds while it
runs (a QLockFile: Qt tells a live owner from a dead one by process id *and* name,
so a reused pid does not hide a crash). A clean exit and a save remove them; an
autosave whose lock nobody holds is what the next start offers to restore.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, QTimer

from engine.support.atomic import write_text_atomic
from engine.support.paths import data_dir
from flowui.document import WorkflowDocument

INTERVAL_MS = 5000


@dataclass(frozen=True)
class Recovery:
    """Work left behind by a session that did not exit cleanly."""

    snapshot: Path
    meta: Path
    original: Path | None  # the file it was editing, None for an unsaved new one
    saved_at: float

    def text(self) -> str:
        return self.snapshot.read_text(encoding="utf-8")

    def discard(self) -> None:
        for p in (self.snapshot, self.meta, _lock_path(self.snapshot)):
            p.unlink(missing_ok=True)


def folder() -> Path:
    return data_dir() / "autosave"


def _lock_path(snapshot: Path) -> Path:
    return snapshot.with_name(snapshot.name.replace(".flow.json", ".lock"))


def _owner_alive(snapshot: Path) -> bool:
    """Whether the session that wrote `snapshot` still runs (it holds the lock)."""
    lock = QLockFile(str(_lock_path(snapshot)))
    lock.setStaleLockTime(0)  # only a dead owner makes a lock stale, never its age
    if lock.tryLock(0):
        lock.unlock()
        return False
    return lock.error() != QLockFile.LockError.NoError


def pending_recoveries() -> list[Recovery]:
    """Autosaves whose session died, newest first."""
    found = []
    for meta in folder().glob("*.meta.json"):
        try:
            info = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        snapshot = meta.with_name(meta.name.replace(".meta.json", ".flow.json"))
        if not snapshot.is_file() or _owner_alive(snapshot):
            continue
        original = info.get("path")
        found.append(Recovery(snapshot, meta, Path(original) if original else None,
                              float(info.get("saved_at", 0))))
    return sorted(found, key=lambda r: r.saved_at, reverse=True)


class Autosaver(QObject):
    """Writes the document every INTERVAL_MS while it has unsaved changes."""

    def __init__(self, doc: WorkflowDocument, is_modified: Callable[[], bool],
                 interval_ms: int = INTERVAL_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.is_modified = is_modified
        session = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        self.snapshot = folder() / f"{session}.flow.json"
        self.meta = folder() / f"{session}.meta.json"
        folder().mkdir(parents=True, exist_ok=True)
        self.lock = QLockFile(str(_lock_path(self.snapshot)))
        self.lock.setStaleLockTime(0)
        self.lock.tryLock(0)  # held until this session ends; the OS forgets it on a crash
        self._last = ""
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.save_now)
        self.timer.start()

    def save_now(self) -> None:
        if not self.is_modified():
            self.clear()
            return
        text = self.doc.snapshot()
        if text == self._last and self.snapshot.is_file():
            return
        folder().mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.snapshot, text)
        write_text_atomic(self.meta, json.dumps({
            "path": str(self.doc.path) if self.doc.path else None,
            "pid": os.getpid(), "saved_at": time.time()}) + "\n")  # pid: for people only
        self._last = text

    def clear(self) -> None:
        """After a save or a clean exit: nothing to recover."""
        self._last = ""
        for p in (self.snapshot, self.meta):
            p.unlink(missing_ok=True)
