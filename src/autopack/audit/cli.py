"""`autopack audit ...`: ledger commands for operators."""

from __future__ import annotations

import typer

app = typer.Typer(help="Audit ledger.", no_args_is_help=True)


@app.command("verify")
def verify(
    tenant_id: str | None = typer.Option(None, "--tenant-id", help="Check only this tenant's chain."),
) -> None:
    """Re-check the ledger's hash chains; print the report and exit 1 when a link is broken."""
    from autopack.audit.service import verify_ledger
    from autopack.core.database import session_scope

    with session_scope(writer=False) as session:
        report = verify_ledger(session, tenant_id=tenant_id)
    typer.echo(report.model_dump_json(indent=2))
    if not report.ok:
        raise typer.Exit(code=1)


@app.command("reseal")
def reseal() -> None:
    """Re-seal the chain heads under the current server secret (after changing AUTOPACK_SECRET_KEY).

    Checks every chain's links first and changes nothing (exit 1) when one is broken.
    """
    from autopack.audit.service import reseal_heads
    from autopack.core.database import session_scope

    with session_scope() as session:
        report = reseal_heads(session, actor="cli:audit-reseal")
    typer.echo(report.model_dump_json(indent=2))
    if not report.ok:
        raise typer.Exit(code=1)
    typer.echo("chain heads re-sealed")
