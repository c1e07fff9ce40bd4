"""What every `flowcli` command shares: exit codes, messages on stderr, loading the
workflow and the registry, the JSON-lines event writer, and Ctrl-C handling.

Rich is imported only when stderr is a terminal: piped output is plain text anyway,
and a command that runs a small workflow should not pay for a styling library.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

from engine.errors import FlowError, WorkflowFileError
from engine.support import json_out

if TYPE_CHECKING:
    from engine.core.events import Event
    from engine.core.registry import Registry
    from engine.workflow.model import Workflow

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_CANCELLED = 0, 1, 2, 130
EXIT_FOR_STATUS = {"completed": EXIT_OK, "failed": EXIT_FAILED, "cancelled": EXIT_CANCELLED}


def allow_path_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """`--allow-path DIR` (repeatable): a folder the workflow's file nodes and
    sub-workflows may use besides its own (engine.support.file_roots)."""
    import click

    def allow(ctx: Any, param: Any, values: tuple[str, ...]) -> None:
        from engine.support.file_roots import allow as allow_folders

        allow_folders(values)

    return click.option(
        "--allow-path", multiple=True, metavar="DIR", expose_value=False, callback=allow,
        type=click.Path(file_okay=False),
        help="Let file nodes and sub-workflows use DIR and below, besides the workflow's "
             "own folder (repeatable; also FLOWUI_FILE_ROOTS).")(command)


# styles of message parts, as rich names them
RED, YELLOW, GREEN, CYAN, DIM, BOLD = "red", "yellow", "green", "cyan", "dim", "bold"


class Printer:
    """Lines on stderr made of (text, style) parts: styled on a terminal, plain otherwise."""

    def __init__(self) -> None:
        self.is_terminal = sys.stderr.isatty()
        self._console: Any = None

    @property
    def console(self) -> Any:
        """The rich Console on stderr (a terminal only)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=True, highlight=False)
        return self._console

    def line(self, *parts: tuple[str, str] | str) -> None:
        pieces = [(p, "") if isinstance(p, str) else p for p in parts]
        if self.is_terminal:
            from rich.text import Text

            text = Text()
            for content, style in pieces:
                text.append(content, style=style or None)
            self.console.print(text, soft_wrap=True)
        else:
            sys.stderr.write("".join(content for content, _ in pieces) + "\n")
            sys.stderr.flush()


_printer: Printer | None = None


def printer() -> Printer:
    global _printer
    if _printer is None:
        _printer = Printer()
    return _printer


def say_error(message: str) -> None:
    printer().line(("error: ", f"{BOLD} {RED}"), message)


def fail(message: str, code: int = EXIT_INVALID) -> NoReturn:
    say_error(message)
    sys.exit(code)


def warn(message: str) -> None:
    printer().line(("warning: ", YELLOW), message)


def say(message: str) -> None:
    printer().line(message)


def load_workflow(path: str) -> Workflow:
    from engine.workflow.file import load

    try:
        return load(path)
    except WorkflowFileError as e:
        fail(str(e))


def load_registry() -> Registry:
    from engine.core.registry import Registry

    try:
        registry = Registry.discover()
    except FlowError as e:
        fail(str(e))
    for problem in registry.load_errors:
        warn(problem)
    return registry


def invalid(source: str, problems: list[Any]) -> NoReturn:
    """Exit 2 listing every problem of an invalid workflow."""
    n = len(problems)
    if all(p.code == "not_cached" for p in problems):  # --cached-only
        fail(f"{source}: --cached-only: {n} upstream node{'s' if n != 1 else ''} "
             "without a cached output:\n" + "\n".join(f"  {p}" for p in problems))
    fail(f"{source}: workflow is invalid ({n} problem{'s' if n != 1 else ''}):\n"
         + "\n".join(f"  {p}" for p in problems))


def jsonl_writer() -> Callable[[Event], None]:
    """A subscriber writing each event as one JSON line on stdout, flushed at once."""
    closed = False

    def emit(event: Event) -> None:
        nonlocal closed
        if closed:
            return
        try:
            sys.stdout.write(json_out.dumps(event.to_dict()) + "\n")
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
