"""The workflows folder: `.flow.json` files (the same the editor opens) by name, with
names checked so that no request reaches a file outside the folder, and each file's
content hash for `ETag` / `If-Match`."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from engine.server.api.errors import ApiError
from engine.server.api.models import NAME_MAX, NAME_PATTERN
from engine.support.atomic import write_text_atomic
from engine.support.bounded_read import read_regular
from engine.workflow.file import MAX_FILE_BYTES

SUFFIX = ".flow.json"
_NAME = re.compile(NAME_PATTERN)


@dataclass(frozen=True)
class StoredFile:
    name: str
    path: Path
    data: bytes
    modified: float

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def modified_iso(self) -> str:
        return datetime.fromtimestamp(self.modified, UTC).isoformat(
            timespec="milliseconds").replace("+00:00", "Z")


def check_name(name: str) -> None:
    if len(name) > NAME_MAX or not _NAME.fullmatch(name):
        raise ApiError(400, "bad_name", f"{name!r} is not a workflow name: use 1-100 letters, "
                       "digits, spaces, `_` or `-`, starting with a letter or digit, with "
                       "single dots between them (the file is <name>.flow.json in the "
                       "workflows folder)")


class WorkflowFolder:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def path(self, name: str) -> Path:
        check_name(name)
        path = self.root / (name + SUFFIX)
        # A symlink in the folder pointing elsewhere is an escape too.
        if path.is_symlink() or path.resolve().parent != self.root:
            raise ApiError(404, "not_found", f"workflow {name!r} is not a plain file in the "
                           "workflows folder (a link?); it cannot be used over the API")
        return path

    def names(self) -> list[str]:
        found = []
        for entry in sorted(os.scandir(self.root), key=lambda e: e.name):
            if not entry.name.endswith(SUFFIX) or not entry.is_file(follow_symlinks=False):
                continue
            name = entry.name[:-len(SUFFIX)]
            if len(name) <= NAME_MAX and _NAME.fullmatch(name):
                found.append(name)
        return found

    def read(self, name: str) -> StoredFile:
        path = self.path(name)
        try:
            data = read_regular(path, max_bytes=MAX_FILE_BYTES)
            modified = path.stat().st_mtime
        except FileNotFoundError:
            raise ApiError(404, "not_found", f"no workflow {name!r} in the workflows folder; "
                           "GET /workflows lists them") from None
        except OSError as e:
            raise ApiError(409, "unreadable", f"workflow {name!r} cannot be read: "
                           f"{e.strerror or e}") from None
        return StoredFile(name, path, data, modified)

    def exists(self, name: str) -> bool:
        return self.path(name).exists()

    def write(self, name: str, text: str) -> StoredFile:
        path = self.path(name)
        write_text_atomic(path, text)
        return self.read(name)

    def delete(self, name: str) -> None:
        try:
            self.path(name).unlink()
        except FileNotFoundError:
            raise ApiError(404, "not_found", f"no workflow {name!r} in the workflows "
                           "folder") from None
