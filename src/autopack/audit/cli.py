"""`autopack audit ...`: ledger commands for operators."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Audit ledger.", no_args_is_help=True)


@app.command("verify")
def verify(
    tenant_id: str | None = typer.Option(None, "--tenant-id", help="Check only this tenant's chain."),
    anchor: Path | None = typer.Option(
        None, "--anchor", dir_okay=False,
        help="Compare with this anchor (from `autopack audit anchor`) instead of the stored one."),
) -> None:
    """Re-check the ledger's hash chains and anchor; print the report and exit 1 when anything is broken."""
    from autopack.audit.service import verify_ledger
    from autopack.core.database import session_scope

    with session_scope(writer=False) as session:
        report = verify_ledger(session, tenant_id=tenant_id, anchor_file=anchor)
    typer.echo(report.model_dump_json(indent=2))
    if not report.ok:
        raise typer.Exit(code=1)


@app.command("anchor")
def anchor() -> None:
    """Bring the stored anchor up to date and print it (sealed JSON) for keeping outside this server.

    Exits 1, printing nothing on stdout, when the stored anchor cannot be trusted; exits 1 after
    printing it when the ledger no longer holds an anchored head.
    """
    from autopack.audit.anchor import refresh_anchor

    result = refresh_anchor()
    if result.anchor is None:
        typer.echo(f"the stored anchor cannot be trusted: {result.problem}", err=True)
        raise typer.Exit(code=1)
    typer.echo(result.anchor.to_json(), nl=False)
    if result.breaks:
        chains = ", ".join(b.chain for b in result.breaks)
        typer.echo(f"anchor_mismatch: the ledger no longer holds the anchored head of {chains}", err=True)
        raise typer.Exit(code=1)


@app.command("reseal")
def reseal() -> None:
    """Re-seal the chain heads and the anchor under the current server secret (after changing AUTOPACK_SECRET_KEY).

    Checks every chain's links and the stored anchor first and changes nothing (exit 1) when one is broken.
    """
    from autopack.audit.service import reseal_heads
    from autopack.core.database import session_scope

    with session_scope() as session:
        report = reseal_heads(session, actor="cli:audit-reseal")
    typer.echo(report.model_dump_json(indent=2))
    if not report.ok:
        raise typer.Exit(code=1)
    typer.echo("chain heads re-sealed")
