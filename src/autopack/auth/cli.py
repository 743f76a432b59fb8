"""`autopack users|apikeys|keys ...`: users and their roles, API keys, JWT signing keys.

Secrets are read from a prompt or stdin, never from argv.
"""

from __future__ import annotations

import sys

import typer


def session_scope(**kwargs):
    """The database session, imported on first use: remote commands never load the database layer."""
    from autopack.core.database import session_scope as scope

    return scope(**kwargs)


users_app = typer.Typer(help="Manage users.", no_args_is_help=True)
apikeys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
keys_app = typer.Typer(help="Manage JWT signing keys.", no_args_is_help=True)
CLI_ACTOR = "cli"


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(1)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not 8 <= len(password) <= 100:
        _fail("password must be 8 to 100 characters")
    return password


@users_app.command("create")
def users_create(
    username: str = typer.Argument(..., help="3 to 50 characters."),
    email: str = typer.Option(..., help="Email address."),
    superuser: bool = typer.Option(False, "--superuser", help="Administer everything."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from stdin."),
) -> None:
    """Create a user; the password is prompted for (or read from stdin), never taken from argv."""
    from pydantic import ValidationError

    from autopack.audit import service as audit
    from autopack.auth import service
    from autopack.auth.schemas import RegisterRequest
    from autopack.core.errors import AutopackError

    password = _read_password(password_stdin)
    try:
        RegisterRequest(username=username, email=email, password=password)
    except ValidationError as exc:
        _fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    try:
        with session_scope() as session:
            user = service.create_user(session, username=username, email=email, password=password,
                                       is_superuser=superuser)
            audit.append_event(session, action="auth.user_created", actor=CLI_ACTOR, target_type="user",
                               target_id=str(user.id), details={"superuser": superuser})
            typer.echo(f"created user {user.username} (id {user.id}{', superuser' if superuser else ''})")
    except AutopackError as exc:
        _fail(str(exc.detail))


def _change_role(username: str, role: str, granting: bool) -> None:
    """Grant or revoke an instance-level role, audited in the same transaction."""
    from autopack.audit import service as audit
    from autopack.auth import privileges, service
    from autopack.db.models.roles import INSTANCE_ROLES

    if role not in INSTANCE_ROLES:
        _fail(f"unknown role {role!r}: choose one of {', '.join(INSTANCE_ROLES)}")
    with session_scope() as session:
        user = service.find_user(session, username)
        if user is None:
            _fail(f"user {username} not found")
        if granting:
            changed = privileges.grant(session, user.id, role, granted_by=CLI_ACTOR)
        else:
            changed = privileges.revoke(session, user.id, role)
        if changed:
            audit.append_event(session, action=f"auth.role_{'granted' if granting else 'revoked'}",
                               actor=CLI_ACTOR, target_type="user", target_id=str(user.id),
                               details={"username": user.username, "role": role})
        roles = privileges.roles_of(session, user.id)
    verb = ("granted" if granting else "revoked") if changed else ("already held" if granting else "not held")
    typer.echo(f"{role} {verb} for {user.username}; roles: {', '.join(roles) or 'none'}")


@users_app.command("grant")
def users_grant(username: str = typer.Argument(...),
                role: str = typer.Argument(..., help="approver (decides requests) or runner (drives runs).")) -> None:
    """Give a user an instance-level role (audited)."""
    _change_role(username, role, granting=True)


@users_app.command("revoke")
def users_revoke(username: str = typer.Argument(...), role: str = typer.Argument(...)) -> None:
    """Take an instance-level role from a user (audited; every instance refuses it on the next request)."""
    _change_role(username, role, granting=False)


@users_app.command("list")
def users_list() -> None:
    """List users with their flags and instance-level roles (never a secret)."""
    from sqlalchemy import select

    from autopack.db.models import User, UserRole

    with session_scope(writer=False) as session:
        roles: dict[int, list[str]] = {}
        for user_id, role in session.execute(select(UserRole.user_id, UserRole.role).order_by(UserRole.role)):
            roles.setdefault(user_id, []).append(role)
        for user in session.scalars(select(User).order_by(User.id)):
            flags = [flag for flag, on in (("superuser", user.is_superuser), ("inactive", not user.is_active)) if on]
            typer.echo(f"{user.id}\t{user.username}\t{','.join(roles.get(user.id, [])) or '-'}\t{' '.join(flags)}")


def _find_tenant(session, ref: str):
    """A tenant by id or slug (auth sits below tenants, so it does not import tenants.service)."""
    from sqlalchemy import select

    from autopack.db.models import Tenant

    if ref.isdigit():
        return session.get(Tenant, int(ref))
    return session.scalars(select(Tenant).where(Tenant.slug == ref)).one_or_none()


@apikeys_app.command("create")
def apikeys_create(
    name: str = typer.Option(..., help="What the key is for."),
    tenant: str | None = typer.Option(None, help="Tenant id or slug to scope the key to."),
    role: str | None = typer.Option(None, help="viewer, operator or admin (with --tenant)."),
    superuser: bool = typer.Option(False, "--superuser", help="A key that administers everything."),
) -> None:
    """Create an API key and print it once."""
    from autopack.audit import service as audit
    from autopack.auth import apikeys
    from autopack.core.errors import AutopackError

    try:
        with session_scope() as session:
            tenant_id = None
            if tenant is not None:
                found = _find_tenant(session, tenant)
                if found is None:
                    _fail(f"tenant {tenant} not found")
                tenant_id = found.id
            created = apikeys.create_key(session, name=name[:100], tenant_id=tenant_id, role=role,
                                         is_superuser=superuser, created_by=CLI_ACTOR)
            audit.append_event(session, action="auth.api_key_created", actor=CLI_ACTOR,
                               tenant_id=str(tenant_id) if tenant_id else None, target_type="api_key",
                               target_id=str(created.record.id),
                               details={"name": created.record.name, "prefix": created.record.prefix,
                                        "role": role, "superuser": superuser})
            key_id = created.record.id
    except AutopackError as exc:
        _fail(str(exc.detail))
    typer.echo(f"id: {key_id}")
    typer.echo(f"key: {created.raw}")
    typer.echo("Store this key now: it is not shown again.", err=True)


@apikeys_app.command("list")
def apikeys_list(include_revoked: bool = typer.Option(False, "--all", help="Include revoked keys.")) -> None:
    """List keys (id, prefix, scope; never the secret)."""
    from autopack.auth import apikeys

    with session_scope(writer=False) as session:
        for key in apikeys.list_keys(session, include_revoked=include_revoked, limit=10_000):
            scope = f"tenant {key.tenant_id} as {key.role}" if key.tenant_id else (
                "superuser" if key.is_superuser else "global")
            state = f"revoked {key.revoked_at.isoformat()}" if key.revoked_at else "active"
            typer.echo(f"{key.id}\t{key.prefix}…\t{key.name}\t{scope}\t{state}")


@apikeys_app.command("revoke")
def apikeys_revoke(key_id: int = typer.Argument(..., help="Key id from `apikeys list`.")) -> None:
    """Revoke a key (every instance refuses it on the next request)."""
    from autopack.audit import service as audit
    from autopack.auth import apikeys
    from autopack.core.errors import AutopackError

    try:
        with session_scope() as session:
            key = apikeys.revoke_key(session, key_id)
            audit.append_event(session, action="auth.api_key_revoked", actor=CLI_ACTOR,
                               tenant_id=str(key.tenant_id) if key.tenant_id else None,
                               target_type="api_key", target_id=str(key.id), details={"prefix": key.prefix})
    except AutopackError as exc:
        _fail(str(exc.detail))
    typer.echo(f"revoked key {key_id}")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Start signing with a new key; tokens signed by older keys stay valid."""
    from autopack.auth import keys

    try:
        key = keys.rotate()
    except RuntimeError as exc:
        _fail(str(exc))
    typer.echo(f"active key is now {key.kid}")


@keys_app.command("list")
def keys_list() -> None:
    """List signing keys (kid; the active one marked)."""
    from autopack.auth import keys

    ring = keys.keyring()
    for kid in ring.keys:
        typer.echo(f"{kid}{'  (active)' if kid == ring.active.kid else ''}")


@keys_app.command("retire")
def keys_retire(kid: str = typer.Argument(...)) -> None:
    """Remove an old key: tokens it signed stop verifying."""
    from autopack.auth import keys

    try:
        keys.retire(kid)
    except (KeyError, ValueError) as exc:
        _fail(f"cannot retire {kid}: {exc}")
    typer.echo(f"retired {kid}")
