"""`flowcli secrets set NAME | list | delete NAME`: secrets in the OS keychain.

Values are read without echo (or from stdin when it is not a terminal) and never
printed. Where there is no keychain (headless Linux, CI) the commands say so and
`set` exits 2: there, secrets come from `FLOWUI_SECRET_<NAME>` variables.
"""

from __future__ import annotations

import json
import os
import sys

import click

from engine.cli.common import EXIT_FAILED, EXIT_INVALID, fail, say
from engine.errors import SecretsError
from engine.secrets.store import ENV_PREFIX, NAME_RE, SecretStore


def _check_name(name: str) -> None:
    if not NAME_RE.match(name):
        fail(f"secret name {name!r} must be letters, digits and _ (and not start with a "
              "digit), e.g. OPENAI_API_KEY")


@click.group(name="secrets")
def secrets_group() -> None:
    """Store, list and delete secrets (environment variables FLOWUI_SECRET_<NAME> win)."""


@secrets_group.command(name="set")
@click.argument("name")
def set_cmd(name: str) -> None:
    """Store secret NAME in the keychain: typed without echo, or read from stdin."""
    _check_name(name)
    store = SecretStore()
    note = store.keychain_note()
    if note is not None:
        fail(f"{note}; set {ENV_PREFIX}{name} instead", EXIT_INVALID)
    if sys.stdin is not None and sys.stdin.isatty():
        value = click.prompt(f"Value of {name}", hide_input=True, confirmation_prompt=True,
                             default="", show_default=False, err=True)
    else:
        value = sys.stdin.read() if sys.stdin is not None else ""
        value = value.removesuffix("\n").removesuffix("\r")  # the one newline `echo` adds
    if not value:
        fail("a secret cannot be empty; nothing was stored", EXIT_INVALID)
    try:
        store.set(name, value)
    except SecretsError as e:
        fail(str(e), EXIT_FAILED)
    if ENV_PREFIX + name in os.environ:
        say(f"note: {ENV_PREFIX}{name} is set in the environment and wins over "
            "the stored value")
    say(f"stored secret {name} in the keychain")


@secrets_group.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="[{name, source}] as JSON.")
def list_cmd(as_json: bool) -> None:
    """List secret names and where each comes from (values are never shown)."""
    store = SecretStore()
    rows = [(name, store.source(name)) for name in store.names()]
    note = store.keychain_note()
    if note is not None:
        say(f"note: {note}")
    if as_json:
        click.echo(json.dumps([{"name": n, "source": s} for n, s in rows], indent=2))
        return
    if not rows:
        say("no secrets are set")
        return
    width = max(len(n) for n, _ in rows)
    for name, source in rows:
        click.echo(f"{name:<{width}}  {source}")


@secrets_group.command(name="delete")
@click.argument("name")
def delete_cmd(name: str) -> None:
    """Delete secret NAME from the keychain."""
    _check_name(name)
    store = SecretStore()
    try:
        store.delete(name)
    except SecretsError as e:
        fail(str(e), EXIT_FAILED)
    say(f"deleted secret {name}")
