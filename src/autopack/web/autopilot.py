"""A tenant's autopilot page: the actions queue, enforcement, rules, kill switch, freeze and health.

Every check is the API's own: `tenant_access` for the role, the same rate-limit classes keyed on
(tenant, user), the same request models for validation and the same service functions for the change.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import ValidationError

from autopack.autopilot.actions import service as actions
from autopack.autopilot.actions.schemas import ApproveAllRequest
from autopack.autopilot.api import KILL_SWITCH_LIMIT, READ_LIMIT, WRITE_LIMIT, tenant_user_key
from autopack.autopilot.config import service as config
from autopack.autopilot.config.schemas import FreezeRequest, UnfreezeRequest
from autopack.autopilot.enforcement import admin
from autopack.autopilot.enforcement.schemas import KillSwitchRequest, RuleCreate, SettingsUpdate
from autopack.autopilot.settings import RuleSpec
from autopack.core.database import ReadSession, WriteSession
from autopack.core.errors import BadRequest
from autopack.core.ratelimit import rate_limit
from autopack.tenants.deps import TenantContext, tenant_access
from autopack.web import autopilot_data
from autopack.web.chrome import chrome
from autopack.web.deps import CheckedForm, PageRoute, SignedIn, field, see_other
from autopack.web.render import render

router = APIRouter(prefix="/tenants/{tenant_id}/autopilot", route_class=PageRoute)
TenantId = Annotated[int, Path(ge=1, le=2**31 - 1)]
RuleId = Annotated[str, Path(min_length=1, max_length=100)]
ActionId = Annotated[str, Path(min_length=1, max_length=64)]


def access(request: Request, tenant_id: int, role: str, limit: str, scope: str) -> TenantContext:
    """The API's tenant check (403 not a member / role too low), then its rate-limit class."""
    context = tenant_access(role)(request, tenant_id)
    rate_limit(limit, scope, key=tenant_user_key)(request)
    return context


def _valid(model: Any, data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadRequest("; ".join(f"{'.'.join(map(str, e['loc'])) or 'form'}: {e['msg']}"
                                   for e in exc.errors())[:500]) from None


def _back(tenant_id: int, anchor: str = "") -> Any:
    return see_other(f"/ui/tenants/{tenant_id}/autopilot{anchor}")


@router.get("")
def autopilot_page(request: Request, tenant_id: TenantId, viewer: SignedIn, session: ReadSession,
                   action: Annotated[str | None, Query(max_length=64)] = None):
    """Everything a member of the tenant may see; the controls their role may use."""
    context = access(request, tenant_id, "viewer", READ_LIMIT, "autopilot:read")
    data = autopilot_data.page_data(session, tenant_id, action)
    return render(request, "autopilot.html", {"chrome": chrome(session, viewer.principal, viewer.csrf, tenant_id),
                                              "tenant_id": tenant_id, "role": context.role,
                                              "can_operate": context.role in ("operator", "admin"),
                                              "can_admin": context.role == "admin", **data})


@router.post("/actions/{action_id}/approve")
def approve_action(request: Request, tenant_id: TenantId, action_id: ActionId, form: CheckedForm,
                   session: WriteSession):
    """queued → approved (the execution worker applies it)."""
    context = access(request, tenant_id, "operator", WRITE_LIMIT, "autopilot:write")
    actions.approve(session, tenant_id, action_id, context.actor)
    return _back(tenant_id, f"?action={action_id}")


@router.post("/actions/{action_id}/dismiss")
def dismiss_action(request: Request, tenant_id: TenantId, action_id: ActionId, form: CheckedForm,
                   session: WriteSession):
    """queued → dismissed."""
    context = access(request, tenant_id, "operator", WRITE_LIMIT, "autopilot:write")
    actions.dismiss(session, tenant_id, action_id, context.actor)
    return _back(tenant_id)


@router.post("/actions/approve-selected")
def approve_selected(request: Request, tenant_id: TenantId, form: CheckedForm, session: WriteSession):
    """Approve the ticked queued actions in one transaction."""
    context = access(request, tenant_id, "operator", WRITE_LIMIT, "autopilot:write")
    body = _valid(ApproveAllRequest, {"action_ids": form["fields"].get("action_ids", [])})
    actions.approve_all(session, tenant_id, body.action_ids, context.actor)
    return _back(tenant_id)


@router.post("/enforcement/settings")
def update_settings(request: Request, tenant_id: TenantId, form: CheckedForm, session: WriteSession):
    """Change enforcement settings (only the fields that differ from the stored ones)."""
    context = access(request, tenant_id, "admin", WRITE_LIMIT, "autopilot:write")
    changes = autopilot_data.settings_changes(session, tenant_id, form["fields"])
    body = _valid(SettingsUpdate, changes)
    if body.changes():
        admin.update_settings(session, tenant_id, body.changes(), actor=context.actor, user_id=context.user_id)
    return _back(tenant_id, "#enforcement")


@router.post("/enforcement/rules")
def add_rule(request: Request, tenant_id: TenantId, form: CheckedForm, session: WriteSession):
    """Add a custom rule."""
    context = access(request, tenant_id, "admin", WRITE_LIMIT, "autopilot:write")
    threshold = field(form, "threshold_value")
    try:
        value: Any = float(threshold)
    except ValueError:
        value = threshold
    body = _valid(RuleCreate, {"rule_id": field(form, "rule_id"), "rule_type": field(form, "rule_type"),
                               "threshold_value": value, "enforcement_mode": field(form, "enforcement_mode", "advisory"),
                               "enabled": field(form, "enabled") == "on",
                               "description": field(form, "description") or None})
    admin.add_rule(session, tenant_id, RuleSpec(**body.model_dump()), actor=context.actor)
    return _back(tenant_id, "#rules")


@router.post("/enforcement/rules/{rule_id}/delete")
def delete_rule(request: Request, tenant_id: TenantId, rule_id: RuleId, form: CheckedForm, session: WriteSession):
    """Delete a custom rule."""
    context = access(request, tenant_id, "admin", WRITE_LIMIT, "autopilot:write")
    admin.delete_rule(session, tenant_id, rule_id, actor=context.actor)
    return _back(tenant_id, "#rules")


@router.post("/enforcement/kill-switch")
def kill_switch(request: Request, tenant_id: TenantId, form: CheckedForm, session: WriteSession):
    """Turn enforcement off (kill switch on) or back on, with a reason."""
    context = access(request, tenant_id, "admin", KILL_SWITCH_LIMIT, "autopilot:kill-switch")
    body = _valid(KillSwitchRequest, {"enabled": field(form, "enabled") == "true", "reason": field(form, "reason")})
    admin.set_kill_switch(session, tenant_id, enabled=body.enabled, reason=body.reason, actor=context.actor,
                          user_id=context.user_id)
    return _back(tenant_id, "#kill-switch")


@router.post("/freeze")
def freeze(request: Request, tenant_id: TenantId, form: CheckedForm, session: WriteSession):
    """Stop all execution for the tenant until unfrozen."""
    context = access(request, tenant_id, "admin", WRITE_LIMIT, "autopilot:write")
    body = _valid(FreezeRequest, {"reason": field(form, "reason")})
    config.set_frozen(session, tenant_id, True, context.actor, body.reason, context.user_id)
    return _back(tenant_id, "#freeze")


@router.post("/unfreeze")
def unfreeze(request: Request, tenant_id: TenantId, form: CheckedForm, session: WriteSession):
    """Let execution resume."""
    context = access(request, tenant_id, "admin", WRITE_LIMIT, "autopilot:write")
    body = _valid(UnfreezeRequest, {"reason": field(form, "reason") or None})
    config.set_frozen(session, tenant_id, False, context.actor, body.reason, context.user_id)
    return _back(tenant_id, "#freeze")
