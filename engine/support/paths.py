"""Where FlowUI keeps its data: run store, plugins, autosave (FORMAT.md: FLOWUI_DATA_DIR)."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """`FLOWUI_DATA_DIR` when set, else the platform's user data dir."""
    env = os.environ.get("FLOWUI_DATA_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs  # imported here: only callers that need the folder pay for it

    return Path(platformdirs.user_data_dir("FlowUI", appauthor=False))


def plugin_dirs() -> list[Path]:
    """Folders searched for plugin node files: each of `FLOWUI_PLUGINS`
    (os.pathsep-separated), then `<data dir>/plugins`."""
    listed = os.environ.get("FLOWUI_PLUGINS", "").split(os.pathsep)
    dirs = [Path(p).expanduser() for p in listed if p]
    dirs.append(data_dir() / "plugins")
    return dirs
