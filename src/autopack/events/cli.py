"""`autopack runs watch RUN_ID`: tiers and phases of a run, live from its event stream."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

runs_app = typer.Typer(help="Runs, seen from the API.", no_args_is_help=True)
FINAL_PREFIX = "DONE_"
STATE_STYLE = {"COMPLETE": "green", "FAILED": "red", "EXECUTING": "yellow", "GATE": "cyan",
               "CI_RUNNING": "cyan", "SKIPPED": "dim"}


class RunView:
    """The run's state, tiers and phases, kept current from events."""

    def __init__(self, document: dict[str, Any]):
        self.run_id = document["id"]
        self.state = document["state"]
        self.tiers = {t["tier_id"]: t["state"] for t in document.get("tiers", [])}
        self.phases = {p["phase_id"]: (t["tier_id"], p["state"])
                       for t in document.get("tiers", []) for p in t.get("phases", [])}

    def apply(self, event: dict[str, Any]) -> None:
        """Move what the event moved."""
        payload = event.get("payload") or {}
        if event["type"] == "run.state_changed":
            self.state = payload["to"]
        elif event["type"] == "tier.state_changed" and payload.get("tier_id") in self.tiers:
            self.tiers[payload["tier_id"]] = payload["to"]
        elif event["type"] == "phase.state_changed" and payload.get("phase_id") in self.phases:
            tier, _ = self.phases[payload["phase_id"]]
            self.phases[payload["phase_id"]] = (tier, payload["to"])

    @property
    def finished(self) -> bool:
        """True once the run reached a final state."""
        return self.state.startswith(FINAL_PREFIX)

    def table(self) -> Table:
        """The tiers with their phases."""
        table = Table(title=f"run {self.run_id}: {self.state}")
        table.add_column("tier")
        table.add_column("phase")
        table.add_column("state")
        for tier_id, tier_state in self.tiers.items():
            table.add_row(tier_id, "", _styled(tier_state))
            for phase_id, (tier, state) in self.phases.items():
                if tier == tier_id:
                    table.add_row("", phase_id, _styled(state))
        return table


def _styled(state: str) -> str:
    style = STATE_STYLE.get(state)
    return f"[{style}]{state}[/]" if style else state


def _events(client: httpx.Client, url: str, after: int | None):
    headers = {"Last-Event-ID": str(after)} if after is not None else {}
    with client.stream("GET", url, headers=headers) as response:
        response.raise_for_status()
        data: str | None = None
        for line in response.iter_lines():
            if line.startswith("data:"):
                data = line[5:].strip()
            elif line == "" and data is not None:
                yield json.loads(data)
                data = None


@runs_app.command()
def watch(run_id: str = typer.Argument(..., help="The run to watch."),
          api_url: str = typer.Option("http://127.0.0.1:8000", "--api-url",
                                      help="The Autopack server."),
          api_key: str | None = typer.Option(None, "--api-key", envvar="AUTOPACK_API_KEY",
                                             help="X-API-Key, when the server wants one.")) -> None:
    """Show the run's tiers and phases live; exit when it reaches a final state."""
    base = api_url.rstrip("/")
    headers = {"X-API-Key": api_key} if api_key else {}
    with httpx.Client(headers=headers, timeout=httpx.Timeout(10, read=60)) as client:
        response = client.get(f"{base}/runs/{run_id}")
        if response.status_code == 404:
            raise typer.BadParameter(f"Run {run_id} not found", param_hint="RUN_ID")
        response.raise_for_status()
        view = RunView(response.json())
        after: int | None = None
        with Live(view.table(), console=Console(), auto_refresh=False) as live:
            while not view.finished:
                try:
                    for event in _events(client, f"{base}/runs/{run_id}/events", after):
                        after = event["id"]
                        view.apply(event)
                        live.update(view.table(), refresh=True)
                        if view.finished:
                            break
                except httpx.TransportError:
                    time.sleep(1)  # the server went away: resume after the last event we saw
    typer.echo(f"run {run_id} finished: {view.state}")
