"""GET /runs counts runs from run_totals, which triggers keep for every writer of the runs table."""

from __future__ import annotations

from sqlalchemy import delete, func, insert, select

from autopack.core.database import session_scope
from autopack.db.base import utcnow
from autopack.db.models import Run, RunTotals
from tests.conftest import run_payload


def test_the_total_follows_every_writer(client):
    for i in range(3):
        assert client.post("/runs/start", json=run_payload(f"api-{i}", tiers=1, phases_per_tier=1)).status_code == 201
    now = utcnow()
    with session_scope() as session:  # a bulk writer that knows nothing of the counter
        session.execute(insert(Run), [dict(id=f"bulk-{i}", state="RUN_CREATED", created_at=now, updated_at=now)
                                      for i in range(4)])
    assert client.get("/runs").json()["total"] == 7
    with session_scope() as session:
        session.execute(delete(Run).where(Run.id == "bulk-0"))
    body = client.get("/runs").json()
    with session_scope(writer=False) as session:
        assert body["total"] == 6 == session.scalar(select(func.count()).select_from(Run))
        assert session.scalar(select(RunTotals.runs)) == 6


def test_no_runs_and_no_counter_row_is_zero(client):
    assert client.get("/runs").json()["total"] == 0
