"""Meta and Google Ads adapters against local fake servers: success, 4xx, 5xx, rate limits, timeouts."""

from __future__ import annotations

import pytest

from autopack.autopilot.execution.adapters.base import EntityRef, PlannedChange, PlatformError
from autopack.autopilot.execution.adapters.google import GoogleAdsAdapter
from autopack.autopilot.execution.adapters.meta import MetaAdapter
from autopack.autopilot.execution.credentials import PlatformConfig
from tests.autopilot.execution.fake_platforms import (
    FakeGoogleAds,
    FakeMeta,
    Scripted,
    google_rate_limited,
    meta_rate_limited,
)


@pytest.fixture
def meta():
    server = FakeMeta().start()
    server.add("111", 50000)
    yield server
    server.stop()


@pytest.fixture
def google():
    server = FakeGoogleAds().start()
    server.add("222", 10_000_000)
    yield server
    server.stop()


def meta_adapter(server: FakeMeta, token: str = "meta-secret-token", timeout: float = 2.0) -> MetaAdapter:
    return MetaAdapter(PlatformConfig("meta", server.base_url, "act_1", access_token=token), timeout)


def google_adapter(server: FakeGoogleAds, timeout: float = 2.0) -> GoogleAdsAdapter:
    return GoogleAdsAdapter(PlatformConfig("google", server.base_url, "123-456-7890", access_token="google-secret-token",
                                           developer_token="dev-tok"), timeout)


def budget(platform: str, entity_id: str, value: float) -> PlannedChange:
    return PlannedChange(EntityRef(platform, "campaign", entity_id), "budget_increase", "daily_budget", value)


def test_meta_reads_and_changes_budget_in_minor_units(meta):
    adapter = meta_adapter(meta)
    assert adapter.get_state(EntityRef("meta", "campaign", "111")) == {"daily_budget": 500.0, "bid": None,
                                                                       "status": "active"}
    result = adapter.apply(budget("meta", "111", 600.0), "key-1")
    assert result.after_value["daily_budget"] == 600.0
    assert meta.campaigns["111"]["daily_budget"] == "60000"
    post = meta.changes()[0]
    assert post["path"] == "/v19.0/111" and "daily_budget=60000" in post["body"]
    assert post["headers"]["idempotency-key"] == "key-1"


def test_meta_pause_sets_paused(meta):
    change = PlannedChange(EntityRef("meta", "campaign", "111"), "pause_campaign", "status", "paused")
    assert meta_adapter(meta).apply(change, "k").after_value["status"] == "paused"
    assert meta.campaigns["111"]["status"] == "PAUSED"


def test_meta_rate_limit_code_17_is_safe_to_retry_with_retry_after(meta):
    meta.queue(meta_rate_limited("7"))
    with pytest.raises(PlatformError) as err:
        meta_adapter(meta).apply(budget("meta", "111", 600.0), "k")
    assert (err.value.kind, err.value.retry_after, err.value.safe_to_retry) == ("rate_limited", 7.0, True)
    assert meta.campaigns["111"]["daily_budget"] == "50000"


def test_meta_client_error_and_auth_error(meta):
    with pytest.raises(PlatformError) as err:
        meta_adapter(meta).apply(budget("meta", "999", 600.0), "k")
    assert err.value.kind == "client" and "Meta API Error 100" in err.value.message
    with pytest.raises(PlatformError) as err:
        meta_adapter(meta, token="wrong").get_state(EntityRef("meta", "campaign", "111"))
    assert err.value.kind == "auth" and "wrong" not in str(err.value) and "meta-secret" not in str(err.value)


def test_meta_server_error_is_not_safe_to_retry(meta):
    meta.queue(Scripted(500, {"error": {"message": "An unknown error occurred", "code": 1}}))
    with pytest.raises(PlatformError) as err:
        meta_adapter(meta).apply(budget("meta", "111", 600.0), "k")
    assert (err.value.kind, err.value.safe_to_retry, err.value.status_code) == ("server", False, 500)


def test_meta_timeout_is_unknown_outcome(meta):
    meta.queue(Scripted(200, {"success": True}, delay=1.0, apply=True))
    with pytest.raises(PlatformError) as err:
        meta_adapter(meta, timeout=0.3).apply(budget("meta", "111", 600.0), "k")
    assert (err.value.kind, err.value.safe_to_retry) == ("timeout", False)


def test_unreachable_platform_is_safe_to_retry(meta):
    adapter = meta_adapter(meta)
    meta.stop()
    with pytest.raises(PlatformError) as err:
        adapter.apply(budget("meta", "111", 600.0), "k")
    assert (err.value.kind, err.value.safe_to_retry) == ("timeout", True)


def test_google_budget_and_status_mutations(google):
    adapter = google_adapter(google)
    state = adapter.get_state(EntityRef("google", "campaign", "222"))
    assert (state["daily_budget"], state["status"]) == (10.0, "active")
    assert adapter.apply(budget("google", "222", 12.5), "k1").after_value["daily_budget"] == 12.5
    assert google.campaigns["222"]["micros"] == 12_500_000
    mutate = google.changes()[0]
    assert mutate["path"] == "/v17/customers/1234567890/campaignBudgets:mutate"
    change = PlannedChange(EntityRef("google", "campaign", "222"), "pause_campaign", "status", "paused")
    assert adapter.apply(change, "k2").after_value["status"] == "paused"
    assert google.campaigns["222"]["status"] == "PAUSED"


def test_google_resource_exhausted_is_rate_limited(google):
    google.queue(google_rate_limited("3"))
    with pytest.raises(PlatformError) as err:
        google_adapter(google).apply(budget("google", "222", 12.0), "k")
    assert (err.value.kind, err.value.retry_after, err.value.safe_to_retry) == ("rate_limited", 3.0, True)
    assert google.campaigns["222"]["micros"] == 10_000_000


def test_google_errors_4xx_5xx_and_timeout(google):
    google.queue(Scripted(400, {"error": {"code": 400, "message": "Budget too low", "status": "INVALID_ARGUMENT"}}))
    with pytest.raises(PlatformError) as err:
        google_adapter(google).apply(budget("google", "222", 0.01), "k")
    assert err.value.kind == "client" and "Budget too low" in err.value.message
    google.queue(Scripted(503, {"error": {"code": 503, "message": "Try again", "status": "UNAVAILABLE"}}))
    with pytest.raises(PlatformError) as err:
        google_adapter(google).apply(budget("google", "222", 11.0), "k")
    assert (err.value.kind, err.value.safe_to_retry) == ("server", False)
    google.queue(Scripted(200, {"results": [{}]}, delay=1.0))
    with pytest.raises(PlatformError) as err:
        google_adapter(google, timeout=0.3).apply(budget("google", "222", 11.0), "k")
    assert err.value.kind == "timeout"
    with pytest.raises(PlatformError) as err:
        google_adapter(google).get_state(EntityRef("google", "campaign", "404"))
    assert err.value.kind == "client" and "not found" in err.value.message
