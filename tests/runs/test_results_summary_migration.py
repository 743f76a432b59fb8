"""Migration 0029 fills each phase's results summary from the results stored before it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from autopack.core.migrate import upgrade
from autopack.db.models import AuditorResultRecord, BuilderResultRecord, Phase, Run, Tier

T0 = datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)
ADDED = {"last_builder_status", "last_builder_files_changed", "last_builder_lines_added", "last_builder_lines_removed",
         "last_builder_tokens", "last_auditor_verdict"}


def _tables_before_0029() -> dict[str, sa.Table]:
    """The tables as revision 0023 has them (the ORM's, without the summary columns)."""
    meta = sa.MetaData()
    return {model.__tablename__: sa.Table(model.__tablename__, meta,
                                          *[c._copy() for c in model.__table__.columns if c.name not in ADDED])
            for model in (Run, Tier, Phase, BuilderResultRecord, AuditorResultRecord)}


def _builder(run_id: str, phase_id: str, n: int, status: str, files: list) -> dict:
    return dict(run_id=run_id, phase_id=phase_id, run_type="project_build", status=status, notes="",
                patch_bytes=0, files_changed=files, allowed_paths=[], lines_added=10 * n, lines_removed=n,
                builder_attempts=n, tokens_used=100 * n, duration_minutes=0.0, probe_results=[],
                suggested_issues=[], created_at=T0 + timedelta(seconds=n))


@pytest.fixture
def old_database(scratch_engine):
    """A database at 0023 holding a run whose phase P1 has three builder results and two auditor results."""
    upgrade(scratch_engine, "0023")
    t = _tables_before_0029()
    with scratch_engine.begin() as conn:
        conn.execute(t["runs"].insert().values(id="old-run", state="RUN_CREATED", created_at=T0, updated_at=T0,
                                               phases_pending=2))
        tier = conn.execute(t["tiers"].insert().values(tier_id="T1", run_id="old-run", tier_index=0, name="t",
                                                       created_at=T0, updated_at=T0, phases_pending=2)
                            .returning(t["tiers"].c.id)).scalar_one()
        conn.execute(t["phases"].insert(), [
            dict(phase_id=p, run_id="old-run", tier_id=tier, phase_index=i, name=p, builder_attempts=3 if i == 0
                 else 0, tokens_used=300 if i == 0 else 0, created_at=T0, updated_at=T0)
            for i, p in enumerate(("P1", "P2"))])
        # Inserted out of time order: "latest" is the last stored (by id), as the application writes them.
        conn.execute(t["builder_results"].insert(), [
            _builder("old-run", "P1", 1, "failed", ["a.py"]), _builder("old-run", "P1", 2, "failed", ["a.py", "b"]),
            _builder("old-run", "P1", 3, "success", ["a.py", "b", "c"])])
        conn.execute(t["auditor_results"].insert(), [
            dict(run_id="old-run", phase_id="P1", review_notes="again", recommendation="revise", confidence="low",
                 issues_found=[], suggested_patches=[], auditor_attempts=1, tokens_used=5,
                 created_at=T0 + timedelta(seconds=4)),
            dict(run_id="old-run", phase_id="P1", review_notes="fine", recommendation="approve", confidence="high",
                 issues_found=[], suggested_patches=[], auditor_attempts=2, tokens_used=5,
                 created_at=T0 + timedelta(seconds=9))])
    return scratch_engine


def test_upgrade_fills_the_summary_from_the_stored_results(old_database, make_client, monkeypatch):
    upgrade(old_database, "0029")
    with old_database.connect() as conn:
        rows = {r.phase_id: r for r in conn.execute(sa.select(Phase.__table__).where(Phase.run_id == "old-run"))}
    p1, p2 = rows["P1"], rows["P2"]
    assert (p1.last_builder_status, p1.last_builder_files_changed, p1.last_builder_lines_added,
            p1.last_builder_lines_removed, p1.last_builder_tokens, p1.last_auditor_verdict) == (
        "success", 3, 30, 3, 300, "approve")
    assert (p2.last_builder_status, p2.last_builder_files_changed, p2.last_builder_tokens,
            p2.last_auditor_verdict) == (None, 0, 0, None)

    # The application on the upgraded database shows it, and the next result carries on from it.
    upgrade(old_database, "heads")
    from autopack.core import database
    from tests.runs.test_document import _assert_same

    monkeypatch.setenv("DATABASE_URL", old_database.url.render_as_string(hide_password=False))
    database.reset_engine()
    try:
        client = make_client()
        summary = {p["phase_id"]: p["results_summary"] for p in _assert_same("old-run")["phases"]}
        assert summary["P2"] is None
        assert summary["P1"] == {
            "builder_attempts": 3, "builder_status": "success", "files_changed": 3, "lines_added": 30,
            "lines_removed": 3, "builder_tokens": 300, "auditor_verdict": "approve"}
        response = client.post("/runs/old-run/phases/P1/builder_result", json={
            "run_id": "old-run", "phase_id": "P1", "status": "failed", "builder_attempts": 4})
        assert response.status_code == 200, response.text
        assert client.get("/runs/old-run").json()["phases"][0]["results_summary"] == {
            "builder_attempts": 4, "builder_status": "failed", "files_changed": 0, "lines_added": 0,
            "lines_removed": 0, "builder_tokens": 0, "auditor_verdict": "approve"}
        listed = client.get("/runs/old-run/phases/P1/results").json()
        assert (listed["total"], [e["kind"] for e in listed["results"]]) == (
            6, ["builder", "builder", "builder", "auditor", "auditor", "builder"])
    finally:
        from autopack.core.settings import get_settings

        monkeypatch.undo()
        get_settings.cache_clear()
        database.reset_engine()


def test_upgrade_without_results_leaves_the_defaults(scratch_engine):
    upgrade(scratch_engine, "0029")
    with scratch_engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Phase.__table__)).scalar() == 0
        columns = {c["name"]: c for c in sa.inspect(conn).get_columns("phases")}
    for name in ADDED:
        assert columns[name]["nullable"] or columns[name]["default"] is not None, name
