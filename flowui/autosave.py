"""Never lose work: unsaved changes are written to the data folder every few seconds,
and a start after a crash offers them back.

Each editor session owns `<data dir>/autosave/<session>.flow.json` plus a small
`.meta.json` (the file it belongs to, the process id, the time). A clean exit and a
save remove them; entries left by a process that is no longer alive are what the
next start offers to restore.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QTimer

from engine.atomic import write_text_atomic
from engine.paths import data_dir
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
        for p in (self.snapshot, self.meta):
            p.unlink(missing_ok=True)


def folder() -> Path:
    return data_dir() / "autosave"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, owned by someone else
    return True


def pending_recoveries() -> list[Recovery]:
    """Autosaves whose session died, newest first."""
    found = []
    for meta in folder().glob("*.meta.json"):
        try:
            info = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        snapshot = meta.with_name(meta.name.replace(".meta.json", ".flow.json"))
        if not snapshot.is_file() or _alive(int(info.get("pid", 0))):
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
            "pid": os.getpid(), "saved_at": time.time()}) + "\n")
        self._last = text

    def clear(self) -> None:
        """After a save or a clean exit: nothing to recover."""
        self._last = ""
        for p in (self.snapshot, self.meta):
            p.unlink(missing_ok=True)
