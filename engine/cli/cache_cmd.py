"""`flowcli cache info | clear`: the output cache in the run store (engine.store.output_cache)."""

from __future__ import annotations

import sys
import time

import click

from engine.cli.common import say
from engine.cli.store_opts import open_store, store_option
from engine.support import json_out


@click.group(name="cache")
def cache_group() -> None:
    """The output cache: what `--cache`, `--only` and `--from` reuse."""


@cache_group.command(name="info")
@click.option("--json", "as_json", is_flag=True, help="A JSON object on stdout.")
@store_option
def info_cmd(as_json: bool, store_path: str | None) -> None:
    """How many outputs are cached, their size and the size limit."""
    from engine.store.output_cache import info, max_bytes_from_env

    with open_store(store_path) as store:
        found = info(store.db, max_bytes_from_env())
        path = store.path
    if as_json:
        sys.stdout.write(json_out.dumps({"store": str(path), **found.__dict__}, indent=2)
                         + "\n")
        return
    lines = [f"store:    {path}",
             f"entries:  {found.entries} ({found.reusable} reusable by --cache, the rest "
             "by partial runs only)",
             f"size:     {_mb(found.bytes)} of {_mb(found.max_bytes)} "
             "(FLOWUI_CACHE_MAX_MB; least recently used evicted first)"]
    if found.newest_use is not None:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(found.newest_use))
        lines.append(f"last use: {when}")
    sys.stdout.write("\n".join(lines) + "\n")


@cache_group.command(name="clear")
@store_option
def clear_cmd(store_path: str | None) -> None:
    """Delete every cached output (runs and their history stay)."""
    from engine.store import connection
    from engine.store.output_cache import clear

    with open_store(store_path) as store:
        n = connection.write(store.db, clear, store.path)
    say(f"cleared {n} cached output{'s' if n != 1 else ''}")


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"
