"""`flowcli`: the headless command line (FORMAT.md section 4), a thin shell over the engine.

stdout carries machine output only (the result object, or the events with
`--events jsonl`); the progress display, log text and every message go to
stderr. Exit codes: 0 completed, 1 failed, 2 invalid / usage, 130 cancelled.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from engine.core.events import Event
from engine.core.registry import Registry
from engine.errors import FlowError, InputsError, WorkflowFileError
from engine.support.atomic import write_text_atomic
from engine.workflow import file as workflow_file
from engine.workflow.model import Workflow

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_CANCELLED = 0, 1, 2, 130
EXIT_FOR_STATUS = {"completed": EXIT_OK, "failed": EXIT_FAILED, "cancelled": EXIT_CANCELLED}


def _stderr() -> Console:
    return Console(stderr=True, highlight=False)


def _fail(message: str, code: int = EXIT_INVALID) -> None:
    _stderr().print(f"[bold red]error:[/] {message}", markup=True, soft_wrap=True)
    sys.exit(code)


def _load(path: str) -> Workflow:
    try:
        return workflow_file.load(path)
    except WorkflowFileError as e:
        _fail(str(e))
        raise  # unreachable; keeps type checkers content


def _registry() -> Registry:
    try:
        registry = Registry.discover()
    except FlowError as e:
        _fail(str(e))
        raise
    for problem in registry.load_errors:
        _stderr().print(f"[yellow]warning:[/] {problem}", markup=True, soft_wrap=True)
    return registry


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="flowui", prog_name="flowcli")
def cli() -> None:
    """Run, check and inspect FlowUI workflows without the editor."""


@cli.command()
@click.argument("workflow", type=click.Path(dir_okay=False))
@click.option("--input", "input_pairs", multiple=True, metavar="NAME=VALUE",
              help="A workflow input (repeatable); JSON for non-string inputs.")
@click.option("--inputs-file", type=click.Path(dir_okay=False),
              help="A JSON object of input values.")
@click.option("--events", type=click.Choice(["jsonl", "pretty", "none"]), default="pretty",
              show_default=True, help="jsonl: every event on stdout; pretty: live progress on "
              "stderr; none: only logs and errors.")
@click.option("--output", type=click.Path(dir_okay=False),
              help="Write the result object to this file instead of stdout.")
@click.option("--max-parallel", type=click.IntRange(min=1), help="Overrides settings.max_parallel.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Overrides settings.timeout_s: fail the run after this long.")
@click.option("--no-store", is_flag=True,
              help="Do not record the run in the run store (runs are not stored yet in this "
              "version, so this changes nothing; accepted for scripts written to FORMAT.md).")
@click.option("--trigger-payload", metavar="JSON|@FILE",
              help="What trigger nodes fire with, e.g. '{\"body\": {\"x\": 1}}' or @req.json.")
@click.option("--test-run", is_flag=True,
              help="A test run: nodes may limit costs (llm.chat caps max_tokens).")
def run(workflow: str, input_pairs: tuple[str, ...], inputs_file: str | None, events: str,
        output: str | None, max_parallel: int | None, timeout: float | None,
        no_store: bool, trigger_payload: str | None = None, test_run: bool = False) -> None:
    """Run WORKFLOW once and print its result."""
    from engine.cli.inputs import parse_inputs
    from engine.core.plan import validate

    wf = _load(workflow)
    registry = _registry()
    try:
        inputs = parse_inputs(wf, input_pairs, inputs_file)
    except InputsError as e:
        _fail(str(e))
    trigger = None
    if trigger_payload is not None:
        from engine.cli.serve_cmd import parse_trigger_payload

        trigger = parse_trigger_payload(trigger_payload)
    problems = validate(wf, registry, inputs=inputs, base_dir=Path(workflow).resolve().parent)
    if problems:
        _fail(f"{workflow}: workflow is invalid ({len(problems)} problem"
              f"{'s' if len(problems) != 1 else ''}):\n"
              + "\n".join(f"  {p}" for p in problems))
    result = asyncio.run(_run(wf, registry, inputs, Path(workflow).resolve().parent, events,
                              max_parallel, timeout, trigger=trigger,
                              options={"test_run": True} if test_run else None))
    if result.status == "failed" and result.problems:
        if events != "pretty":  # the live display has shown them; otherwise say it here
            _fail(f"{workflow}: {result.error['message'] if result.error else 'invalid'}")
        sys.exit(EXIT_INVALID)
    payload = json.dumps(result.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n"
    if output:
        write_text_atomic(output, payload)
    elif events != "jsonl":
        sys.stdout.write(payload)
    sys.stdout.flush()
    sys.exit(EXIT_FOR_STATUS[result.status])


async def _run(wf: Workflow, registry: Registry, inputs: dict[str, Any], base_dir: Path,
               events: str, max_parallel: int | None, timeout: float | None, *,
               trigger: dict[str, Any] | None = None,
               options: dict[str, Any] | None = None) -> Any:
    from engine.cli.progress import LogPrinter, ProgressDisplay
    from engine.core.runner import Runner

    console = _stderr()
    subscribers: list[Any] = [LogPrinter(console)]
    display = None
    if events == "jsonl":
        subscribers.insert(0, _jsonl_writer())
    elif events == "pretty":
        display = ProgressDisplay(console, len(wf.nodes), wf.name)
        subscribers.append(display)
    run = Runner(registry).start(wf, inputs, subscribers=tuple(subscribers), base_dir=base_dir,
                                 max_parallel=max_parallel, timeout_s=timeout,
                                 trigger=trigger, options=options)
    on_stop_signals(lambda: _cancel_run(run, console))
    if display is not None:
        with display:
            return await run.wait()
    return await run.wait()


def _jsonl_writer() -> Any:
    closed = False

    def emit(event: Event) -> None:
        nonlocal closed
        if closed:
            return
        try:
            sys.stdout.write(json.dumps(event.to_dict(), ensure_ascii=False, default=str) + "\n")
            sys.stdout.flush()  # consumers read events live, line by line
        except BrokenPipeError:
            # The reader went away (`| head`): stop writing, let the run finish. Point
            # stdout at devnull so the interpreter's final flush does not fail again.
            closed = True
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())

    return emit


def on_stop_signals(first: Callable[[], None]) -> None:
    """Ctrl-C or SIGTERM calls `first` (a clean stop); a second one exits at once (130).
    Must be called on the running event loop."""
    loop = asyncio.get_running_loop()
    pressed = 0

    def on_signal() -> None:
        nonlocal pressed
        pressed += 1
        if pressed == 1:
            first()
        else:
            os._exit(EXIT_CANCELLED)

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, on_signal)
        except (NotImplementedError, RuntimeError):  # Windows: no loop signal handlers
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(on_signal))


def _cancel_run(run: Any, console: Console) -> None:
    console.print("[yellow]cancelling… (press Ctrl-C again to quit at once)[/]", markup=True)
    run.cancel()


@cli.command(name="validate")
@click.argument("workflow", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the problems as JSON.")
def validate_cmd(workflow: str, as_json: bool) -> None:
    """Check WORKFLOW and print every problem (exit 2 when there are any)."""
    from engine.core.plan import validate

    wf = _load(workflow)
    problems = validate(wf, _registry(), base_dir=Path(workflow).resolve().parent)
    if as_json:
        click.echo(json.dumps({"valid": not problems,
                               "problems": [p.to_dict() for p in problems]}, indent=2))
    elif problems:
        n = len(problems)
        click.echo(f"{workflow}: {n} problem{'s' if n != 1 else ''}:")
        for p in problems:
            click.echo(f"  {p}")
    else:
        click.echo(f"{workflow}: valid ({len(wf.nodes)} nodes, "
                   f"{len(wf.connections)} connections)")
    sys.exit(EXIT_INVALID if problems else EXIT_OK)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Every type with ports and config schema.")
def nodes(as_json: bool) -> None:
    """List the installed node types."""
    registry = _registry()
    if as_json:
        data = [cls.describe() | {"origin": registry.origin(cls.type)} for cls in registry]
        click.echo(json.dumps(data, indent=2))
        return
    from rich.table import Table

    table = Table(title=f"{len(registry)} node types", title_justify="left")
    for col in ("type", "title", "inputs", "outputs", "description"):
        table.add_column(col, overflow="fold")

    def ports(ps: Any) -> str:
        return ", ".join(f"{p.name}{'*' if p.multiple else ''}:{p.type}" for p in ps)

    for cls in registry:
        table.add_row(cls.type, cls.title, ports(cls.inputs), ports(cls.outputs),
                      cls.description)
    Console().print(table)


from engine.cli.secrets_cmd import secrets_group  # noqa: E402 - they use the helpers above
from engine.cli.serve_cmd import serve  # noqa: E402

cli.add_command(serve)
cli.add_command(secrets_group)


def main() -> None:
    # Not click's standalone mode: it turns Ctrl-C into "Aborted!" with exit 1, and
    # FORMAT.md wants 130 for a cancelled command.
    try:
        cli.main(prog_name="flowcli", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        sys.exit(EXIT_CANCELLED)
    sys.exit(EXIT_OK)


__all__ = ["cli", "main"]
