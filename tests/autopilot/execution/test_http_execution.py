"""The worker through the Meta and Google adapters against fake servers: retries only when safe, never twice."""

from __future__ import annotations

import threading
import time

import pytest

from autopack.audit.service import verify_ledger
from autopack.autopilot.enforcement.admin import set_kill_switch
from autopack.autopilot.execution import outcomes
from autopack.core.database import session_scope
from autopack.core.settings import get_settings
from tests.autopilot.execution.fake_platforms import (
    FakeGoogleAds,
    FakeMeta,
    Scripted,
    google_rate_limited,
    meta_rate_limited,
)
from tests.autopilot.execution.helpers import (
    action,
    approved_action,
    configure_platforms,
    ledger_row,
    make_tenant,
    transitions,
    worker,
)

CLAIM_AND_APPLY = [("approved", "applying"), ("applying", "applied")]


class Crash(BaseException):
    """The process dies right after the platform accepted the change."""


@pytest.fixture
def meta(monkeypatch):
    server = FakeMeta().start()
    server.add("111", 50000)
    yield server
    server.stop()


@pytest.fixture
def tenant(monkeypatch, meta):
    tenant_id = make_tenant()
    configure_platforms(monkeypatch, {str(tenant_id): {"meta": {
        "base_url": meta.base_url, "access_token": "meta-secret-token", "ad_account_id": "act_1"}}})
    return tenant_id


def meta_action(tenant_id: int, budget: float = 600.0) -> str:
    return approved_action(tenant_id, entity_id="111", action_json={"new_budget": budget},
                           before={"daily_budget": 500.0})


def test_meta_applied_with_real_values(tenant, meta):
    action_id = meta_action(tenant)
    assert worker().run_once() == {"applied": 1}
    done = action(action_id)
    assert done.status == "applied"
    assert done.before_value == {"daily_budget": 500.0, "status": "active", "bid": None}
    assert done.after_value == {"daily_budget": 600.0, "status": "active", "bid": None}
    assert meta.campaigns["111"]["daily_budget"] == "60000" and len(meta.changes()) == 1
    assert meta.changes()[0]["headers"]["idempotency-key"] == action_id
    assert ledger_row(action_id).state == "confirmed"
    assert "meta-secret-token" not in str(ledger_row(action_id).request) + str(done.after_value)


def test_google_pause_applied(monkeypatch):
    google = FakeGoogleAds().start()
    try:
        google.add("222", 10_000_000)
        tenant_id = make_tenant()
        configure_platforms(monkeypatch, {"*": {"google": {
            "base_url": google.base_url, "access_token": "google-secret-token", "developer_token": "dev-tok",
            "customer_id": "123-456-7890"}}})
        action_id = approved_action(tenant_id, platform="google", entity_id="222", action_type="pause_campaign",
                                    action_json={}, before={})
        worker().run_once()
        assert (action(action_id).status, action(action_id).after_value["status"]) == ("applied", "paused")
        assert google.campaigns["222"]["status"] == "PAUSED" and len(google.changes()) == 1
        google.queue(google_rate_limited("60"))
        budget = approved_action(tenant_id, platform="google", entity_id="222", action_json={"new_budget": 11.0},
                                 before={"daily_budget": 10.0})
        worker().run_once()
        assert action(budget).status == "failed" and "RESOURCE_EXHAUSTED" in action(budget).error
        assert google.campaigns["222"]["micros"] == 10_000_000
    finally:
        google.stop()


def test_rate_limit_with_retry_after_is_retried_then_applied(tenant, meta):
    meta.queue(meta_rate_limited("1"))
    action_id = meta_action(tenant)
    worker().run_once()
    assert action(action_id).status == "applied"
    posts = meta.changes()
    assert len(posts) == 2 and ledger_row(action_id).attempts == 2
    assert posts[1]["at"] - posts[0]["at"] >= 0.9  # Retry-After: 1 was honoured
    assert meta.campaigns["111"]["daily_budget"] == "60000"


def test_rate_limit_longer_than_the_wait_cap_fails(tenant, meta):
    meta.queue(meta_rate_limited("60"))
    action_id = meta_action(tenant)
    worker().run_once()
    failed = action(action_id)
    assert failed.status == "failed" and "Meta API Error 17: User request limit reached" in failed.error
    assert "exceeds the 2s limit" in failed.error and len(meta.changes()) == 1
    assert ledger_row(action_id).state == "failed"


def test_client_error_fails_without_retry(tenant, meta):
    meta.queue(Scripted(400, {"error": {"message": "Targeting audience is too narrow", "code": 2654}}))
    action_id = meta_action(tenant)
    worker().run_once()
    assert action(action_id).error == "Meta API Error 2654: Targeting audience is too narrow"
    assert action(action_id).applied_at is None and len(meta.changes()) == 1


def test_server_error_not_applied_is_retried(tenant, meta):
    meta.queue(Scripted(500, {"error": {"message": "An unknown error occurred", "code": 1}}))
    action_id = meta_action(tenant)
    worker().run_once()
    assert action(action_id).status == "applied" and len(meta.changes()) == 2


def test_server_error_that_applied_is_not_sent_again(tenant, meta):
    meta.queue(Scripted(500, {"error": {"message": "An unknown error occurred", "code": 1}}, apply=True))
    action_id = meta_action(tenant)
    worker().run_once()
    assert action(action_id).status == "applied" and len(meta.changes()) == 1
    assert action(action_id).after_value["daily_budget"] == 600.0


def test_timeout_after_apply_is_read_back_not_resent(tenant, meta, monkeypatch):
    monkeypatch.setenv("AUTOPACK_PLATFORM_TIMEOUT_SECONDS", "0.3")
    get_settings.cache_clear()
    meta.queue(Scripted(200, {"success": True}, delay=1.0, apply=True))
    action_id = meta_action(tenant)
    worker().run_once()
    assert action(action_id).status == "applied" and len(meta.changes()) == 1


def test_crash_after_send_then_rerun_never_applies_twice(tenant, meta, monkeypatch):
    action_id = meta_action(tenant)

    def crash(_action_id):
        raise Crash()

    monkeypatch.setattr(outcomes, "after_send", crash)
    with pytest.raises(Crash):
        worker().run_once()
    assert action(action_id).status == "applying" and ledger_row(action_id).state == "sent"
    monkeypatch.setattr(outcomes, "after_send", lambda _action_id: None)
    monkeypatch.setenv("AUTOPACK_AUTOPILOT_LEASE_SECONDS", "0.05")
    get_settings.cache_clear()
    time.sleep(0.1)
    assert worker().run_once() == {"applied": 1}
    assert action(action_id).status == "applied" and len(meta.changes()) == 1
    assert ledger_row(action_id).state == "confirmed"


def test_kill_switch_toggled_while_actions_execute(tenant, meta):
    for n in range(6):
        meta.add(f"9{n}", 10000)
    ids = [approved_action(tenant, entity_id=f"9{n}", action_json={"new_budget": 120.0},
                           before={"daily_budget": 100.0}) for n in range(6)]
    meta.queue(*[Scripted(200, {"success": True}, delay=0.15, apply=True) for _ in range(6)])
    result: list[dict] = []
    runner = threading.Thread(target=lambda: result.append(worker().run_once()))
    runner.start()
    toggles = 0
    while runner.is_alive() and toggles < 40:
        with session_scope() as session:
            set_kill_switch(session, tenant, enabled=toggles % 2 == 1, reason="maintenance", actor="user:admin",
                            user_id=None)
        toggles += 1
        time.sleep(0.05)
    runner.join(30)
    assert result == [{"applied": 6}] and toggles >= 2
    assert all(transitions(i) == CLAIM_AND_APPLY for i in ids)
    assert all(meta.campaigns[f"9{n}"]["daily_budget"] == "12000" for n in range(6)) and len(meta.changes()) == 6
    with session_scope(writer=False) as session:
        assert verify_ledger(session, tenant).ok
