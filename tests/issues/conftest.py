"""Fixtures for the issue tracking tests: a started run and a record_issue helper."""

from __future__ import annotations

import pytest

from tests.conftest import run_payload

RUN_ID = "demo-20260110-120000"


def issue_run_payload(run_id: str = RUN_ID, tiers: int = 2, phases_per_tier: int = 2) -> dict:
    """A start request (tests/conftest.py's `run_payload`, with this area's default run id)."""
    return run_payload(run_id, tiers, phases_per_tier)


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
