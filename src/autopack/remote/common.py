"""What every remote command shares: the server option, credentials, output (tables or JSON), exit codes.

Exit codes: 0 success, 1 the server refused (message and request id on stderr), 2 usage error,
3 the server could not be reached.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Iterable
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from autopack.client import config
from autopack.client.errors import AutopackError, ConnectionFailed

REMOTE_PANEL = "Remote (a server over HTTP: --api-url, a key, a token or autopack login)"
EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE = 1, 2, 3

ApiUrl = typer.Option(None, "--api-url", envvar="AUTOPACK_URL", show_envvar=True,
                      help=f"The Autopack server (default {config.DEFAULT_URL}).")
AsJson = typer.Option(False, "--json", help="One JSON document on stdout, for scripts.")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def make_client(api_url: str | None, api_key: str | None = None):
    """A client for the server: key from AUTOPACK_API_KEY, token from AUTOPACK_TOKEN or `autopack login`."""
    from autopack.client import Client

    url = config.base_url(api_url)
    key = api_key or os.environ.get("AUTOPACK_API_KEY")
    token = os.environ.get("AUTOPACK_TOKEN") or (None if key else config.stored_token(url))
    # A person waits at the terminal: fewer, shorter retries than a script's default.
    return Client(url, api_key=key, token=token, max_retries=2, backoff=0.25)


def remote(command: Callable) -> Callable:
    """Run a command turning client errors into the CLI's exit codes (message on stderr)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ConnectionFailed as exc:
            err.print(f"[red]error:[/] {exc.message}", markup=True)
            raise typer.Exit(EXIT_UNREACHABLE) from None
        except AutopackError as exc:
            if exc.status_code is None:  # refused by the schema before sending: the input is wrong
                err.print(f"[red]error:[/] {exc.message}")
                raise typer.Exit(EXIT_USAGE) from None
            err.print(f"[red]error:[/] {exc}")
            raise typer.Exit(EXIT_REFUSED) from None

    return wrapper


def usage_error(message: str) -> typer.Exit:
    """Print a usage problem and return the exit to raise (code 2)."""
    err.print(f"[red]error:[/] {message}")
    return typer.Exit(EXIT_USAGE)


def plain(value: Any) -> Any:
    """A model, or a list of them, as plain JSON data."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def emit_json(value: Any) -> None:
    """Exactly one JSON document on stdout."""
    sys.stdout.write(json.dumps(plain(value), ensure_ascii=False, indent=2, default=str) + "\n")


def emit_table(title: str, columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> None:
    """A table for people."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    out.print(table)


def waiting(message: str):
    """A spinner on stderr while something waits (stdout stays clean for --json)."""
    return err.status(message, spinner="dots")
