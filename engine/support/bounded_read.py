"""Reading a whole file, safely when the path comes from someone else's workflow.

Only regular files are read: a FIFO would block forever (even `open()` waits for a
writer) and `/dev/zero` or `/dev/urandom` never end. The file is opened without
blocking, checked with `fstat` on the open descriptor (so a swap between check and
read changes nothing), and read up to a size limit, counted while reading because
`/proc` files report a size of 0.
"""

from __future__ import annotations

import errno
import os
import stat

MAX_FILE_BYTES = 64 * 1024 * 1024
_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def human_bytes(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} bytes"


def read_regular(path: str | os.PathLike[str], *, max_bytes: int = MAX_FILE_BYTES,
                 limit_hint: str = "") -> bytes:
    """The bytes of the regular file `path`, at most `max_bytes` of them.

    Raises OSError: the system's own (missing, permission...), EINVAL with a
    readable `strerror` for anything but a regular file, EFBIG past the limit
    (`limit_hint` says how to raise it)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        mode = info.st_mode
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
            if kind == "a folder":
                raise IsADirectoryError(errno.EISDIR, "it is a folder, not a file", str(path))
            raise OSError(errno.EINVAL, f"it is {kind}, not a regular file; only regular "
                          "files are read", str(path))
        hint = f"; {limit_hint}" if limit_hint else ""
        too_large = OSError(errno.EFBIG, f"it is larger than the limit of "
                            f"{human_bytes(max_bytes)}{hint}", str(path))
        if info.st_size > max_bytes:
            raise too_large
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:  # grew while read, or a size the system does not know
                raise too_large
    finally:
        os.close(fd)

