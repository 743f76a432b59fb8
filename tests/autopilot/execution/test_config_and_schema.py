"""Platform configuration (secrets hidden), metrics averages, the migration, and the lifespan worker."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from autopack.autopilot.execution.credentials import CredentialsError, platform_config
from autopack.autopilot.execution.metrics import average_metrics, record_metrics
from autopack.autopilot.execution.service import PlanError, check_platform
from autopack.core.database import session_scope
from autopack.core.settings import get_settings
from autopack.db.base import utcnow
from tests.autopilot.execution.helpers import configure_platforms, make_tenant

TABLES = {"sandbox_campaigns", "campaign_metrics_daily", "platform_requests"}
META = {"base_url": "http://127.0.0.1:9", "access_token": "very-secret", "ad_account_id": "act_9"}


def test_tenant_entry_then_wildcard_then_sandbox(monkeypatch):
    configure_platforms(monkeypatch, {"7": {"meta": META}, "*": {"google": {**META, "adapter": "google"}}})
    assert platform_config(7, "meta").adapter == "meta" and platform_config(7, "meta").account_id == "act_9"
    assert platform_config(8, "google").adapter == "google"
    assert platform_config(8, "meta").adapter == "sandbox" and platform_config(7, "tiktok").adapter == "sandbox"
    assert "very-secret" not in repr(platform_config(7, "meta"))
    assert "very-secret" not in repr(get_settings())


def test_credentials_from_a_file(monkeypatch, tmp_path):
    path = tmp_path / "platforms.json"
    path.write_text(json.dumps({"3": {"meta": META}}))
    monkeypatch.setenv("AUTOPACK_PLATFORM_CREDENTIALS", str(path))
    get_settings.cache_clear()
    assert platform_config(3, "meta").base_url == "http://127.0.0.1:9"


def test_bad_configuration_never_echoes_secrets(monkeypatch):
    monkeypatch.setenv("AUTOPACK_PLATFORM_CREDENTIALS", '{"1": {"meta": {"access_token": "very-secret"}}}')
    get_settings.cache_clear()
    with pytest.raises(CredentialsError) as err:
        platform_config(1, "meta")
    assert "base_url" in str(err.value) and "very-secret" not in str(err.value)


def test_unsupported_platforms(monkeypatch):
    configure_platforms(monkeypatch, {"5": {"tiktok": {**META, "adapter": "tiktok"}}})
    with pytest.raises(PlanError, match="Unsupported platform: myspace"):
        check_platform(5, "myspace")
    with pytest.raises(PlanError, match="Unsupported platform: tiktok"):
        check_platform(5, "tiktok")
    assert check_platform(5, "snapchat") == "sandbox"


def test_metrics_are_recorded_and_averaged_by_spend():
    tenant = make_tenant()
    today = utcnow().date()
    with session_scope() as session:
        record_metrics(session, tenant, "meta", "123", today, spend=100.0, revenue=300.0, conversions=4)
        record_metrics(session, tenant, "meta", "123", today - timedelta(days=1), spend=300.0, revenue=300.0,
                       conversions=6)
        record_metrics(session, tenant, "meta", "123", today - timedelta(days=20), spend=999.0, revenue=0.0,
                       conversions=0)
        row = record_metrics(session, tenant, "meta", "123", today, spend=100.0, revenue=200.0, conversions=4)
        assert (row.roas, row.cpa) == (2.0, 25.0)  # replaced, not duplicated
    with session_scope(writer=False) as session:
        avg = average_metrics(session, tenant, "meta", "123", 7)
        assert (avg.days_with_data, avg.spend, avg.roas, avg.cpa) == (2, 400.0, 1.25, 40.0)
        assert average_metrics(session, tenant, "meta", "other", 7) is None


def test_lifespan_starts_and_stops_the_worker(monkeypatch, make_client):
    from autopack.autopilot.execution import worker

    started = []
    real = worker.start_execution_worker

    def spy():
        started.append(real())
        return started[-1]

    monkeypatch.setattr("autopack.main.start_execution_worker", spy)
    monkeypatch.setenv("AUTOPACK_AUTOPILOT_WORKER", "1")
    client = make_client()
    assert started and started[0].running
    client.__exit__(None, None, None)
    assert not started[0].running
