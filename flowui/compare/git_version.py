"""The last committed version of a file, through the `git` command line: no library,
and whatever git the user has configured (credentials, hooks) is never touched."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

TIMEOUT_S = 10.0  # a network file system or a huge repo must not freeze the editor


class GitVersionError(Exception):
    """Why the committed version cannot be had, worded for the user."""


def committed_text(path: Path, *, git: str | None = None) -> str:
    """The file's content at HEAD (`git show HEAD:<relpath>`)."""
    exe = git or shutil.which("git")
    if exe is None:
        raise GitVersionError("Git is not installed (no `git` command on the PATH).")
    path = path.resolve()
    top = _run([exe, "rev-parse", "--show-toplevel"], path.parent)
    if top.returncode != 0:
        raise GitVersionError(f"{path.name} is not in a git repository.")
    rel = path.relative_to(Path(top.stdout.strip()).resolve()).as_posix()
    shown = _run([exe, "show", f"HEAD:{rel}"], path.parent)
    if shown.returncode != 0:
        raise GitVersionError(
            f"{path.name} has no committed version (it is untracked, or the repository "
            f"has no commit yet).")
    return shown.stdout


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(args, cwd=cwd, capture_output=True, text=True,
                              timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as e:
        raise GitVersionError(f"git did not answer within {TIMEOUT_S:.0f} s.") from e
    except OSError as e:
        raise GitVersionError(f"git could not be run: {e}") from e
