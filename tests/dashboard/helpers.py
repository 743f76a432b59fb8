"""Shared helpers of the dashboard tests."""

from __future__ import annotations

from tests.conftest import run_payload


def start(client, run_id: str, tiers: int = 2, phases_per_tier: int = 2) -> str:
    """Start a run and return its id."""
    response = client.post("/runs/start", json=run_payload(run_id, tiers, phases_per_tier))
    assert response.status_code == 201, response.text
    return run_id


def set_phase(client, run_id: str, phase_id: str, state: str, **extra) -> None:
    """Move a phase (and its counters) through the executor's endpoint."""
    response = client.post(f"/runs/{run_id}/phases/{phase_id}/update_status", json={"state": state, **extra})
    assert response.status_code == 200, response.text


def usage(client, run_id: str, *events: dict) -> None:
    """Record LLM usage events for a run."""
    response = client.post(f"/runs/{run_id}/usage", json={"events": list(events)})
    assert response.status_code == 201, response.text


def metrics(client, run_id: str, phase_id: str, **groups) -> None:
    """Record token-efficiency and/or phase-6 metrics for a phase."""
    response = client.post(f"/runs/{run_id}/phases/{phase_id}/metrics", json=groups)
    assert response.status_code == 201, response.text
