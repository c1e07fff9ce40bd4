"""Atomic file writes: a reader sees the old file or the new one, never half of either."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) \
    | getattr(os, "O_BINARY", 0)


def write_text_atomic(path: str | os.PathLike[str], text: str, encoding: str = "utf-8",
                      *, mode: int | None = None) -> None:
    """Write `text` to `path` through a temporary file in the same folder, fsync it,
    then rename it over the target (atomic on POSIX and Windows).

    Permissions: `mode` when given (e.g. 0o600 for a private file), else the old
    file's when there was one, else what any program's new file gets: 0o666 less
    the umask. (`tempfile.mkstemp` would make every new file 0o600 whatever the
    umask, so files a user shares would come out unreadable to their group.)"""
    write_bytes_atomic(path, text.encode(encoding), mode=mode)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes, *,
                       mode: int | None = None) -> None:
    """`write_text_atomic` for bytes (an exported image)."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, _FLAGS, 0o666)  # the kernel applies the umask
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.chmod(tmp, os.stat(target).st_mode & 0o7777)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
