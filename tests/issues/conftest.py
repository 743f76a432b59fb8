"""Fixtures for the issue tracking tests: a started run and a record_issue helper."""

from __future__ import annotations

import pytest

RUN_ID = "demo-20260110-120000"


def issue_run_payload(run_id: str = RUN_ID, tiers: int = 2, phases_per_tier: int = 2) -> dict:
    """A start request with `tiers` tiers of `phases_per_tier` phases (same shape as tests/conftest.py)."""
    tier_list = [{"tier_id": f"T{t + 1}", "tier_index": t, "name": f"Tier {t + 1}"} for t in range(tiers)]
    phase_list = [
        {"phase_id": f"F{t + 1}.{p + 1}", "phase_index": t * phases_per_tier + p,
         "tier_id": f"T{t + 1}", "name": f"Phase {t + 1}.{p + 1}", "task_category": "general",
         "complexity": "low"}
        for t in range(tiers) for p in range(phases_per_tier)
    ]
    return {"run": {"run_id": run_id}, "tiers": tier_list, "phases": phase_list}


@pytest.fixture
def start_run(client):
    """Start a run (2 tiers x 2 phases by default) and return its id."""

    def start(run_id: str = RUN_ID, **kwargs) -> str:
        response = client.post("/runs/start", json=issue_run_payload(run_id, **kwargs))
        assert response.status_code == 201, response.text
        return response.json()["id"]

    return start


@pytest.fixture
def record(client):
    """POST record_issue with query parameters (and an optional evidence_refs array body)."""

    def post(run_id: str, phase_id: str, issue_key: str, severity: str = "minor", *,
             source: str = "test", category: str = "test_failure", evidence_refs=None, **extra):
        params = {"issue_key": issue_key, "severity": severity, "source": source,
                  "category": category, **extra}
        kwargs = {"params": params}
        if evidence_refs is not None:
            kwargs["json"] = evidence_refs
        return client.post(f"/runs/{run_id}/phases/{phase_id}/record_issue", **kwargs)

    return post
