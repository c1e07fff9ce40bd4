"""`flowcli validate WORKFLOW` and `flowcli nodes`: checking a file, listing node types."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from engine.cli.common import (
    EXIT_INVALID,
    EXIT_OK,
    allow_path_option,
    load_registry,
    load_workflow,
)


@click.command(name="validate")
@click.argument("workflow", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the problems as JSON.")
@allow_path_option
def validate_cmd(workflow: str, as_json: bool) -> None:
    """Check WORKFLOW and print every problem (exit 2 when there are any)."""
    from engine.core.plan import validate

    wf = load_workflow(workflow)
    problems = validate(wf, load_registry(), base_dir=Path(workflow).resolve().parent)
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


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Every type with ports and config schema.")
def nodes(as_json: bool) -> None:
    """List the installed node types."""
    registry = load_registry()
    if as_json:
        data = [cls.describe() | {"origin": registry.origin(cls.type)} for cls in registry]
        click.echo(json.dumps(data, indent=2))
        return
    from rich.console import Console
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
