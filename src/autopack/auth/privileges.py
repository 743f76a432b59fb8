"""Instance-level privileges beside the tenant roles: who may decide approval and governance requests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from autopack.auth.deps import (
    INVALID_KEY,
    AuthFailure,
    Credentials,
    NotAuthenticated,
    Principal,
    on_loop,
    require_principal,
    resolve_principal,
    verify_api_key,
    verify_write_access,
)
from autopack.core.database import session_scope
from autopack.core.errors import Forbidden
from autopack.core.settings import get_settings
from autopack.db.base import utcnow
from autopack.db.models import UserRole
from autopack.db.models.roles import INSTANCE_ROLES

APPROVER = "approver"
RUNNER = "runner"
DECIDER_REQUIRED = ("Deciding requires the instance API key, a superuser or the approver role "
                    "(tenant keys and tenant roles never decide instance-level requests)")
TENANT_KEY_REFUSED = "Tenant API keys cannot decide instance-level requests"
OWN_REQUEST = "A request cannot be decided by the principal that raised it"
RUNNER_REQUIRED = ("Driving runs requires the instance API key, an instance-level API key, a superuser or the "
                   "runner role")


def auth_in_force() -> bool:
    """True in production, or in development once AUTOPACK_API_KEY is set (DECISIONS §3.16)."""
    settings = get_settings()
    return settings.is_production or settings.api_key is not None


def roles_of(session: Session, user_id: int) -> list[str]:
    """The instance-level roles a user holds, sorted."""
    return sorted(session.scalars(select(UserRole.role).where(UserRole.user_id == user_id)))


def grant(session: Session, user_id: int, role: str, granted_by: str) -> bool:
    """Give `role` to a user; False when the user already holds it. Flushes, never commits."""
    if role not in INSTANCE_ROLES:
        raise ValueError(f"unknown role {role!r}; choose one of {', '.join(INSTANCE_ROLES)}")
    if session.get(UserRole, (user_id, role)) is not None:
        return False
    session.add(UserRole(user_id=user_id, role=role, granted_by=granted_by, granted_at=utcnow()))
    session.flush()
    return True


def revoke(session: Session, user_id: int, role: str) -> bool:
    """Take `role` from a user; False when the user did not hold it. Flushes, never commits."""
    held = session.get(UserRole, (user_id, role))
    if held is None:
        return False
    session.delete(held)
    session.flush()
    return True


def holds_role(principal: Principal, role: str) -> bool:
    """True when the principal is a user holding `role` now (read on every call: revocation is immediate)."""
    if principal.kind != "user" or principal.user_id is None:
        return False
    with session_scope(writer=False) as session:
        return session.get(UserRole, (principal.user_id, role)) is not None


def may_decide(principal: Principal) -> bool:
    """The instance key, a superuser that is not tenant-scoped, or a user holding `approver`."""
    if principal.kind == "env_key":
        return True
    if principal.tenant_id is not None:
        return False
    return principal.is_superuser or holds_role(principal, APPROVER)


def may_run(principal: Principal) -> bool:
    """The instance key, a database key not scoped to a tenant, a superuser, or a user holding `runner`."""
    if principal.kind == "env_key":
        return True
    if principal.tenant_id is not None:
        return False
    return principal.kind == "api_key" or principal.is_superuser or holds_role(principal, RUNNER)


def _runner(principal: Principal | None) -> Principal | None:
    if principal is not None and not may_run(principal):
        raise Forbidden(RUNNER_REQUIRED)
    return principal


def require_runner(request: Request, _: None = Credentials) -> Principal | None:
    """Executor writes: open in development, a runner in production (a login alone is not enough)."""
    principal = verify_write_access(request)
    return _runner(principal) if get_settings().is_production else principal


# The runner check as a dependency that takes no worker thread unless a stored credential is looked up.
Runner = Annotated[Principal | None, Depends(on_loop(require_runner))]


def require_run_starter(request: Request, _: None = Credentials) -> Principal | None:
    """POST /runs/start ("Requires X-API-Key"): a runner wherever authentication is in force."""
    principal = verify_api_key(request)
    return _runner(principal) if auth_in_force() else principal


def _presented(request: Request) -> Principal | None:
    try:
        return resolve_principal(request)
    except AuthFailure as failure:
        raise NotAuthenticated(failure.reason if failure.scheme == "bearer" else INVALID_KEY) from None


def _privileged(principal: Principal | None) -> Principal | None:
    """The principal when it may decide here; Forbidden otherwise (open without auth in force)."""
    if principal is not None and principal.tenant_id is not None:
        raise Forbidden(TENANT_KEY_REFUSED)  # never, even in development without a key
    if auth_in_force() and (principal is None or not may_decide(principal)):
        raise Forbidden(DECIDER_REQUIRED)
    return principal


def require_decider(request: Request, _: None = Credentials) -> Principal | None:
    """Governance decisions: a missing key is the reference's 403; a key or JWT must be privileged."""
    principal = verify_api_key(request) if auth_in_force() else _presented(request)
    return _privileged(principal)


def require_signed_decider(request: Request, _: None = Credentials) -> Principal:
    """Approval decisions: a principal always (401 otherwise), privileged wherever auth is in force."""
    return _privileged(require_principal(request))


def bound_by_four_eyes(principal: Principal | None) -> bool:
    """True when the principal may not decide what it raised (everyone but the instance key)."""
    return principal is not None and principal.kind != "env_key"


def raiser_check(principal: Principal | None) -> Callable[[str | None], None]:
    """A check for services: Forbidden when the deciding principal is the one that raised the request."""
    def check(raised_by: str | None) -> None:
        if bound_by_four_eyes(principal) and raised_by is not None and raised_by == principal.actor:
            raise Forbidden(OWN_REQUEST)
    return check

