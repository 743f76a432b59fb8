"""`autopack login`, `autopack logout` and `autopack events` (a tail of the event stream)."""

from __future__ import annotations

import json
import sys

import typer

from autopack.client import config
from autopack.remote.common import ApiUrl, err, make_client, out, remote, usage_error


@remote
def login(username: str | None = typer.Option(None, "--username", "-u", help="Asked for when left out."),
          password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from stdin."),
          api_url: str | None = ApiUrl) -> None:
    """Log in: the token is stored (mode 0600) in ~/.config/autopack/credentials for this server."""
    from autopack.client import Client

    url = config.base_url(api_url)
    username = username or typer.prompt("username")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("password", hide_input=True)
    if not password:
        raise usage_error("empty password")
    with Client(url) as client:
        token = client.login(username, password)
    path = config.store_token(url, username, token.access_token)
    out.print(f"logged in to {url} as {username} (token stored in {path})")


def logout(api_url: str | None = ApiUrl) -> None:
    """Forget the token stored for this server."""
    url = config.base_url(api_url)
    if config.forget_token(url):
        out.print(f"logged out of {url}")
    else:
        out.print(f"no stored login for {url}")


@remote
def events(run_id: str | None = typer.Option(None, "--run", help="Only this run's events."),
           tenant_id: int | None = typer.Option(None, "--tenant", help="Only this tenant's autopilot events."),
           after: int | None = typer.Option(None, "--after", help="Start after this event id."),
           once: bool = typer.Option(False, "--once", help="Print what is there, then exit."),
           as_json: bool = typer.Option(False, "--json", help="One JSON document per line."),
           api_url: str | None = ApiUrl) -> None:
    """Tail the event stream (all events need the instance key or a superuser); reconnects by itself."""
    if run_id and tenant_id is not None:
        raise usage_error("give --run or --tenant, not both")
    with make_client(api_url) as client:
        stream = (client.autopilot(tenant_id).events(after, once=once) if tenant_id is not None
                  else client.events(run_id=run_id, last_event_id=after, once=once))
        if not once and sys.stderr.isatty():
            err.print("[dim]waiting for events (Ctrl-C to stop)[/]")
        try:
            for event in stream:
                if as_json:
                    sys.stdout.write(json.dumps(event.model_dump(mode="json")) + "\n")
                    sys.stdout.flush()
                else:
                    where = event.run_id or (f"tenant {event.tenant_id}" if event.tenant_id is not None else "")
                    out.print(f"{event.id:>6}  {event.created_at.isoformat(timespec='seconds')}  "
                              f"{event.type:<28} {where}  {json.dumps(event.payload, separators=(',', ':'))}")
        except KeyboardInterrupt:
            pass
