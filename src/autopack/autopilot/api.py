"""The Autopilot success envelope and the per-role, per-class rate-limited tenant dependencies."""

from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from autopack.auth.deps import Credentials, optional_principal, resolved_off_loop
from autopack.core.database import is_sqlite
from autopack.core.fastpath import path_guard
from autopack.core.ratelimit import client_ip, limits_in_process, rate_limit
from autopack.core.responses import json_response
from autopack.tenants.deps import TenantContext, TenantId, tenant_access

# Contract limits, per (tenant, user) per minute (DECISIONS §4.17). Auth runs first: rejected calls
# do not spend the caller's budget.
READ_LIMIT, WRITE_LIMIT, DRY_RUN_LIMIT, KILL_SWITCH_LIMIT, CONFIRM_LIMIT = (
    "60/minute", "30/minute", "20/minute", "5/minute", "10/minute")


def ok(data: Any, status_code: int = 200):
    """`{"success": true, "data": ...}`."""
    return json_response({"success": True, "data": data}, status_code)


def tenant_user_key(request: Request) -> str:
    """(tenant, caller) for tenant-scoped limits; falls back to the client IP when anonymous."""
    principal = optional_principal(request)
    tenant = request.path_params.get("tenant_id", "-")
    who = principal.actor if principal is not None else f"ip:{client_ip(request)}"
    return f"{tenant}|{who}"


def _access(role: str, limit: str, scope: str):
    check = tenant_access(role)
    limiter = rate_limit(limit, scope, key=tenant_user_key)

    def checked(request: Request, tenant_id: int) -> TenantContext:
        context = check(request, tenant_id)
        limiter(request)  # after the check: rejected calls do not spend the caller's budget
        return context

    # One worker-thread hop for the caller, the membership and the limit (three sync dependencies
    # took three); the endpoint's transaction takes its own.
    # The route fast path runs it too, with the tenant id read as the router reads it (Credentials only
    # documents the schemes: its value is not used).
    @path_guard
    async def dependency(request: Request, tenant_id: int = TenantId, _: None = Credentials) -> TenantContext:
        if resolved_off_loop(request) or not limits_in_process() or not is_sqlite():
            return await run_in_threadpool(checked, request, tenant_id)
        return checked(request, tenant_id)  # one-row reads on SQLite: cheaper here than a thread hop

    return dependency


def access(role: str, limit: str, scope: str):
    """`Annotated[TenantContext, Depends(...)]` for a role and a rate-limit class."""
    return Annotated[TenantContext, Depends(_access(role, limit, scope))]


ViewerRead = access("viewer", READ_LIMIT, "autopilot:read")
OperatorWrite = access("operator", WRITE_LIMIT, "autopilot:write")
AdminWrite = access("admin", WRITE_LIMIT, "autopilot:write")
OperatorDryRun = access("operator", DRY_RUN_LIMIT, "autopilot:dry-run")
OperatorConfirm = access("operator", CONFIRM_LIMIT, "autopilot:confirm")
AdminKillSwitch = access("admin", KILL_SWITCH_LIMIT, "autopilot:kill-switch")
