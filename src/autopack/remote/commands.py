"""Adds the remote commands to the `autopack` application, under their own help panel."""

from __future__ import annotations

import typer

from autopack.executor.cli import execute
from autopack.remote.autopilot import autopilot_app
from autopack.remote.common import REMOTE_PANEL
from autopack.remote.decisions import approvals_app, governance_app
from autopack.remote.runs import runs_app
from autopack.remote.session import events, login, logout


def add_remote_commands(app: typer.Typer) -> None:
    """`runs`, `approvals`, `governance`, `autopilot`, `events`, `execute`, `login`, `logout`."""
    app.add_typer(runs_app, name="runs", rich_help_panel=REMOTE_PANEL)
    app.add_typer(approvals_app, name="approvals", rich_help_panel=REMOTE_PANEL)
    app.add_typer(governance_app, name="governance", rich_help_panel=REMOTE_PANEL)
    app.add_typer(autopilot_app, name="autopilot", rich_help_panel=REMOTE_PANEL)
    app.command("events", rich_help_panel=REMOTE_PANEL)(events)
    app.command("execute", rich_help_panel=REMOTE_PANEL)(execute)
    app.command("login", rich_help_panel=REMOTE_PANEL)(login)
    app.command("logout", rich_help_panel=REMOTE_PANEL)(logout)
