"""The database gauges of /metrics are counted at scrape time from the stored rows."""

from __future__ import annotations

from datetime import date

from autopack.core.database import session_scope
from autopack.db.models import (
    ApprovalRequest,
    AutopilotAction,
    EnforcementAuditLog,
    GovernanceRequest,
)
from autopack.tenants import service as tenants
from tests.dashboard.helpers import set_phase, start
from tests.metrics.helpers import samples, value


def _seed_tenant_rows() -> None:
    with session_scope() as session:
        tenant = tenants.create_tenant(session, slug="gauges-t", name="Gauges", actor="test")
        session.flush()
        for n, status in enumerate(("queued", "queued", "applied", "failed")):
            session.add(AutopilotAction(
                tenant_id=tenant.id, date=date(2026, 12, 1), action_type="budget_increase",
                entity_type="campaign", entity_id=f"c{n}", platform="meta", action_json={}, status=status,
                proposed_hash=f"{n:064d}"))
        for mode, action in (("hard_block", "blocked"), ("hard_block", "blocked"), ("advisory", "warned"),
                             (None, "kill_switch_changed"), ("advisory", "allowed")):
            session.add(EnforcementAuditLog(
                tenant_id=tenant.id, action_type="budget_increase", entity_type="campaign", entity_id="c0",
                intervention_action=action, enforcement_mode=mode, actor="test"))


def test_gauges_reflect_seeded_rows(client):
    start(client, "gauge-run-a", tiers=1, phases_per_tier=3)
    start(client, "gauge-run-b", tiers=1, phases_per_tier=1)
    set_phase(client, "gauge-run-a", "F1.1", "EXECUTING")
    set_phase(client, "gauge-run-a", "F1.2", "COMPLETE")
    with session_scope() as session:
        for n, status in enumerate(("pending", "pending", "approved")):
            session.add(ApprovalRequest(run_id="gauge-run-a", phase_id="F1.1", payload_sha256=f"{n:064d}",
                                        status=status))
        session.add(GovernanceRequest(request_id="g-pending", run_id="gauge-run-a", phase_id="F1.1"))
        session.add(GovernanceRequest(request_id="g-denied", run_id="gauge-run-a", phase_id="F1.1",
                                      approved=False))
    _seed_tenant_rows()

    found = samples(client.get("/metrics").text)
    phases = {labels[0][1]: v for (name, labels), v in found.items() if name == "autopack_phases"}
    assert phases == {"COMPLETE": 1, "EXECUTING": 1, "QUEUED": 2}
    assert sum(v for (name, _), v in found.items() if name == "autopack_runs") == 2
    assert value(found, "autopack_approval_requests_pending") == 2
    assert value(found, "autopack_governance_requests_pending") == 1
    actions = {labels[0][1]: v for (name, labels), v in found.items() if name == "autopack_autopilot_actions"}
    assert actions == {"applied": 1, "failed": 1, "queued": 2}
    interventions = {dict(labels)["mode"] + "/" + dict(labels)["action"]: v
                     for (name, labels), v in found.items() if name == "autopack_enforcement_interventions"}
    assert interventions == {"hard_block/blocked": 2, "advisory/warned": 1, "none/kill_switch_changed": 1}


def test_empty_database_still_answers(client):
    found = samples(client.get("/metrics").text)
    assert value(found, "autopack_approval_requests_pending") == 0
    assert not [name for (name, _) in found if name in ("autopack_runs", "autopack_autopilot_actions")]
