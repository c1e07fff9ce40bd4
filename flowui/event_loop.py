"""The editor's asyncio loop: qasync's, inside Qt's event loop, with one fix.

qasync turns `call_later(delay)` into a QTimer of `delay` milliseconds, an int that
overflows past 2**31 - 1 ms (24.8 days): libraries that schedule "never" as a huge
delay (Dask's and tornado's periodic callbacks) then fail with OverflowError, and a
Dask cluster could not start in the editor. A timer that long is clamped: it fires
after 24.8 days instead of later, which nothing running in a window can tell apart.
"""

from __future__ import annotations

from typing import Any

import qasync

MAX_DELAY_S = (2**31 - 1) / 1000


class EditorLoop(qasync.QEventLoop):  # type: ignore[misc]  # qasync has no type hints
    def call_later(self, delay: float, callback: Any, *args: Any, context: Any = None) -> Any:
        return super().call_later(min(delay, MAX_DELAY_S), callback, *args, context=context)
