"""`autopack approvals ...` and `autopack governance ...`: the human decisions, from a terminal."""

from __future__ import annotations

import typer

from autopack.remote.common import ApiUrl, AsJson, emit_json, emit_table, make_client, out, remote, waiting

approvals_app = typer.Typer(help="Approval requests: list the pending ones, approve, reject.", no_args_is_help=True)
governance_app = typer.Typer(help="Governance requests (protected paths): list, approve, deny.",
                             no_args_is_help=True)


@approvals_app.command("list")
@remote
def list_approvals(api_url: str | None = ApiUrl, as_json: bool = AsJson) -> None:
    """List every pending approval request."""
    with make_client(api_url) as client, waiting("reading every page"):
        pending = list(client.iter_pending_approvals())
    if as_json:
        return emit_json({"count": len(pending), "requests": pending})
    emit_table(f"{len(pending)} pending approval request(s)", ["id", "run", "phase", "context", "requested", "times out"],
               [(r.id, r.run_id, r.phase_id, r.context, r.requested_at.isoformat(timespec="seconds"),
                 r.timeout_at.isoformat(timespec="seconds") if r.timeout_at else "") for r in pending])


def _decide(approval_id: int, approve: bool, reason: str | None, api_url: str | None, as_json: bool) -> None:
    with make_client(api_url) as client, waiting("sending the decision"):
        status = client.decide_approval(approval_id, approve, reason)
    if as_json:
        return emit_json(status)
    out.print(f"approval #{status.approval_id} {status.status}" + (f" by {status.decided_by}" if status.decided_by else ""))


@approvals_app.command("approve")
@remote
def approve(approval_id: int = typer.Argument(..., help="The approval request's id."),
            reason: str | None = typer.Option(None, "--reason", help="Why (kept with the decision)."),
            api_url: str | None = ApiUrl, as_json: bool = AsJson) -> None:
    """Approve a pending request (a decider's credential; never the raiser's own)."""
    _decide(approval_id, True, reason, api_url, as_json)


@approvals_app.command("reject")
@remote
def reject(approval_id: int = typer.Argument(..., help="The approval request's id."),
           reason: str = typer.Option(..., "--reason", help="Why it is rejected."),
           api_url: str | None = ApiUrl, as_json: bool = AsJson) -> None:
    """Reject a pending request, with a reason."""
    _decide(approval_id, False, reason, api_url, as_json)


@governance_app.command("list")
@remote
def list_governance(api_url: str | None = ApiUrl, as_json: bool = AsJson) -> None:
    """List every pending governance request."""
    with make_client(api_url) as client, waiting("reading every page"):
        pending = list(client.iter_governance_pending())
    if as_json:
        return emit_json({"count": len(pending), "pending_requests": pending})
    emit_table(f"{len(pending)} pending governance request(s)", ["id", "run", "phase", "paths", "risk"],
               [(r.request_id, r.run_id, r.phase_id, ", ".join(r.requested_paths), r.risk_level) for r in pending])


def _govern(request_id: str, approve: bool, reason: str | None, api_url: str | None, as_json: bool) -> None:
    with make_client(api_url) as client, waiting("sending the decision"):
        decision = client.decide_governance(request_id, approve, reason)
    if as_json:
        return emit_json(decision)
    out.print(decision.message + (f" (not applied: {decision.apply_error})" if decision.apply_error else ""))


@governance_app.command("approve")
@remote
def govern_approve(request_id: str = typer.Argument(..., help="The governance request's id."),
                   reason: str | None = typer.Option(None, "--reason", help="Why (kept with the decision)."),
                   api_url: str | None = ApiUrl, as_json: bool = AsJson) -> None:
    """Approve a governance request (the server applies its patch)."""
    _govern(request_id, True, reason, api_url, as_json)


@governance_app.command("deny")
@remote
def govern_deny(request_id: str = typer.Argument(..., help="The governance request's id."),
                reason: str | None = typer.Option(None, "--reason", help="Why it is denied."),
                api_url: str | None = ApiUrl, as_json: bool = AsJson) -> None:
    """Deny a governance request."""
    _govern(request_id, False, reason, api_url, as_json)
