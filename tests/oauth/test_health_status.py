"""Status derivation (reference §2.9 table), the health report and the provider list."""

from __future__ import annotations

from datetime import timedelta

import pytest

from autopack.core.database import session_scope
from autopack.db.base import utcnow
from autopack.oauth import service
from tests.oauth.conftest import health, register, set_fields

NOW = utcnow()


@pytest.mark.parametrize(
    ("fields", "status", "healthy", "attention", "message"),
    [
        ({"last_refresh_result": "invalid_grant", "consecutive_failures": 5,
          "expires_at": NOW - timedelta(hours=1)},
         "revoked", False, True, "Credential has been revoked"),
        ({"consecutive_failures": 3, "expires_at": NOW - timedelta(hours=1)},
         "refresh_failed", False, True, "Refresh failed 3 consecutive times"),
        ({"consecutive_failures": 7}, "refresh_failed", False, True, "Refresh failed 7 consecutive times"),
        ({"consecutive_failures": 2, "expires_at": NOW + timedelta(seconds=59)},
         "expired", False, True, "Access token has expired"),
        ({"expires_at": NOW + timedelta(seconds=60)}, "expired", False, True, "Access token has expired"),
        ({"expires_at": NOW + timedelta(seconds=61)},
         "refresh_pending", True, False, "Access token expiring soon"),
        ({"expires_at": NOW + timedelta(seconds=300)},
         "refresh_pending", True, False, "Access token expiring soon"),
        ({"expires_at": NOW + timedelta(seconds=301)}, "valid", True, False, "Credential is valid"),
        ({"expires_at": None, "last_refresh_result": "server_error", "consecutive_failures": 2},
         "valid", True, False, "Credential is valid"),
    ],
)
def test_status_rows_in_priority_order(fields, status, healthy, attention, message):
    register("github")
    set_fields("github", **fields)
    result = health("github", now=NOW)
    assert (result["status"], result["is_healthy"], result["requires_attention"], result["message"]) == (
        status, healthy, attention, message)
    assert result["consecutive_failures"] == fields.get("consecutive_failures", 0)


def test_unknown_provider_is_reported_not_404():
    assert health("nobody") == {
        "provider": "nobody", "status": "unknown", "last_refresh": None, "last_refresh_result": None,
        "expires_at": None, "consecutive_failures": 0, "total_refreshes": 0, "total_failures": 0,
        "is_healthy": False, "requires_attention": True,
        "message": "No credential found for provider: nobody",
    }


def test_health_dict_has_the_reference_fields_with_utc_times():
    register("google", expires_at=NOW + timedelta(hours=2))
    set_fields("google", last_refresh=NOW - timedelta(minutes=5), last_refresh_result="success",
               total_refreshes=4, total_failures=1)
    result = health("google", now=NOW)
    assert list(result) == ["provider", "status", "last_refresh", "last_refresh_result", "expires_at",
                            "consecutive_failures", "total_refreshes", "total_failures", "is_healthy",
                            "requires_attention", "message"]
    assert result["expires_at"] == (NOW + timedelta(hours=2)).isoformat()
    assert result["last_refresh"].endswith("+00:00")
    assert (result["total_refreshes"], result["total_failures"]) == (4, 1)
    assert result["last_refresh_result"] == "success"


def test_report_summary_providers_and_recent_events():
    register("github", expires_at=NOW + timedelta(hours=1))
    register("google", expires_at=NOW + timedelta(hours=1))
    register("slack", expires_at=NOW - timedelta(hours=1))
    set_fields("google", last_refresh_result="invalid_grant")
    with session_scope(writer=False) as session:
        report = service.health_report(session, now=NOW)
        providers = service.list_providers(session, now=NOW)
    assert report["summary"] == {"total_credentials": 3, "healthy_count": 1, "attention_required_count": 2,
                                 "overall_healthy": False}
    assert {p: h["status"] for p, h in report["credentials"].items()} == {
        "github": "valid", "google": "revoked", "slack": "expired"}
    assert [e["event_type"] for e in report["recent_events"]] == ["registered"] * 3
    assert [e["provider"] for e in report["recent_events"]] == ["github", "google", "slack"]
    assert providers == {"count": 3, "providers": [
        {"provider": "github", "status": "valid", "is_healthy": True, "requires_attention": False},
        {"provider": "google", "status": "revoked", "is_healthy": False, "requires_attention": True},
        {"provider": "slack", "status": "expired", "is_healthy": False, "requires_attention": True},
    ]}


def test_empty_report_is_healthy():
    with session_scope(writer=False) as session:
        report = service.health_report(session, now=NOW)
    assert report["summary"] == {"total_credentials": 0, "healthy_count": 0, "attention_required_count": 0,
                                 "overall_healthy": True}
    assert report["credentials"] == {} and report["recent_events"] == []
    assert report["generated_at"] == NOW.isoformat()


def test_recent_events_in_report_are_the_last_twenty():
    for i in range(25):
        register(f"p{i:02d}")
    with session_scope(writer=False) as session:
        report = service.health_report(session)
    assert [e["provider"] for e in report["recent_events"]] == [f"p{i:02d}" for i in range(5, 25)]
