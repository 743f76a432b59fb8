"""`autopack autopilot ...`: a tenant's actions, the freeze and the enforcement kill switch."""

from __future__ import annotations

from enum import Enum

import typer

from autopack.remote.common import ApiUrl, AsJson, emit_json, emit_table, make_client, out, remote, waiting

autopilot_app = typer.Typer(help="A tenant's autopilot: actions, approve, dismiss, freeze, kill switch.",
                            no_args_is_help=True)
Tenant = typer.Argument(..., help="The tenant's id.")


class Status(str, Enum):
    """Action statuses."""

    queued = "queued"
    approved = "approved"
    applying = "applying"
    applied = "applied"
    failed = "failed"
    dismissed = "dismissed"


class Switch(str, Enum):
    """The kill switch's two positions (on: enforcement enabled)."""

    on = "on"
    off = "off"


@autopilot_app.command("actions")
@remote
def actions(tenant_id: int = Tenant, status: Status | None = typer.Option(None, "--status", help="Only these."),
            api_url: str | None = ApiUrl, as_json: bool = AsJson) -> None:
    """List the tenant's actions (every page), newest first."""
    with make_client(api_url) as client, waiting("reading every page"):
        found = list(client.autopilot(tenant_id).list_actions(status=status.value if status else None))
    if as_json:
        return emit_json({"count": len(found), "actions": found})
    emit_table(f"{len(found)} action(s) of tenant {tenant_id}", ["id", "type", "entity", "platform", "status", "created"],
               [(a.id, a.action_type, a.entity_name or a.entity_id, a.platform, a.status,
                 a.created_at.isoformat(timespec="seconds")) for a in found])


@autopilot_app.command("approve")
@remote
def approve(tenant_id: int = Tenant, action_id: str = typer.Argument(..., help="The action's id."),
            api_url: str | None = ApiUrl, as_json: bool = AsJson) -> None:
    """Approve a queued action (the execution worker applies it)."""
    with make_client(api_url) as client, waiting("approving"):
        decided = client.autopilot(tenant_id).approve(action_id)
    if as_json:
        return emit_json(decided)
    out.print(f"action {decided.action.id}: {decided.action.status}")


@autopilot_app.command("dismiss")
@remote
def dismiss(tenant_id: int = Tenant, action_id: str = typer.Argument(..., help="The action's id."),
            api_url: str | None = ApiUrl, as_json: bool = AsJson) -> None:
    """Dismiss a queued action."""
    with make_client(api_url) as client, waiting("dismissing"):
        decided = client.autopilot(tenant_id).dismiss(action_id)
    if as_json:
        return emit_json(decided)
    out.print(f"action {decided.action.id}: {decided.action.status}")


@autopilot_app.command("freeze")
@remote
def freeze(tenant_id: int = Tenant, reason: str = typer.Option(..., "--reason", help="Why (audited)."),
           api_url: str | None = ApiUrl, as_json: bool = AsJson) -> None:
    """Stop every approval and execution for the tenant until unfrozen (tenant admin)."""
    with make_client(api_url) as client, waiting("freezing"):
        answer = client.autopilot(tenant_id).freeze(reason)
    if as_json:
        return emit_json(answer)
    out.print(answer.message)


@autopilot_app.command("unfreeze")
@remote
def unfreeze(tenant_id: int = Tenant, reason: str | None = typer.Option(None, "--reason", help="Why (audited)."),
             api_url: str | None = ApiUrl, as_json: bool = AsJson) -> None:
    """Let the tenant's execution resume."""
    with make_client(api_url) as client, waiting("unfreezing"):
        answer = client.autopilot(tenant_id).unfreeze(reason)
    if as_json:
        return emit_json(answer)
    out.print(answer.message)


@autopilot_app.command("kill-switch")
@remote
def kill_switch(tenant_id: int = Tenant, position: Switch = typer.Argument(..., help="on: enforcement enabled."),
                reason: str = typer.Option(..., "--reason", help="Why (required, audited)."),
                api_url: str | None = ApiUrl, as_json: bool = AsJson) -> None:
    """Turn the tenant's enforcement on or off (tenant admin)."""
    with make_client(api_url) as client, waiting("switching enforcement"):
        answer = client.autopilot(tenant_id).kill_switch(position is Switch.on, reason)
    if as_json:
        return emit_json(answer)
    out.print(answer.message)
