"""AUTOPACK_ENABLE_PHASE6_METRICS gates storing phase-6 metrics; token-efficiency metrics are always stored."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from autopack.core.database import session_scope
from autopack.db.models import Phase6Metrics, TokenEfficiencyMetrics

PHASE6 = {"doctor_call_skipped": True, "doctor_tokens_avoided_estimate": 900}


def _counts() -> tuple[int, int]:
    with session_scope(writer=False) as session:
        return (session.scalar(select(func.count()).select_from(TokenEfficiencyMetrics)),
                session.scalar(select(func.count()).select_from(Phase6Metrics)))


@pytest.mark.parametrize("value", [None, "0", "true", "yes", " 1"])
def test_off_skips_phase6_and_keeps_token_efficiency(client, started_run, monkeypatch, value):
    if value is None:
        monkeypatch.delenv("AUTOPACK_ENABLE_PHASE6_METRICS", raising=False)
    else:
        monkeypatch.setenv("AUTOPACK_ENABLE_PHASE6_METRICS", value)
    response = client.post(f"/runs/{started_run}/phases/F1.1/metrics",
                           json={"token_efficiency": {"budget_used": 5}, "phase6": PHASE6})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["phase6_id"] is None and body["phase6_recorded"] is False and body["phase6_enabled"] is False
    assert isinstance(body["token_efficiency_id"], int)
    assert _counts() == (1, 0)
    only = client.post(f"/runs/{started_run}/phases/F1.1/metrics", json={"phase6": PHASE6})
    assert only.status_code == 201
    assert only.json()["token_efficiency_id"] is None and only.json()["phase6_recorded"] is False
    assert _counts() == (1, 0)
    stats = client.get(f"/dashboard/runs/{started_run}/phase6-stats").json()
    assert stats["total_phases"] == 0


def test_on_stores_phase6(client, started_run, monkeypatch):
    monkeypatch.setenv("AUTOPACK_ENABLE_PHASE6_METRICS", "1")
    response = client.post(f"/runs/{started_run}/phases/F1.1/metrics", json={"phase6": PHASE6})
    assert response.status_code == 201, response.text
    body = response.json()
    assert isinstance(body["phase6_id"], int) and body["phase6_recorded"] is True and body["phase6_enabled"]
    assert _counts() == (0, 1)
    stats = client.get(f"/dashboard/runs/{started_run}/phase6-stats").json()
    assert stats["doctor_calls_skipped_count"] == 1 and stats["total_doctor_tokens_avoided_estimate"] == 900
