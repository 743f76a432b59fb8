"""Request bodies and the runs every scenario works on (API shapes of src/autopack/runs/schemas.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx

GET_RUN_ID = "bench-get-5x10"
UPDATE_RUN_ID = "bench-update-5x10"
TIERS, PHASES_PER_TIER = 5, 10
STATES = ("EXECUTING", "GATE")  # alternating keeps phases open, so every update is a real change


def run_payload(run_id: str, tiers: int, phases_per_tier: int) -> dict:
    """A POST /runs/start body with `tiers` tiers of `phases_per_tier` phases (as tests/conftest.py)."""
    tier_list = [{"tier_id": f"T{t + 1}", "tier_index": t, "name": f"Tier {t + 1}"} for t in range(tiers)]
    phase_list = [
        {"phase_id": f"F{t + 1}.{p + 1}", "phase_index": t * phases_per_tier + p,
         "tier_id": f"T{t + 1}", "name": f"Phase {t + 1}.{p + 1}", "task_category": "general",
         "complexity": "low"}
        for t in range(tiers) for p in range(phases_per_tier)
    ]
    return {"run": {"run_id": run_id}, "tiers": tier_list, "phases": phase_list}


def phase_ids(tiers: int = TIERS, phases_per_tier: int = PHASES_PER_TIER) -> list[str]:
    """The phase ids run_payload gives, in order."""
    return [f"F{t + 1}.{p + 1}" for t in range(tiers) for p in range(phases_per_tier)]


def status_body(state: str) -> str:
    """An update_status body."""
    return json.dumps({"state": state}, separators=(",", ":"))


def update_path(run_id: str, phase_id: str) -> str:
    """The update_status URL path of one phase."""
    return f"/runs/{run_id}/phases/{phase_id}/update_status"


@dataclass(frozen=True)
class Fixtures:
    """The two 5x10 runs: one only read, one whose phases are moved."""

    get_run_id: str
    update_run_id: str
    phase_ids: tuple[str, ...]


def create_fixtures(base_url: str) -> Fixtures:
    """Create the read run and the update run through the API."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for run_id in (GET_RUN_ID, UPDATE_RUN_ID):
            response = client.post("/runs/start", json=run_payload(run_id, TIERS, PHASES_PER_TIER))
            if response.status_code != 201:
                raise RuntimeError(f"POST /runs/start {run_id}: {response.status_code} {response.text[:300]}")
        body = client.get(f"/runs/{GET_RUN_ID}").json()
    if len(body["phases"]) != TIERS * PHASES_PER_TIER:
        raise RuntimeError(f"run {GET_RUN_ID} has {len(body['phases'])} phases, expected 50")
    return Fixtures(GET_RUN_ID, UPDATE_RUN_ID, tuple(phase_ids()))
