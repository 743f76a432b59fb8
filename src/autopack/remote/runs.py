"""`autopack runs list|show|watch|start|example-plan`: runs seen from the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.live import Live
from rich.table import Table

from autopack.remote.common import (
    ApiUrl,
    AsJson,
    emit_json,
    emit_table,
    make_client,
    out,
    remote,
    usage_error,
    waiting,
)

runs_app = typer.Typer(help="Runs: list, show, start from a YAML plan, watch live.", no_args_is_help=True)
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


@runs_app.command("list")
@remote
def list_runs(limit: int = typer.Option(20, min=1, max=100, help="Runs per page."),
              offset: int = typer.Option(0, min=0, help="Runs to skip."),
              api_url: str | None = ApiUrl, as_json: bool = AsJson) -> None:
    """List runs, newest first."""
    with make_client(api_url) as client:
        page = client.list_runs(limit=limit, offset=offset)
    if as_json:
        return emit_json(page)
    emit_table(f"runs {offset + 1}-{offset + len(page.runs)} of {page.total}",
               ["run", "state", "phases done", "tokens", "created"],
               [(r.id, r.state, f"{r.phases_completed}/{r.phases_total}", r.tokens_used,
                 r.created_at.isoformat(timespec="seconds")) for r in page.runs])


@runs_app.command("show")
@remote
def show_run(run_id: str = typer.Argument(..., help="The run."), api_url: str | None = ApiUrl,
             as_json: bool = AsJson) -> None:
    """Show a run with its tiers and phases."""
    with make_client(api_url) as client:
        run = client.get_run(run_id)
    if as_json:
        return emit_json(run)
    out.print(f"run {run.id}: {run.state}  tokens {run.tokens_used}/{run.token_cap}")
    rows = []
    for tier in run.tiers:
        rows.append((tier.tier_id, "", tier.name, tier.state, "", ""))
        rows.extend(("", p.phase_id, p.name, p.state, *_reported(p.results_summary)) for p in tier.phases)
    emit_table("tiers and phases", ["tier", "phase", "name", "state", "last builder result", "auditor"], rows)


def _reported(summary: Any) -> tuple[str, str]:  # noqa: ANN401 - a PhaseResultsSummary or None
    """The phase's latest builder result and auditor verdict, in a few words ("" before any)."""
    if summary is None:
        return "", ""
    builder = "" if summary.builder_status is None else (
        f"attempt {summary.builder_attempts} {summary.builder_status}: {summary.files_changed} files "
        f"+{summary.lines_added}/-{summary.lines_removed}, {summary.builder_tokens} tokens")
    return builder, summary.auditor_verdict or ""


@runs_app.command("start")
@remote
def start_run(plan: Path = typer.Argument(..., help="A YAML plan (see `autopack runs example-plan`)."),
              run_id: str | None = typer.Option(None, "--run-id", help="Use this run id instead of the plan's."),
              api_url: str | None = ApiUrl, as_json: bool = AsJson) -> None:
    """Start a run from a YAML plan: its tiers, phases and scopes."""
    from autopack.remote.plan import PlanError, load_plan

    try:
        body = load_plan(plan, run_id)
    except PlanError as exc:
        raise usage_error(str(exc)) from None
    with make_client(api_url) as client, waiting("starting the run"):
        run = client.start_run(body)
    if as_json:
        return emit_json(run)
    phases = sum(len(t.phases) for t in run.tiers)
    out.print(f"run {run.id} started: {run.state} ({len(run.tiers)} tiers, {phases} phases)")


@runs_app.command("example-plan")
def example_plan() -> None:
    """Print the example plan shipped with Autopack (a starting point for `runs start`)."""
    from autopack.remote.plan import example_text

    typer.echo(example_text(), nl=False)


@runs_app.command()
@remote
def watch(run_id: str = typer.Argument(..., help="The run to watch."), api_url: str | None = ApiUrl,
          api_key: str | None = typer.Option(None, "--api-key", envvar="AUTOPACK_API_KEY",
                                             help="X-API-Key, when the server wants one.")) -> None:
    """Show the run's tiers and phases live; exit when it reaches a final state."""
    with make_client(api_url, api_key) as client:
        view = RunView(client.get_run(run_id).model_dump(mode="json"))
        if not view.finished:
            with Live(view.table(), console=out, auto_refresh=False) as live:
                # The iterator reconnects by itself (Last-Event-ID) when the stream drops.
                for event in client.events(run_id=run_id):
                    view.apply(event.model_dump(mode="json"))
                    live.update(view.table(), refresh=True)
                    if view.finished:
                        break
        else:
            out.print(view.table())
    typer.echo(f"run {run_id} finished: {view.state}")
