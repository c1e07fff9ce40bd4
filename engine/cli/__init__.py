"""`flowcli`: the headless command line (FORMAT.md section 4), a thin shell over the engine.

stdout carries machine output only (the result object, or the events with
`--events jsonl`); the progress display, log text and every message go to
stderr. Exit codes: 0 completed, 1 failed, 2 invalid / usage, 130 cancelled.
Each command lives in its own module and imports what it needs when it runs.
"""

from __future__ import annotations

import os
import sys

import click

from engine.cli.cache_cmd import cache_group
from engine.cli.check_cmd import nodes, validate_cmd
from engine.cli.common import EXIT_CANCELLED, EXIT_FAILED, EXIT_OK, say_error
from engine.cli.run_cmd import run
from engine.cli.runs_cmd import runs_group
from engine.cli.secrets_cmd import secrets_group
from engine.cli.serve_cmd import serve
from engine.cli.server_cmd import server
from engine.support.gcpause import file_built_objects_as_old


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="flowui", prog_name="flowcli")
def cli() -> None:
    """Run, check and inspect FlowUI workflows without the editor."""


for command in (run, validate_cmd, nodes, serve, server, secrets_group, runs_group,
                cache_group):
    cli.add_command(command)


def main() -> None:
    # The command line owns its process and has no Qt objects: big workflows may skip
    # the garbage collector's rescans of what loading and compiling built.
    file_built_objects_as_old()
    sys.exit(run_command())


def run_command(argv: list[str] | None = None, *, command: click.Command = cli,
                prog_name: str = "flowcli") -> int:
    """One `flowcli` command (`argv`, else the process's arguments); its exit code.
    Commands end in SystemExit, which is taken here too. `command` runs one command
    as a program of its own (`flowserver`)."""
    # Not click's standalone mode: it turns Ctrl-C into "Aborted!" with exit 1, and
    # FORMAT.md wants 130 for a cancelled command.
    try:
        command.main(args=argv, prog_name=prog_name, standalone_mode=False)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else EXIT_FAILED
    except click.exceptions.Exit as e:
        return e.exit_code
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        return EXIT_CANCELLED
    except Exception as e:  # a bug of ours: one clear line, the traceback on request
        if os.environ.get("FLOWUI_DEBUG"):
            raise
        # Only the type: the message of an unexpected error may quote a secret.
        say_error(f"internal error ({type(e).__name__}); this is a bug in FlowUI: please "
                  "report it with the output of the same command run with FLOWUI_DEBUG=1")
        return EXIT_FAILED
    return EXIT_OK


__all__ = ["cli", "main", "run_command"]
