"""`autopack tenants ...`: tenants and their memberships."""

from __future__ import annotations

import typer


def session_scope(**kwargs):
    """The database session, imported on first use: remote commands never load the database layer."""
    from autopack.core.database import session_scope as scope

    return scope(**kwargs)


app = typer.Typer(help="Manage tenants and memberships.", no_args_is_help=True)
CLI_ACTOR = "cli"


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(1)


@app.command("create")
def tenants_create(slug: str = typer.Argument(...), name: str = typer.Option(None, help="Display name.")) -> None:
    """Create a tenant."""
    from autopack.core.errors import EnvelopeError
    from autopack.tenants import service

    try:
        with session_scope() as session:
            tenant = service.create_tenant(session, slug=slug, name=(name or slug)[:255], actor=CLI_ACTOR)
            typer.echo(f"created tenant {tenant.slug} (id {tenant.id})")
    except EnvelopeError as exc:
        _fail(exc.message)


@app.command("add-member")
def tenants_add_member(tenant: str = typer.Argument(..., help="Tenant id or slug."),
                       username: str = typer.Argument(...),
                       role: str = typer.Option("viewer", help="viewer, operator or admin.")) -> None:
    """Add a user to a tenant, or change their role."""
    from autopack.core.errors import EnvelopeError
    from autopack.tenants import service

    try:
        with session_scope() as session:
            found = service.find_tenant(session, tenant)
            if found is None:
                _fail(f"tenant {tenant} not found")
            user = service.resolve_user(session, user_id=None, username=username)
            service.set_member(session, found, user, role, CLI_ACTOR)
            typer.echo(f"{user.username} is {role} of {found.slug}")
    except EnvelopeError as exc:
        _fail(exc.message)
