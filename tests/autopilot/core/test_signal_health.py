"""POST/GET /signal-health: validation, the composite score, bands, thresholds, the 48 h window."""

from __future__ import annotations

import pytest

from autopack.autopilot.signal_health.service import composite_score, current_health
from autopack.core.database import session_scope
from tests.autopilot.core.conftest import add_reading


def reading(platform: str = "meta", **values) -> dict:
    body = {"platform": platform, "emq": 80, "freshness": 90, "variance": 85, "anomaly": 95}
    body.update(values)
    return body


def test_record_and_read_health(client, acme):
    response = client.post(acme.url("/signal-health"), headers=acme.operator,
                           json={"readings": [reading(), reading("google", emq=50, freshness=40, variance=30,
                                                                 anomaly=20)]})
    assert response.status_code == 201
    data = response.json()["data"]
    assert [r["platform"] for r in data["recorded"]] == ["meta", "google"]
    meta = data["platforms"]["meta"]
    # 80*.4 + 90*.25 + 85*.2 + 95*.15 = 32 + 22.5 + 17 + 14.25 = 85.75 → 85.8
    assert meta["score"] == 85.8 and meta["status"] == "healthy" and meta["reasons"] == []
    assert meta["components"] == {"emq": 80.0, "freshness": 90.0, "variance": 85.0, "anomaly": 95.0}
    google = data["platforms"]["google"]  # 20 + 10 + 6 + 3 = 39 → critical
    assert google["score"] == 39.0 and google["status"] == "critical"
    assert google["reasons"] == ["EMQ score 39% is below degraded threshold (40%)"]
    assert data["platforms"]["tiktok"]["status"] == "no_data"
    assert data["overall"]["score"] == 39.0 and data["overall"]["status"] == "critical"  # the worst platform
    read = client.get(acme.url("/signal-health"), headers=acme.viewer, params={"platform": "meta"}).json()["data"]
    assert read["platform"]["score"] == 85.8 and read["overall"]["status"] == "critical"


def test_the_path_without_autopilot_serves_the_same(client, acme):
    url = f"/api/v1/tenant/{acme.id}/signal-health"
    assert client.post(url, headers=acme.operator, json={"readings": [reading()]}).status_code == 201
    assert client.get(url, headers=acme.viewer).json()["data"]["overall"]["score"] == 85.8


def test_contract_example_score_is_degraded(client, acme):
    client.post(acme.url("/signal-health"), headers=acme.operator,
                json={"readings": [reading(emq=60, freshness=70, variance=60, anomaly=60)]})
    overall = client.get(acme.url("/signal-health"), headers=acme.viewer).json()["data"]["overall"]
    assert overall["score"] == 62.5 and overall["status"] == "degraded"
    assert overall["reasons"] == ["meta: EMQ score 62.5% is below healthy threshold (70%)"]


def test_score_rounds_half_up_to_one_decimal():
    assert composite_score({"emq": 70.125, "freshness": 70, "variance": 70, "anomaly": 70}) == 70.1
    assert composite_score({"emq": 100, "freshness": 100, "variance": 100, "anomaly": 100}) == 100.0
    assert composite_score({"emq": 0, "freshness": 0, "variance": 0, "anomaly": 0}) == 0.0


def test_bands_follow_the_tenant_thresholds(client, acme):
    client.post(acme.url("/signal-health"), headers=acme.operator, json={"readings": [reading()]})  # 85.8
    client.put(acme.url("/config"), headers=acme.admin, json={"healthy_threshold": 90, "degraded_threshold": 86})
    meta = client.get(acme.url("/signal-health"), headers=acme.viewer).json()["data"]["platforms"]["meta"]
    assert meta["status"] == "critical" and (meta["healthy_threshold"], meta["degraded_threshold"]) == (90, 86)


def test_boundaries(acme):
    add_reading(acme.id, "meta", emq=70, freshness=70, variance=70, anomaly=70)
    add_reading(acme.id, "google", emq=40, freshness=40, variance=40, anomaly=40)
    with session_scope(writer=False) as session:
        assert current_health(session, acme.id, "meta").status == "healthy"
        assert current_health(session, acme.id, "google").status == "degraded"


def test_old_readings_mean_no_data_fail_closed(acme):
    add_reading(acme.id, "meta", emq=99, freshness=99, variance=99, anomaly=99, age_hours=49)
    with session_scope(writer=False) as session:
        snapshot = current_health(session, acme.id, "meta")
        overall = current_health(session, acme.id)
    assert snapshot.score is None and snapshot.status == "no_data" and snapshot.components == {}
    assert snapshot.reasons == ["No signal-health reading for meta in the last 48 hours (fail closed)"]
    assert overall.status == "no_data"
    add_reading(acme.id, "meta", emq=10, freshness=10, variance=10, anomaly=10, age_hours=47)
    with session_scope(writer=False) as session:
        assert current_health(session, acme.id, "meta").status == "critical"


def test_latest_reading_wins(client, acme):
    add_reading(acme.id, "meta", emq=10, freshness=10, variance=10, anomaly=10, age_hours=2)
    client.post(acme.url("/signal-health"), headers=acme.operator, json={"readings": [reading()]})
    with session_scope(writer=False) as session:
        assert current_health(session, acme.id, "meta").score == 85.8


@pytest.mark.parametrize("body", [
    {"readings": []}, {}, {"readings": [reading(emq=101)]}, {"readings": [reading(emq=-1)]},
    {"readings": [reading(emq=1e308)]}, {"readings": [reading(emq="80")]}, {"readings": [reading(emq=None)]},
    {"readings": [reading("myspace")]}, {"readings": [reading(), reading()]},
    {"readings": [{k: v for k, v in reading().items() if k != "anomaly"}]}, {"readings": [reading(extra=1)]},
    {"readings": [reading(p) for p in ("meta", "google", "tiktok", "snapchat", "meta")]},
])
def test_record_rejects_bad_readings(client, acme, body):
    response = client.post(acme.url("/signal-health"), headers=acme.operator, json=body)
    assert response.status_code == 422 and response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert client.get(acme.url("/signal-health"), headers=acme.viewer).json()["data"]["overall"]["status"] == "no_data"


def test_record_rejects_nan(client, acme):
    raw = '{"readings": [{"platform": "meta", "emq": NaN, "freshness": 1, "variance": 1, "anomaly": 1}]}'
    response = client.post(acme.url("/signal-health"), headers={**acme.operator, "Content-Type": "application/json"},
                           content=raw)
    assert response.status_code == 422


def test_unknown_platform_filter_and_roles(client, acme):
    bad = client.get(acme.url("/signal-health"), headers=acme.viewer, params={"platform": "myspace"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "VALIDATION_ERROR"
    viewer = client.post(acme.url("/signal-health"), headers=acme.viewer, json={"readings": [reading()]})
    assert viewer.status_code == 403 and viewer.json()["error"]["code"] == "FORBIDDEN"
