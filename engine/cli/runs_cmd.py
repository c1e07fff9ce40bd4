"""`flowcli runs list | show | export | delete | prune | retry`: the run store's runs.

A run id prefix is accepted wherever it names one run; an unknown or ambiguous one
is a usage error (exit 2) that says so. `list --json` and `show --json` are the
machine forms; the tables are for people.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import click

from engine.cli.ages import HELP as AGE_HELP
from engine.cli.ages import age_seconds, point_in_time
from engine.cli.common import EXIT_OK, fail, load_registry, say
from engine.cli.executor_opts import executor_option
from engine.cli.store_opts import open_store, store_option
from engine.errors import StoreError, WorkflowFileError
from engine.store.records import STATUSES
from engine.support import json_out


@click.group(name="runs")
def runs_group() -> None:
    """Stored runs: list, show, export, delete, prune, retry."""


def _guard(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """`fn(...)` with the store's errors (an unknown run id, a locked file) as one line."""
    try:
        return fn(*args, **kwargs)
    except StoreError as e:
        fail(str(e))


@runs_group.command(name="list")
@click.option("--workflow", metavar="NAME|FILE", help="Only runs of this workflow (its name "
              "or its file).")
@click.option("--status", type=click.Choice(STATUSES), help="Only runs with this status "
              "(dead_letter: serve-mode runs that did not complete).")
@click.option("--since", metavar="WHEN", help=f"Only runs started since then: {AGE_HELP}.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True,
              help="At most this many runs, newest first.")
@click.option("--json", "as_json", is_flag=True, help="A JSON array on stdout.")
@store_option
def list_cmd(workflow: str | None, status: str | None, since: str | None, limit: int,
             as_json: bool, store_path: str | None) -> None:
    """List stored runs, newest first."""
    since_at = None
    if since is not None:
        try:
            since_at = point_in_time(since)
        except ValueError as e:
            fail(f"--since: {e}")
    with open_store(store_path) as store:
        page = _guard(store.list_runs, workflow=workflow, status=status, since=since_at,
                      limit=limit)
    if as_json:
        sys.stdout.write(json_out.dumps([r.to_dict() for r in page.runs], indent=2) + "\n")
        return
    from engine.cli.runs_view import runs_table

    if not page.runs:
        say("no runs stored" + (" that match" if workflow or status or since else "")
            + f" in {store.path}")
        return
    sys.stdout.write(runs_table(page.runs))
    if page.cursor:
        say(f"(the newest {limit}; --limit N shows more)")


@runs_group.command(name="show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="The run's metadata, nodes and outputs "
              "as JSON on stdout.")
@store_option
def show_cmd(run_id: str, as_json: bool, store_path: str | None) -> None:
    """Show one run: summary, each node's status and duration, error, outputs."""
    from engine.cli.runs_view import node_rows, show_text
    from engine.store.export import metadata, outputs_data

    with open_store(store_path) as store:
        detail = _guard(store.get, run_id)
        events = _guard(store.events, detail.id)
        outputs = _guard(store.outputs, detail.id)
    if as_json:
        data = metadata(detail) | {"nodes": node_rows(events),
                                   "outputs": outputs_data(detail, outputs)}
        sys.stdout.write(json_out.dumps(data, indent=2) + "\n")
    else:
        sys.stdout.write(show_text(detail, events, outputs))


@runs_group.command(name="export")
@click.argument("run_id")
@click.argument("folder", type=click.Path(file_okay=False))
@store_option
def export_cmd(run_id: str, folder: str, store_path: str | None) -> None:
    """Write a run's trace.json, logs.txt, metadata.json and outputs.json into FOLDER."""
    from engine.store.export import export_run

    with open_store(store_path) as store:
        try:
            written = _guard(export_run, store, run_id, folder)
        except OSError as e:
            fail(f"cannot write into {folder}: {e.strerror or e}; choose another folder")
    say(f"exported run {written[0].parent}: " + ", ".join(p.name for p in written))


@runs_group.command(name="delete")
@click.argument("run_id")
@store_option
def delete_cmd(run_id: str, store_path: str | None) -> None:
    """Delete one run with its events and outputs."""
    with open_store(store_path) as store:
        say(f"deleted run {_guard(store.delete, run_id)}")


@runs_group.command(name="prune")
@click.option("--keep", type=click.IntRange(min=0), metavar="N",
              help="Keep the newest N finished runs, delete the older ones.")
@click.option("--older-than", metavar="AGE", help="Delete finished runs started longer ago "
              "than AGE (30m, 2h, 30d, 2w).")
@store_option
def prune_cmd(keep: int | None, older_than: str | None, store_path: str | None) -> None:
    """Delete old finished runs (runs still going are kept)."""
    if keep is None and older_than is None:
        fail("say what to prune: --keep N or --older-than AGE (e.g. --older-than 30d)")
    age = None
    if older_than is not None:
        age = age_seconds(older_than)
        if age is None:
            fail(f"--older-than: {older_than!r} is not an age such as 30m, 2h, 30d or 2w")
    with open_store(store_path) as store:
        n = _guard(store.prune, keep=keep, older_than_s=age)
    say(f"deleted {n} run{'s' if n != 1 else ''}")


@runs_group.command(name="retry")
@click.argument("run_id")
@click.option("--events", type=click.Choice(["jsonl", "pretty", "none"]), default="pretty",
              show_default=True, help="As for `flowcli run`.")
@store_option
@executor_option
def retry_cmd(run_id: str, events: str, store_path: str | None,
              executor: str | None = None) -> None:
    """Run a stored run again with its inputs (a dead letter: with its payload)."""
    from engine.cli.executor_opts import executor_choice, on_executor
    from engine.cli.run_cmd import Target, report, run_target
    from engine.core.runner import Runner

    queued_at = time.time()
    with open_store(store_path) as store:
        detail = _guard(store.get, run_id)
    workflow, path = _workflow_of(detail)
    writer = _guard(store.writer)
    target = Target(Runner(load_registry()), workflow, path, queued_at, writer,
                    base_dir=Path(detail.summary.workflow_path or ".").resolve().parent,
                    source="retry", retry_of=detail.id)
    choice = executor_choice(executor, workflow)
    say(f"retrying run {detail.id} ({detail.summary.workflow})")
    result = asyncio.run(on_executor(choice, target.runner, workflow, lambda: run_target(
        target, dict(detail.inputs or {}), events, None, None, trigger=detail.trigger)))
    report(result, str(path or detail.summary.workflow), events)
    sys.exit(EXIT_OK)


def _workflow_of(detail: Any) -> tuple[Any, Path | None]:
    """The workflow to retry: its file when it is still there (a note when it changed
    since), else the snapshot the store kept."""
    import hashlib

    from engine.cli.common import warn
    from engine.workflow.file import from_data, load, to_data

    stored = detail.summary.workflow_path
    if stored and Path(stored).is_file():
        try:
            workflow = load(stored)
        except WorkflowFileError as e:
            fail(str(e))
        text = json_out.dumps(to_data(workflow))
        if detail.workflow_hash and \
                hashlib.sha256(text.encode("utf-8")).hexdigest() != detail.workflow_hash:
            warn(f"{stored} changed since run {detail.id}; retrying the file as it is now")
        return workflow, Path(stored)
    if detail.snapshot is None:
        fail(f"run {detail.id} kept no workflow snapshot and {stored or 'its file'} is gone")
    try:
        return from_data(detail.snapshot, source=f"run {detail.id}"), None
    except WorkflowFileError as e:
        fail(str(e))
