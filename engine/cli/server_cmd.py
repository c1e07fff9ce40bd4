"""`flowserver` (also `flowcli server`): the HTTP API over the workflows of a folder.

Exit 0 after a clean stop (Ctrl-C / SIGTERM), 2 on a usage problem (a non-loopback
address without a token, an unreadable token file), 1 when it cannot listen.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from engine.cli.common import EXIT_FAILED, EXIT_OK, allow_path_option, fail, load_registry
from engine.cli.executor_opts import executor_choice, executor_option, on_executor
from engine.cli.queue_opts import install_queue, queue_option
from engine.cli.store_opts import store_option


@click.command(name="server")
@click.option("--workflows", "workflows_dir", type=click.Path(file_okay=False),
              default=".", show_default=True,
              help="The folder of .flow.json files the API serves (created if missing).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback needs the token (no "
                   "--no-token).")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port (0: any free port, printed on start).")
@click.option("--token-file", type=click.Path(dir_okay=False),
              help="The bearer token's file, made (mode 0600) if missing  "
                   "[default: <data dir>/server-token]")
@click.option("--no-token", is_flag=True,
              help="No authentication: only allowed on a loopback address.")
@click.option("--cors-origin", "cors_origins", multiple=True, metavar="ORIGIN",
              help="Allow browser pages from this origin (repeatable); CORS is off without.")
@click.option("--max-concurrent-runs", type=click.IntRange(min=1), default=64,
              show_default=True, help="Runs at once; more wait in the queue.")
@click.option("--queue-size", type=click.IntRange(min=0), default=4096, show_default=True,
              help="Runs that may wait for a slot before POST /runs answers 503.")
@click.option("--max-body-mb", type=click.FloatRange(min=0.001), default=32.0,
              show_default=True, help="Request body size limit (413 beyond).")
@click.option("--max-ws-message-kb", type=click.FloatRange(min=1), default=64.0,
              show_default=True, help="Largest WebSocket message a client may send.")
@click.option("--grace", type=click.FloatRange(min=0), default=10.0, show_default=True,
              metavar="SECONDS", help="On stop, how long runs may finish before they are "
              "cancelled.")
@click.option("--max-client-lag", type=click.IntRange(min=1), default=20_000,
              show_default=True, metavar="EVENTS", help="A live-events client further "
              "behind a run than this is disconnected (close code 4008).")
@click.option("--client-send-timeout", type=click.FloatRange(min=0, min_open=True),
              default=10.0, show_default=True, metavar="SECONDS",
              help="A WebSocket send that does not drain this long disconnects the client "
                   "(4008).")
@click.option("--events-interval", type=click.FloatRange(min=0), default=0.05,
              show_default=True, metavar="SECONDS", help="A live-events client gets at most "
              "one message per interval while a run goes on (its first and last at once).")
@executor_option
@store_option
@queue_option
@allow_path_option
def server(workflows_dir: str, host: str, port: int, token_file: str | None, no_token: bool,
           cors_origins: tuple[str, ...], max_concurrent_runs: int, queue_size: int,
           max_body_mb: float, max_ws_message_kb: float, grace: float,
           max_client_lag: int = 20_000, client_send_timeout: float = 10.0,
           events_interval: float = 0.05,
           store_path: str | None = None, executor: str | None = None,
           queue_url: str | None = None) -> None:
    """Serve the HTTP API (workflows, runs, live events, node types) until stopped."""
    from engine.errors import ServeError, StoreError
    from engine.server.api import auth
    from engine.server.api.serve import serve
    from engine.server.api.service import ServiceOptions

    if no_token and not auth.is_loopback(host):
        fail(f"refusing to listen on {host} without a token: anyone who can reach it could "
             "run workflows; drop --no-token (a token is made on first start) or listen on "
             "127.0.0.1")
    token = None
    if not no_token:
        path = Path(token_file) if token_file else auth.default_token_file()
        try:
            token, created = auth.load_or_create(path)
        except ServeError as e:
            fail(str(e))
        if created:  # the one time it is shown: clients need it
            click.echo(f"flowserver: a new API token was made and saved in {path} (mode "
                       f"0600); it is shown this once:\n  {token}", err=True)
    folder = Path(workflows_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        fail(f"cannot use the workflows folder {folder}: {e.strerror or e}")
    options = ServiceOptions(
        workflows_dir=folder, store_path=Path(store_path) if store_path else None,
        max_concurrent_runs=max_concurrent_runs, queue_size=queue_size,
        max_body_bytes=int(max_body_mb * 1024 * 1024),
        max_ws_message_bytes=int(max_ws_message_kb * 1024), cors_origins=cors_origins,
        max_client_lag=max_client_lag, send_timeout_s=client_send_timeout,
        events_interval_s=events_interval,
        queue_backend=install_queue(queue_url, store_path))
    registry = load_registry()
    from engine.core.runner import Runner
    from engine.workflow.model import Workflow

    choice = executor_choice(executor, Workflow())  # checked before anything listens
    holder = Runner(registry)  # on_executor sets its `execution` to the cluster's

    async def body() -> None:
        options.execution = None if choice.is_local else holder.execution
        await serve(registry, options, host=host, port=port, token=token, grace_s=grace)

    try:
        asyncio.run(on_executor(choice, holder, Workflow(), body))
    except ServeError as e:
        fail(str(e), EXIT_FAILED)
    except StoreError as e:
        fail(str(e))
    sys.exit(EXIT_OK)


def main() -> None:
    """The `flowserver` console script."""
    from engine.cli import run_command

    sys.exit(run_command(sys.argv[1:], command=server, prog_name="flowserver"))
