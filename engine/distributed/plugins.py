"""Plugin folders shipped to Dask workers, so that a plugin node type runs there
without being installed by hand.

The driving process reads its plugin folders (`FLOWUI_PLUGINS`, `<data dir>/plugins`)
into one Dask worker plugin (engine.distributed.ship_plugins.ShipPlugins), registered
with the cluster: every worker, and every worker that joins later, writes the files
under its local directory, in a folder named by their digest. A task names the
digest; the worker's registry for it is the installed node packs plus exactly those
folders (engine.distributed.worker), so two runs shipping different versions of one
plugin never mix them.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

MAX_SHIPPED_BYTES = 50_000_000  # plugin folders bigger than this are refused: docs/scaling.md
_SKIP_DIRS = {"__pycache__", ".git", ".venv", "node_modules"}
_shipped: dict[str, list[Path]] = {}  # on a worker: digest -> its folders


class PluginsTooBigError(ValueError):
    pass


def read_folders(folders: list[Path]) -> tuple[str, list[dict[str, bytes]]]:
    """(digest, one {relative path: bytes} per folder) of the plugin folders that exist;
    their `_lib` subfolders (a plugin's own dependencies) included."""
    h = hashlib.sha256()
    out: list[dict[str, bytes]] = []
    total = 0
    for folder in folders:
        if not folder.is_dir():
            continue
        files: dict[str, bytes] = {}
        for root, dirs, names in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
            for name in sorted(names):
                path = Path(root, name)
                rel = path.relative_to(folder).as_posix()
                data = path.read_bytes()
                total += len(data)
                if total > MAX_SHIPPED_BYTES:
                    raise PluginsTooBigError(
                        f"the plugin folders hold more than {MAX_SHIPPED_BYTES // 1_000_000} MB "
                        f"(at {path}); install large plugins on the workers instead")
                files[rel] = data
                h.update(f"{len(out)}:{rel}:{len(data)}:".encode())
                h.update(data)
        out.append(files)
    return h.hexdigest()[:16], out


def shipped_dirs(digest: str) -> list[Path]:
    """The folders shipped under `digest` to this worker (none when it has not had them)."""
    return _shipped.get(digest, [])


def unpack(digest: str, folders: list[dict[str, bytes]], under: Path) -> list[Path]:
    """Write shipped folders below `under` (once per digest) and remember them."""
    if digest in _shipped:
        return _shipped[digest]
    base = under / "flowui-plugins" / digest
    dirs = []
    for n, files in enumerate(folders):
        folder = base / str(n)
        for rel, data in files.items():
            target = folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        folder.mkdir(parents=True, exist_ok=True)
        dirs.append(folder)
    _shipped[digest] = dirs
    return dirs
