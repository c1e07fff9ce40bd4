"""The run store as every `flowcli` command reaches it: the `--store PATH` option and
opening the file with its errors as one clear line (exit 2) and its warnings on stderr."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from engine.cli.common import fail, warn

if TYPE_CHECKING:
    from engine.store.store import RunStore
    from engine.store.writer import StoreWriter


def store_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """`--store PATH`: the run store file (default `<data dir>/runs.db`)."""
    return click.option(
        "--store", "store_path", type=click.Path(dir_okay=False), metavar="PATH",
        help="The run store file  [default: <data dir>/runs.db, the data dir being "
             "FLOWUI_DATA_DIR or the platform's user data folder]")(command)


def open_store(path: str | None) -> RunStore:
    from engine.errors import StoreError
    from engine.store.store import RunStore

    try:
        return RunStore(path, warn=warn)
    except StoreError as e:
        fail(str(e))


def open_writer(path: str | None) -> StoreWriter:
    """A writer for runs of this command (its reading side is closed at once)."""
    from engine.errors import StoreError

    store = open_store(path)
    try:
        return store.writer()  # type: ignore[no-any-return]
    except StoreError as e:
        fail(str(e))
    finally:
        store.close()
