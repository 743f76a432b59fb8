"""The worker against the sandbox platform: real before/after values, holds, re-validation failures."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from autopack.autopilot.config.service import set_frozen, update_config
from autopack.autopilot.enforcement.service import get_enforcement_settings
from autopack.autopilot.execution import outcomes
from autopack.autopilot.execution.service import FROZEN
from autopack.core.database import session_scope
from autopack.core.settings import get_settings
from autopack.db.models.campaigns import PlatformRequest
from tests.autopilot.execution.helpers import (
    action,
    approved_action,
    ledger_row,
    make_tenant,
    sandbox,
    seed,
    transitions,
    worker,
)

CLAIM_AND_APPLY = [("approved", "applying"), ("applying", "applied")]


class Crash(BaseException):
    """The process dies (not an error the worker could catch)."""


def test_budget_increase_changes_sandbox_with_real_before_and_after():
    tenant = make_tenant()
    seed(tenant, "123", 500.0)
    action_id = approved_action(tenant, action_json={"type": "budget_increase", "new_budget": 600.0},
                                before={"daily_budget": 480.0})
    assert worker().run_once() == {"applied": 1}
    done = action(action_id)
    assert done.status == "applied" and done.error is None and done.applied_at is not None
    assert done.before_value == {"daily_budget": 500.0, "status": "active", "bid": None}  # the real state
    assert done.after_value == {"daily_budget": 600.0, "status": "active", "bid": None}
    assert sandbox(tenant, "123").daily_budget == 600.0
    assert transitions(action_id) == CLAIM_AND_APPLY
    row = ledger_row(action_id)
    assert (row.state, row.attempts, row.adapter, row.request["value"]) == ("confirmed", 1, "sandbox", 600.0)


def test_pause_and_percent_change():
    tenant = make_tenant()
    seed(tenant, "a", 200.0)
    seed(tenant, "b", 200.0)
    pause = approved_action(tenant, entity_id="a", action_type="pause_campaign", action_json={}, before={})
    pct = approved_action(tenant, entity_id="b", action_json={"change_percent": 25}, before={"daily_budget": 200.0})
    assert worker().run_once() == {"applied": 2}
    assert (sandbox(tenant, "a").status, action(pause).after_value["status"]) == ("paused", "paused")
    assert sandbox(tenant, "b").daily_budget == 250.0 and action(pct).after_value["daily_budget"] == 250.0


def test_unknown_entity_is_created_from_before_value_or_fails_clearly():
    tenant = make_tenant()
    created = approved_action(tenant, entity_id="new-1", action_json={"new_budget": 300.0},
                              before={"daily_budget": 250.0})
    missing = approved_action(tenant, entity_id="new-2", action_type="pause_campaign", action_json={}, before={})
    worker().run_once()
    assert action(created).status == "applied" and sandbox(tenant, "new-1").daily_budget == 300.0
    assert action(created).before_value["daily_budget"] == 250.0
    failed = action(missing)
    assert failed.status == "failed" and "Unknown sandbox campaign new-2" in failed.error
    assert sandbox(tenant, "new-2") is None


def test_unknown_platform_fails():
    tenant = make_tenant()
    action_id = approved_action(tenant, platform="myspace")
    assert worker().run_once() == {"failed": 1}
    assert (action(action_id).status, action(action_id).error) == ("failed", "Unsupported platform: myspace")
    assert transitions(action_id) == [("approved", "failed")]


def test_freeze_holds_once_then_unfreeze_applies():
    tenant = make_tenant()
    seed(tenant, "123", 500.0)
    action_id = approved_action(tenant)
    with session_scope() as session:
        set_frozen(session, tenant, True, "user:admin", "maintenance")
    assert worker().run_once() == {"held": 1}
    worker().run_once()
    held = action(action_id)
    assert (held.status, held.error) == ("approved", FROZEN)
    assert transitions(action_id) == [("approved", "approved")]  # one reason event, not one per poll
    assert sandbox(tenant, "123").daily_budget == 500.0
    with session_scope() as session:
        set_frozen(session, tenant, False, "user:admin", None)
    worker().run_once()
    assert action(action_id).status == "applied" and action(action_id).error is None


def test_signal_health_degraded_holds_and_critical_fails():
    degraded = make_tenant(health={"emq": 50, "freshness": 50, "variance": 50, "anomaly": 50})
    critical = make_tenant(health={"emq": 10, "freshness": 10, "variance": 10, "anomaly": 10})
    no_data = make_tenant(platforms=())
    ids = [approved_action(t) for t in (degraded, critical, no_data)]
    worker().run_once()
    states = [action(i) for i in ids]
    assert [s.status for s in states] == ["approved", "failed", "approved"]
    assert "degraded" in states[0].error and "critical" in states[1].error
    assert states[2].error == "No recent signal-health data - action deferred"


def test_settings_changed_after_approval_fails():
    tenant = make_tenant()
    seed(tenant, "123", 500.0)
    action_id = approved_action(tenant)
    with session_scope() as session:
        update_config(session, tenant, {"campaign_max": 550.0}, "user:admin")
    worker().run_once()
    failed = action(action_id)
    assert failed.status == "failed"
    assert failed.error == "Settings changed: New budget 600 exceeds campaign cap of 550"
    assert sandbox(tenant, "123").daily_budget == 500.0


def test_hard_block_at_execution_fails():
    from autopack.autopilot.settings import update_enforcement_settings as update_settings

    tenant = make_tenant()
    seed(tenant, "123", 500.0)
    action_id = approved_action(tenant)  # +20 %
    with session_scope() as session:
        update_settings(session, tenant, {"default_mode": "hard_block", "budget_increase_limit_pct": 10.0})
        assert get_enforcement_settings(session, tenant).budget_increase_limit_pct == 10.0
    worker().run_once()
    failed = action(action_id)
    assert failed.status == "failed" and failed.error.startswith("Enforcement (hard_block): ")
    assert "10" in failed.error and sandbox(tenant, "123").daily_budget == 500.0


def test_two_workers_apply_each_action_once():
    tenant = make_tenant()
    ids = []
    for n in range(24):
        seed(tenant, f"c{n}", 100.0)
        ids.append(approved_action(tenant, entity_id=f"c{n}", action_json={"new_budget": 110.0},
                                   before={"daily_budget": 100.0}))
    results: list[dict] = []
    threads = [threading.Thread(target=lambda: results.append(worker().run_once())) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(r.get("applied", 0) for r in results) == 24
    assert all(transitions(i) == CLAIM_AND_APPLY for i in ids)
    with session_scope(writer=False) as session:
        assert session.scalar(select(func.count()).select_from(PlatformRequest)
                              .where(PlatformRequest.attempts == 1, PlatformRequest.state == "confirmed")) == 24


def test_crash_mid_apply_rolls_back_and_is_applied_once_later(monkeypatch):
    tenant = make_tenant()
    seed(tenant, "123", 500.0)
    action_id = approved_action(tenant, action_json={"change_percent": 20}, before={"daily_budget": 500.0})

    def crash(_action_id):
        raise Crash()

    monkeypatch.setattr(outcomes, "after_send", crash)
    with pytest.raises(Crash):
        worker().run_once()
    assert action(action_id).status == "applying" and ledger_row(action_id) is None
    assert sandbox(tenant, "123").daily_budget == 500.0  # the change rolled back with the crash
    monkeypatch.undo()
    monkeypatch.setenv("AUTOPACK_AUTOPILOT_WORKER", "0")
    monkeypatch.setenv("AUTOPACK_AUTOPILOT_LEASE_SECONDS", "0.05")
    get_settings.cache_clear()
    time.sleep(0.1)
    worker().run_once()
    assert action(action_id).status == "applied"
    assert sandbox(tenant, "123").daily_budget == 600.0  # once: not 720
    assert transitions(action_id) == [("approved", "applying"), ("applying", "approved"),
                                      ("approved", "applying"), ("applying", "applied")]


def test_action_claimed_max_attempts_times_without_outcome_fails():
    from sqlalchemy import update

    from autopack.db.models import AutopilotAction

    tenant = make_tenant()
    action_id = approved_action(tenant)
    with session_scope() as session:
        session.execute(update(AutopilotAction).where(AutopilotAction.id == action_id).values(attempts=3))
    worker().run_once()
    assert action(action_id).error == "Execution abandoned after 3 claims without an outcome"
