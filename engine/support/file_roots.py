"""Which files a workflow may touch: its own folder and below, plus folders the
user allows. Running someone else's workflow must not let it read `~/.ssh` and send
it out over HTTP.

The user allows more folders with the environment variable `FLOWUI_FILE_ROOTS`
(folders separated by `os.pathsep`; `/` allows every file), with `flowcli run
--allow-path DIR`, or in the editor's Run menu; those land in `allow()`. A
workflow cannot widen its own access: nothing in the file is consulted.

Paths are resolved (symbolic links followed, `..` and `~` applied) before the
check, so a link inside the folder pointing outside it is refused too.
"""

from __future__ import annotations

import errno
import functools
import os
from collections.abc import Iterable
from pathlib import Path

ENV = "FLOWUI_FILE_ROOTS"
_allowed: list[Path] = []
_generation = 0  # changes whenever `_allowed` does: remembered answers are then stale


class OutsideRootsError(PermissionError):
    """A path outside every allowed folder; `strerror` says which and how to allow it."""


def allow(folders: Iterable[str | os.PathLike[str]]) -> None:
    """Allow `folders` (and below) for every workflow this process runs."""
    global _generation
    for folder in folders:
        path = Path(folder).expanduser().resolve()
        if path not in _allowed:
            _allowed.append(path)
    _generation += 1


def set_allowed(folders: Iterable[str | os.PathLike[str]]) -> None:
    """Replace what `allow()` added (the editor's setting, when the user edits it)."""
    _allowed.clear()
    allow(folders)  # bumps the generation


def env_roots() -> list[Path]:
    return list(_parse_roots(os.environ.get(ENV, "")))


@functools.lru_cache(maxsize=4096)
def _remembered(path: str, base_dir: Path, generation: int, env: str) -> Path:
    # `generation` and `env` are the state of the allowed folders: part of the key only
    return confine(path, base_dir)


@functools.lru_cache(maxsize=64)
def _folder(base_dir: Path) -> Path:
    # A workflow's folder, resolved once: it is the user's own, and every file access of
    # a run starts here (half the cost of a check).
    return base_dir.resolve()


@functools.lru_cache(maxsize=8)
def _parse_roots(text: str) -> tuple[Path, ...]:
    return tuple(Path(p).expanduser().resolve() for p in text.split(os.pathsep) if p.strip())


def user_roots() -> list[Path]:
    """The folders the user allowed: `allow()`, then `FLOWUI_FILE_ROOTS`."""
    return [*_allowed, *env_roots()]


def confine(path: str | os.PathLike[str], base_dir: Path, *, remembered: bool = False) -> Path:
    """`path` (relative ones start at `base_dir`) resolved, if it lies in `base_dir`
    or a folder the user allowed; else OutsideRootsError naming both. Another
    OSError for a path that cannot be one (a NUL character, a loop of links).

    `remembered`: answer from memory when the same path was allowed before with the
    same allowed folders (validation resolves the same few paths thousands of times;
    a run must not rely on it: a link may have changed since)."""
    if remembered:
        return _remembered(os.fspath(path), base_dir, _generation, os.environ.get(ENV, ""))
    if "\0" in os.fspath(path):
        raise OSError(errno.EINVAL, "a path cannot contain a NUL character", str(path))
    p = Path(path).expanduser()
    try:
        resolved = (p if p.is_absolute() else base_dir / p).resolve()
    except RuntimeError:  # Python 3.11 on a symbolic link loop
        raise OSError(errno.ELOOP, "a loop of symbolic links", str(path)) from None
    roots = [_folder(base_dir), *user_roots()]
    if any(resolved.is_relative_to(root) for root in roots):
        return resolved
    raise OutsideRootsError(
        errno.EACCES,
        f"{resolved} is outside the folders this workflow may use (its own folder "
        f"{roots[0]}{' and ' + ', '.join(map(str, roots[1:])) if roots[1:] else ''}); "
        f"to allow it, add its folder to {ENV} or pass --allow-path, or use Run > "
        "Allowed Folders in the editor", str(path))
