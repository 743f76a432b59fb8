"""`client.autopilot(tenant_id)` against a live server: every method, the contract's error codes."""

from __future__ import annotations

import itertools

import pytest

from autopack.autopilot.actions.schemas import ActionSummary, ApproveAllResult
from autopack.autopilot.config.schemas import AutopilotStatus, ConfigChanged
from autopack.autopilot.enforcement.schemas import (
    CheckResult,
    ConfirmationAccepted,
    EnforcementRule,
    InterventionLogPage,
    KillSwitchChanged,
    RuleAdded,
    RuleDeleted,
    SettingsRead,
    SettingsUpdated,
)
from autopack.autopilot.signal_health.schemas import DryRunResult, SignalHealth, SignalHealthRecorded
from autopack.client import Conflict, Forbidden, NotFound, ValidationFailed
from autopack.core.database import session_scope
from autopack.db.models import User
from autopack.tenants import service as tenants
from tests.client.conftest import user_client


def _action(entity: str, new_budget: float = 600) -> dict:
    return {"action_type": "budget_increase", "entity_type": "campaign", "entity_id": entity,
            "entity_name": entity.title(), "platform": "meta",
            "action_json": {"type": "budget_increase", "new_budget": new_budget},
            "before_value": {"daily_budget": 500}}


@pytest.fixture
def tenant(server, request):
    """A tenant and clients for its admin and viewer, and for an outsider (names unique per test:
    the server's rate limits are keyed by tenant and user and outlive the wiped tables)."""
    tag = request.node.name[-12:].replace("_", "-").strip("-")
    with session_scope() as session:
        tenant_id = tenants.create_tenant(session, slug=f"t-{tag}", name="T", actor="test").id
    clients = {}
    for role in ("admin", "viewer", "outsider"):
        client = user_client(server, f"{role}-{tag}")
        if role != "outsider":
            with session_scope() as session:
                user = session.query(User).filter_by(username=f"{role}-{tag}").one()
                tenants.set_member(session, tenants.get_tenant(session, tenant_id), user, role, "test")
        clients[role] = client
    yield tenant_id, clients
    for client in clients.values():
        client.close()


def test_actions_queue_read_list_approve_dismiss(tenant):
    tenant_id, clients = tenant
    autopilot = clients["admin"].autopilot(tenant_id)
    queued = [autopilot.create_action(_action(f"camp-{n}")) for n in range(5)]
    assert {(q.action.status, q.requires_approval, q.auto_approved) for q in queued} == {("queued", True, False)}
    assert "level 2" in queued[0].reason
    first = queued[0].action
    assert autopilot.get_action(first.id).entity_id == "camp-0"
    listed = list(autopilot.list_actions(page_size=2))  # three pages
    assert [a.id for a in listed] == [q.action.id for q in reversed(queued)]
    assert autopilot.actions_page(limit=2).next_cursor is not None
    approved = autopilot.approve(first.id)
    assert (approved.action.status, approved.message) == ("approved", "Action approved for execution")
    dismissed = autopilot.dismiss(queued[1].action.id)
    assert dismissed.action.status == "dismissed"
    many = autopilot.approve_all([queued[2].action.id, queued[3].action.id, first.id])
    assert isinstance(many, ApproveAllResult)
    assert (many.approved_count, [(s.id, s.reason) for s in many.skipped]) == (2, [(first.id, "not_queued")])
    assert [a.id for a in autopilot.list_actions(status="queued")] == [queued[4].action.id]
    summary = autopilot.actions_summary(days=1)
    assert isinstance(summary, ActionSummary)
    assert (summary.total, summary.by_status["approved"], summary.by_status["dismissed"]) == (5, 3, 1)
    with pytest.raises(ValidationFailed) as caught:
        autopilot.approve(first.id)
    assert (caught.value.status_code, caught.value.code) == (400, "INVALID_STATUS_TRANSITION")
    assert caught.value.details["current_status"] == "approved"
    with pytest.raises(NotFound) as caught:
        autopilot.get_action("00000000-0000-0000-0000-000000000000")
    assert caught.value.code == "ACTION_NOT_FOUND" and caught.value.request_id


def test_roles_and_membership_are_refused_with_their_codes(tenant):
    tenant_id, clients = tenant
    with pytest.raises(Forbidden) as caught:
        clients["viewer"].autopilot(tenant_id).create_action(_action("camp"))
    assert caught.value.code == "FORBIDDEN"
    with pytest.raises(Forbidden) as caught:
        clients["outsider"].autopilot(tenant_id).status()
    assert caught.value.code == "ACCESS_DENIED"
    status = clients["viewer"].autopilot(tenant_id).status()
    assert isinstance(status, AutopilotStatus) and status.autopilot_level == 2


def test_enforcement_check_confirm_settings_kill_switch_rules(tenant):
    tenant_id, clients = tenant
    autopilot = clients["admin"].autopilot(tenant_id)
    updated = autopilot.update_settings(default_mode="soft_block", budget_increase_limit_pct=10.0)
    assert isinstance(updated, SettingsUpdated) and updated.settings.default_mode == "soft_block"
    settings = autopilot.settings()
    assert isinstance(settings, SettingsRead) and settings.settings.budget_increase_limit_pct == 10.0
    assert settings.modes["soft_block"].startswith("Warn")
    check = autopilot.check({"action_type": "budget_increase", "entity_type": "campaign", "entity_id": "c1",
                             "proposed_value": {"daily_budget": 600}, "current_value": {"daily_budget": 500}})
    assert isinstance(check, CheckResult)
    assert (check.allowed, check.requires_confirmation, check.outcome) == (False, True, "soft_block")
    assert check.confirmation_token and check.violations[0].type == check.violations[0].violation_type
    with pytest.raises(Forbidden) as caught:
        autopilot.create_action(_action("c1"))
    assert caught.value.code == "CONFIRMATION_REQUIRED"
    token = caught.value.details["confirmation_token"]
    confirmed = autopilot.confirm(token, "quarter end")
    assert isinstance(confirmed, ConfirmationAccepted) and confirmed.override_logged is True
    assert autopilot.create_action(_action("c1"), confirmation_token=token).action.status == "queued"
    rule = {"rule_id": "cap-900", "rule_type": "budget_exceeded", "threshold_value": 900.0,
            "enforcement_mode": "hard_block", "enabled": True, "description": "no more than 900"}
    added = autopilot.add_rule(rule)
    assert isinstance(added, RuleAdded) and added.rule.rule_id == "cap-900"
    with pytest.raises(Conflict) as caught:
        autopilot.add_rule(rule)
    assert caught.value.code == "RULE_ALREADY_EXISTS"
    rules = autopilot.rules()
    assert all(isinstance(r, EnforcementRule) for r in rules) and [r.rule_id for r in rules] == ["cap-900"]
    deleted = autopilot.delete_rule("cap-900")
    assert isinstance(deleted, RuleDeleted) and deleted.message == "Rule 'cap-900' deleted successfully"
    with pytest.raises(NotFound):
        autopilot.delete_rule("cap-900")
    off = autopilot.kill_switch(False, "maintenance window")
    assert isinstance(off, KillSwitchChanged) and off.enforcement_enabled is False
    log = autopilot.audit_log(limit=50)
    assert isinstance(log, InterventionLogPage) and log.count == len(log.logs) >= 3
    assert log.logs[0].intervention_action == "kill_switch_changed" and log.filters.limit == 50


def test_config_freeze_signal_health_dry_run_and_events(tenant):
    tenant_id, clients = tenant
    autopilot = clients["admin"].autopilot(tenant_id)
    changed = autopilot.update_config(level=1)
    assert isinstance(changed, ConfigChanged) and changed.config.autopilot_level == 1
    health = autopilot.post_signal_health([{"platform": "meta", "emq": 92, "freshness": 95, "variance": 88,
                                            "anomaly": 90}])
    assert isinstance(health, SignalHealthRecorded) and health.platforms["meta"].status == "healthy"
    assert [r.platform for r in health.recorded] == ["meta"]
    current = autopilot.signal_health("meta")
    assert isinstance(current, SignalHealth) and current.platform.status == "healthy"
    dry = autopilot.dry_run(_action("camp-dry"))
    assert isinstance(dry, DryRunResult) and (dry.decision_type, dry.would_execute) == ("execute", True)
    assert dry.action_preview.entity_id == "camp-dry"
    frozen = autopilot.freeze("incident 42")
    assert frozen.config.frozen is True and autopilot.status().frozen is True
    assert autopilot.unfreeze("resolved").config.frozen is False
    types = [e.type for e in itertools.islice(autopilot.events(once=True), 100)]
    assert any("freeze" in t for t in types), types
