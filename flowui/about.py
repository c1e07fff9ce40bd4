"""Help > About: what FlowUI is, and the versions a bug report needs."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

import PySide6
from PySide6.QtCore import qVersion


def about_text() -> str:
    try:
        mine = version("flowui")
    except PackageNotFoundError:  # a checkout that was never installed
        mine = "development checkout"
    return (f"<b>FlowUI {mine}</b><br>A visual node editor for workflows, with an embedded "
            "async engine.<br>The same files run headless with <code>flowcli run</code>."
            f"<br><br>Python {platform.python_version()} · PySide6 {PySide6.__version__} "
            f"· Qt {qVersion()}")
