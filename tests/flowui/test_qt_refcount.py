"""Guard against PySide6 releases that drop a reference to None on void calls.

PySide6 6.12.0 did (shared NOTES.md): on Python 3.11, where None is not immortal,
the editor then aborts with "deallocating None" within seconds of drawing wires.
pyproject.toml excludes that release; this test fails the suite if whatever Qt got
installed has the same fault, instead of letting it crash users.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

CALLS = 20_000

PROBE = f"""
import sys
from PySide6.QtCore import QPointF
from PySide6.QtGui import QPainterPath
path = QPainterPath()
before = sys.getrefcount(None)
for i in range({CALLS}):
    path.lineTo(i, i)          # void methods: each must leave None's count alone
    path.moveTo(QPointF(i, 0))
print(sys.getrefcount(None) - before)
"""


def test_void_qt_calls_do_not_leak_references_to_none():
    pytest.importorskip("PySide6")
    r = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120,
                       env={"QT_QPA_PLATFORM": "offscreen", "PATH": ""})
    assert r.returncode == 0, f"the probe crashed (the known PySide6 fault?): {r.stderr[-500:]}"
    drift = int(r.stdout.strip())
    # None's count moves by a handful for ordinary reasons; the fault moves it by 2 * CALLS.
    assert abs(drift) < 100, f"None's refcount drifted by {drift} over {2 * CALLS} void calls"
