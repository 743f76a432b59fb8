"""GET /actions (filters, keyset pagination) and GET /actions/summary (window, zero-filling)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from autopack.core.database import session_scope
from autopack.db.models import AutopilotAction

BASE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def insert(tenant_id: int, n: int, *, start: datetime = BASE, step: timedelta = timedelta(minutes=1),
           **fields) -> list[str]:
    """`n` actions created at start, start+step, ...; returns their ids."""
    defaults = {"action_type": "pause_campaign", "entity_type": "campaign", "platform": "meta",
                "status": "queued", "requires_approval": True}
    defaults.update(fields)
    with session_scope() as session:
        rows = []
        for i in range(n):
            at = start + step * i
            rows.append(AutopilotAction(tenant_id=tenant_id, date=at.date(), entity_id=f"e{i}", action_json={},
                                        created_at=at, updated_at=at, auto_approved=False,
                                        proposed_hash="0" * 64, attempts=0, **defaults))
        session.add_all(rows)
        session.flush()
        return [r.id for r in rows]


def walk(client, tenant, limit: int, **params) -> list[list[str]]:
    """Every page's ids, following next_cursor."""
    pages, cursor = [], None
    while True:
        query = {"limit": limit, **params, **({"cursor": cursor} if cursor else {})}
        data = client.get(tenant.url("/actions"), headers=tenant.viewer, params=query).json()["data"]
        pages.append([a["id"] for a in data["actions"]])
        assert data["count"] == len(data["actions"])
        cursor = data["next_cursor"]
        if cursor is None:
            return pages


def test_cursor_pagination_visits_every_action_once_newest_first(client, acme, globex):
    ids = insert(acme.id, 23)
    ties = insert(acme.id, 4, start=BASE + timedelta(hours=5), step=timedelta(0))  # same created_at
    insert(globex.id, 5)
    pages = walk(client, acme, 5)
    assert [len(p) for p in pages] == [5, 5, 5, 5, 5, 2]
    flat = [i for page in pages for i in page]
    assert flat == sorted(ties, reverse=True) + list(reversed(ids))


def test_pagination_is_stable_when_new_actions_arrive(client, acme):
    ids = insert(acme.id, 6)
    first = client.get(acme.url("/actions"), headers=acme.viewer, params={"limit": 3}).json()["data"]
    insert(acme.id, 2, start=BASE + timedelta(days=1))
    second = client.get(acme.url("/actions"), headers=acme.viewer,
                        params={"limit": 3, "cursor": first["next_cursor"]}).json()["data"]
    assert [a["id"] for a in second["actions"]] == list(reversed(ids))[3:]
    assert second["next_cursor"] is None


def test_filters(client, acme):
    meta = insert(acme.id, 2)
    google = insert(acme.id, 3, platform="google", start=BASE + timedelta(days=2))
    applied = insert(acme.id, 1, status="applied", start=BASE + timedelta(days=3))
    by_platform = client.get(acme.url("/actions"), headers=acme.viewer, params={"platform": "google"}).json()["data"]
    assert {a["id"] for a in by_platform["actions"]} == set(google)
    assert by_platform["filters"] == {"date": None, "status": None, "platform": "google"}
    by_status = client.get(acme.url("/actions"), headers=acme.viewer, params={"status": "applied"}).json()["data"]
    assert [a["id"] for a in by_status["actions"]] == applied
    day = (BASE + timedelta(days=2)).date().isoformat()
    by_date = client.get(acme.url("/actions"), headers=acme.viewer, params={"date": day}).json()["data"]
    assert {a["id"] for a in by_date["actions"]} == set(google) and by_date["filters"]["date"] == day
    default = client.get(acme.url("/actions"), headers=acme.viewer).json()["data"]
    assert default["limit"] == 50 and default["count"] == len(meta) + len(google) + len(applied)


@pytest.mark.parametrize("params", [
    {"limit": 0}, {"limit": 201}, {"limit": "ten"}, {"platform": "myspace"}, {"status": "exploded"},
    {"date": "yesterday"}, {"cursor": "!!!"}, {"cursor": "eyJ4IjoxfQ"}, {"cursor": "x" * 600},
])
def test_list_rejects_bad_parameters(client, acme, params):
    response = client.get(acme.url("/actions"), headers=acme.viewer, params=params)
    assert response.status_code == 422 and response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_summary_counts_the_window_and_zero_fills(client, acme, globex):
    now = datetime.now(UTC)
    insert(acme.id, 3, start=now - timedelta(hours=3), step=timedelta(minutes=1))  # queued pause_campaign
    insert(acme.id, 2, start=now - timedelta(days=2), action_type="budget_increase", status="applied")
    insert(acme.id, 1, start=now - timedelta(days=3), action_type="bid_increase", status="failed")
    insert(acme.id, 4, start=now - timedelta(days=10), status="dismissed")  # outside 7 days
    insert(globex.id, 5, start=now - timedelta(hours=1))
    data = client.get(acme.url("/actions/summary"), headers=acme.viewer).json()["data"]
    assert data == {
        "total": 6, "days": 7, "pending_approval": 3,
        "by_status": {"queued": 3, "approved": 0, "applying": 0, "applied": 2, "failed": 1, "dismissed": 0},
        "by_type": {"budget_increase": 2, "budget_decrease": 0, "pause_campaign": 3, "enable_campaign": 0,
                    "bid_increase": 1},
    }
    month = client.get(acme.url("/actions/summary"), headers=acme.viewer, params={"days": 30}).json()["data"]
    assert month["total"] == 10 and month["by_status"]["dismissed"] == 4
    one = client.get(acme.url("/actions/summary"), headers=acme.viewer, params={"days": 1}).json()["data"]
    assert one["total"] == 3


def test_summary_of_an_empty_tenant_is_all_zeros(client, acme):
    data = client.get(acme.url("/actions/summary"), headers=acme.viewer).json()["data"]
    assert data["total"] == 0 and set(data["by_status"].values()) == {0} and set(data["by_type"].values()) == {0}
    assert list(data["by_type"]) == ["budget_increase", "budget_decrease", "pause_campaign", "enable_campaign"]


@pytest.mark.parametrize("days", [0, 31, -1, "week"])
def test_summary_rejects_bad_days(client, acme, days):
    response = client.get(acme.url("/actions/summary"), headers=acme.viewer, params={"days": days})
    assert response.status_code == 422 and response.json()["error"]["code"] == "VALIDATION_ERROR"
