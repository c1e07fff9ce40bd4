"""Whether the process writing a run (or a journal) is still there."""

from __future__ import annotations

import os
import socket

STALE_S = 30.0  # no heartbeat for this long: the writing process is gone (any host)
HOST = socket.gethostname()


def alive(pid: int | None, host: str | None, heartbeat: float | None, now: float) -> bool:
    """On this host, whether `pid` runs; elsewhere, whether it beat within STALE_S."""
    if heartbeat is not None and now - heartbeat > STALE_S:
        return False
    if pid is None or host != HOST:
        return heartbeat is not None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):  # someone else's process, or no way to tell
        return True
    return True
