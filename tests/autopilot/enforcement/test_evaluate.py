"""service.evaluate on a real database: outcomes, facts from other tables, audit rows in log and ledger."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from autopack.audit import service as ledger
from autopack.autopilot import settings as store
from autopack.autopilot.enforcement import admin, config, service
from autopack.autopilot.settings import RuleSpec
from autopack.core.database import session_scope
from autopack.db.models import EnforcementAuditLog, PendingConfirmationToken
from tests.autopilot.enforcement.helpers import (
    applied_action,
    daily_metrics,
    make_tenant,
    now,
    proposal,
    sandbox_campaign,
)
from tests.conftest import BACKEND


def settings(tenant_id: int, **changes) -> None:
    with session_scope() as session:
        store.update_enforcement_settings(session, tenant_id, changes)


def evaluate(tenant_id: int, prop=None, **kwargs):
    with session_scope() as session:
        return service.evaluate(session, tenant_id, prop or proposal(), actor="user:test", **kwargs)


def counts(tenant_id: int) -> tuple[int, int, int]:
    with session_scope(writer=False) as session:
        logs = session.scalar(select(func.count()).select_from(EnforcementAuditLog)
                              .where(EnforcementAuditLog.tenant_id == tenant_id))
        pending = session.scalar(select(func.count()).select_from(PendingConfirmationToken))
        events = len([e for e in ledger.list_events(session, tenant_id=tenant_id, limit=500).events
                      if e.action.startswith("enforcement.")])
    return logs, pending, events


def test_defaults_when_nothing_is_stored():
    tenant = make_tenant()
    with session_scope(writer=False) as session:
        got = service.get_enforcement_settings(session, tenant.id)
    assert (got.enforcement_enabled, got.default_mode, got.max_daily_budget, got.max_campaign_budget,
            got.budget_increase_limit_pct, got.min_roas_threshold, got.roas_lookback_days,
            got.max_budget_changes_per_day, got.min_hours_between_changes, got.rules) == (
        True, "advisory", None, None, 30.0, 1.0, 7, 5, 4, ())


def test_outcomes_by_mode_and_audit_in_log_and_ledger():
    tenant = make_tenant()
    advisory = evaluate(tenant.id)
    assert (advisory.outcome, advisory.allowed, advisory.confirmation_token) == ("advisory", True, None)
    assert advisory.warnings == ["Budget increase 50% exceeds limit of 30%"]
    settings(tenant.id, default_mode="soft_block")
    soft = evaluate(tenant.id)
    assert (soft.outcome, soft.allowed, soft.requires_confirmation) == ("soft_block", False, True)
    assert soft.confirmation_token.startswith("eyJhbGciOiJIUzI1NiIs")
    assert soft.warnings[-1] == service.CONFIRM_WARNING
    settings(tenant.id, default_mode="hard_block")
    hard = evaluate(tenant.id)
    assert (hard.outcome, hard.allowed, hard.confirmation_token) == ("hard_block", False, None)
    clean = evaluate(tenant.id, proposal(550.0))
    assert (clean.outcome, clean.mode, clean.violations) == ("allowed", "hard_block", [])
    assert counts(tenant.id) == (4, 1, 4)
    with session_scope(writer=False) as session:
        rows = {r.id: r for r in session.scalars(select(EnforcementAuditLog))}
        events = ledger.list_events(session, tenant_id=tenant.id, limit=500).events
    assert [rows[r.audit_log_id].intervention_action for r in (advisory, soft, hard, clean)] == [
        "warned", "confirmation_required", "blocked", "allowed"]
    assert rows[hard.audit_log_id].violation_type == "budget_increase_limit"
    assert rows[hard.audit_log_id].details["violations"][0]["actual"] == 50.0
    assert [e.action for e in events if e.action.startswith("enforcement.")] == [
        "enforcement.warned", "enforcement.confirmation_required", "enforcement.blocked", "enforcement.allowed"]
    assert events[-1].details["audit_log_id"] == clean.audit_log_id


def test_record_false_writes_nothing():
    tenant = make_tenant()
    settings(tenant.id, default_mode="soft_block")
    before = counts(tenant.id)
    result = evaluate(tenant.id, record=False)
    assert (result.outcome, result.confirmation_token, result.audit_log_id) == ("soft_block", None, None)
    assert counts(tenant.id) == before


def test_kill_switch_off_allows_with_a_warning():
    tenant = make_tenant()
    settings(tenant.id, default_mode="hard_block")
    with session_scope() as session:
        admin.set_kill_switch(session, tenant.id, enabled=False, reason="maintenance", actor="user:a", user_id=None)
    result = evaluate(tenant.id, proposal(1e9, 1.0))
    assert (result.outcome, result.allowed, result.violations, result.warnings, result.enforcement_enabled) == (
        "allowed", True, [], [service.DISABLED_WARNING], False)
    with session_scope(writer=False) as session:
        row = session.get(EnforcementAuditLog, result.audit_log_id)
        assert (row.intervention_action, row.details["enforcement_enabled"]) == ("allowed", False)


def test_frequency_counts_applied_changes_today_only():
    tenant = make_tenant()
    settings(tenant.id, max_budget_changes_per_day=2, min_hours_between_changes=0)
    midnight = now().replace(hour=0, minute=0, second=0, microsecond=0)
    applied_action(tenant.id, midnight + timedelta(seconds=1))
    applied_action(tenant.id, midnight - timedelta(minutes=1))  # yesterday
    applied_action(tenant.id, midnight + timedelta(seconds=2), status="queued")  # not applied
    applied_action(tenant.id, midnight + timedelta(seconds=3), entity_id="other")
    assert evaluate(tenant.id, proposal(520.0)).violations == []
    applied_action(tenant.id, midnight + timedelta(seconds=4), action_type="budget_decrease")
    hit = evaluate(tenant.id, proposal(520.0)).violations
    assert [(v["rule_id"], v["actual"], v["threshold"]) for v in hit] == [("max_budget_changes_per_day", 2.0, 2.0)]
    assert hit[0]["details"] == {"changes_today": 2, "max_allowed": 2,
                                 "resets_at": (midnight + timedelta(days=1)).isoformat()}


def test_cooldown_since_last_applied_change():
    tenant = make_tenant()
    applied_action(tenant.id, now() - timedelta(hours=1))
    hit = evaluate(tenant.id, proposal(520.0)).violations
    assert [(v["rule_id"], v["mode"]) for v in hit] == [("min_hours_between_changes", "advisory")]
    assert 0.99 <= hit[0]["actual"] <= 1.01
    ends = datetime.fromisoformat(hit[0]["details"]["cooldown_ends_at"])
    assert abs((ends - (now() + timedelta(hours=3))).total_seconds()) < 60  # last change + 4 h default
    settings(tenant.id, min_hours_between_changes=1)
    assert evaluate(tenant.id, proposal(520.0)).violations == []


def test_roas_from_lookback_when_the_request_has_none():
    tenant = make_tenant()
    today = now().date()
    daily_metrics(tenant.id, "c-1", today - timedelta(days=1), spend=100, revenue=50, conversions=2)
    daily_metrics(tenant.id, "c-1", today - timedelta(days=2), spend=100, revenue=110, conversions=2)
    daily_metrics(tenant.id, "c-1", today - timedelta(days=30), spend=100, revenue=900, conversions=2)
    hit = evaluate(tenant.id, proposal(520.0)).violations
    assert [(v["rule_id"], v["actual"]) for v in hit] == [("min_roas_threshold", 0.8)]
    assert evaluate(tenant.id, proposal(520.0), metrics={"roas": 1.5}).violations == []
    settings(tenant.id, roas_lookback_days=60)  # the old good day now counts: (50+110+900)/300
    assert evaluate(tenant.id, proposal(520.0)).violations == []


def test_daily_spend_limit_uses_sandbox_budgets():
    tenant = make_tenant()
    settings(tenant.id, max_daily_budget=2000.0)
    sandbox_campaign(tenant.id, "c-1", 500.0)
    sandbox_campaign(tenant.id, "c-2", 1200.0)
    sandbox_campaign(tenant.id, "c-3", 5000.0, status="paused")
    assert evaluate(tenant.id, proposal(600.0)).violations == []
    hit = evaluate(tenant.id, proposal(900.0, 800.0)).violations
    assert [(v["type"], v["actual"], v["threshold"]) for v in hit] == [("daily_spend_limit", 2100.0, 2000.0)]


def test_daily_spend_without_sandbox_state_is_the_proposed_budget():
    tenant = make_tenant()
    settings(tenant.id, max_daily_budget=700.0)
    hit = evaluate(tenant.id, proposal(720.0, 700.0)).violations
    assert [(v["type"], v["actual"]) for v in hit] == [("daily_spend_limit", 720.0)]


def _doomed_rule_deleted_after_loading(monkeypatch, tenant_id: int, mode: str):
    """Add rule "doomed"; the next settings load deletes it from another session. Returns the real loader."""
    with session_scope() as session:
        config.add_rule(session, tenant_id, RuleSpec("doomed", "budget_exceeded", 600.0, mode))
    real_load = service.load_enforcement_settings

    def load_then_delete(session, tid):
        snapshot = real_load(session, tid)
        with session_scope() as other:
            config.delete_rule(other, tid, "doomed")
        return snapshot

    monkeypatch.setattr(service, "load_enforcement_settings", load_then_delete)
    return real_load


def test_rule_deleted_while_being_evaluated(monkeypatch):
    """Another session deletes a rule between loading and evaluating: the snapshot is judged, no error."""
    tenant = make_tenant()
    real_load = _doomed_rule_deleted_after_loading(monkeypatch, tenant.id, "hard_block")
    # A read session (execution-time re-validation): SQLite lets one writer in while it reads.
    with session_scope(writer=False) as session:
        result = service.evaluate(session, tenant.id, proposal(650.0, 600.0), actor="worker", record=False)
    assert (result.outcome, [v["rule_id"] for v in result.violations]) == ("hard_block", ["doomed"])
    monkeypatch.setattr(service, "load_enforcement_settings", real_load)
    assert evaluate(tenant.id, proposal(650.0, 600.0)).outcome == "allowed"


@pytest.mark.skipif(BACKEND != "postgresql", reason="SQLite serialises writers: the delete would wait")
def test_rule_deleted_while_a_recording_evaluation_runs(monkeypatch):
    tenant = make_tenant()
    _doomed_rule_deleted_after_loading(monkeypatch, tenant.id, "soft_block")
    result = evaluate(tenant.id, proposal(650.0, 600.0))
    assert (result.outcome, result.violations[0]["rule_id"]) == ("soft_block", "doomed")
    assert result.confirmation_token is not None and counts(tenant.id)[0] == 1
