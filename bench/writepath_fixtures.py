"""What the write-path benchmark (issue [8]) works on: its runs, and every request list it sends.

Each write kind gets a run of its own (5 tiers x 10 phases, created through the API with caps no
benchmark reaches, so no budget hold ever refuses a request), and its requests rotate over the 50
phases with the path and the body built together: BuilderResult and AuditorResult must name the
run and phase of their path. Shapes: src/autopack/phases/schemas.py, src/autopack/usage/schemas.py,
src/autopack/autopilot/proposals.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx
from loadgen import RequestList, Target
from payloads import STATES, phase_ids, run_payload, status_body, update_path

PREFIX = "bench-wp-"
RUNS = ("read", "update", "builder", "auditor", "usage", "mixed")
USAGE_BATCH = 10
# Caps far beyond what any run of the benchmark uses: the figures measure writes, not budget holds.
CAPS = {"token_cap": 10**15, "max_phases": 10**6, "max_duration_minutes": 10**7}
MIXED_READ_CONNECTIONS, MIXED_WRITE_CONNECTIONS = 13, 3


def _json(value: dict) -> str:
    return json.dumps(value, separators=(",", ":"))


@dataclass(frozen=True)
class WriteFixtures:
    """The runs' ids by role, and their phase ids."""

    runs: dict[str, str]
    phase_ids: tuple[str, ...]

    def path(self, role: str, phase_id: str, action: str) -> str:
        """`/runs/{run}/phases/{phase}/{action}` on the run of `role`."""
        return f"/runs/{self.runs[role]}/phases/{phase_id}/{action}"


def create_runs(base_url: str) -> WriteFixtures:
    """The six 5x10 runs, through POST /runs/start."""
    runs = {role: f"{PREFIX}{role}" for role in RUNS}
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for run_id in runs.values():
            body = run_payload(run_id, 5, 10)
            body["run"].update(CAPS)
            response = client.post("/runs/start", json=body)
            if response.status_code != 201:
                raise RuntimeError(f"POST /runs/start {run_id}: {response.status_code} {response.text[:300]}")
    return WriteFixtures(runs, tuple(phase_ids()))


def builder_body(run_id: str, phase_id: str) -> str:
    """A successful builder result of a non-maintenance run with no patch (the phase keeps its state)."""
    return _json({"run_id": run_id, "phase_id": phase_id, "run_type": "project_build", "status": "success",
                  "files_changed": ["src/app.py"], "lines_added": 12, "lines_removed": 3, "builder_attempts": 1,
                  "tokens_used": 1200, "duration_minutes": 0.5, "notes": "bench builder result"})


def auditor_body(run_id: str, phase_id: str) -> str:
    """An approving review with no issues and no patch."""
    return _json({"run_id": run_id, "phase_id": phase_id, "review_notes": "Looks good to me.",
                  "recommendation": "approve", "confidence": "high", "auditor_attempts": 1,
                  "tokens_used": 800})


def usage_body(phase_id: str, size: int = USAGE_BATCH) -> str:
    """A batch of `size` LLM usage events of one phase."""
    events = [{"provider": ("openai", "anthropic")[n % 2], "model": ("gpt-4o", "claude-sonnet")[n % 2],
               "role": ("builder", "auditor")[n % 2], "phase_id": phase_id, "prompt_tokens": 60 + n,
               "completion_tokens": 40} for n in range(size)]
    return _json({"events": events})


def update_target(fx: WriteFixtures, role: str = "update") -> Target:
    """update_status over the 50 phases, alternating EXECUTING / GATE (as rotate.lua does)."""
    return Target("POST update_status", "POST", tuple(update_path(fx.runs[role], p) for p in fx.phase_ids),
                  tuple(status_body(s) for s in STATES))


def builder_list(fx: WriteFixtures, role: str = "builder") -> RequestList:
    """builder_result over the 50 phases of the run of `role`."""
    run_id = fx.runs[role]
    return RequestList("POST builder_result", tuple(
        ("POST", fx.path(role, p, "builder_result"), builder_body(run_id, p)) for p in fx.phase_ids))


def auditor_list(fx: WriteFixtures, role: str = "auditor") -> RequestList:
    """auditor_result over the 50 phases of the run of `role`."""
    run_id = fx.runs[role]
    return RequestList("POST auditor_result", tuple(
        ("POST", fx.path(role, p, "auditor_result"), auditor_body(run_id, p)) for p in fx.phase_ids))


def usage_list(fx: WriteFixtures, role: str = "usage") -> RequestList:
    """POST /runs/{id}/usage, 10 events per batch, each batch on the next phase."""
    return RequestList(f"POST /runs/{{id}}/usage ({USAGE_BATCH} events)", tuple(
        ("POST", f"/runs/{fx.runs[role]}/usage", usage_body(p)) for p in fx.phase_ids))


def mixed_lists(fx: WriteFixtures) -> tuple[RequestList, RequestList]:
    """The mixed workload: four reads in turn, and update_status / builder_result / usage in turn."""
    read = fx.runs["read"]
    reads = RequestList("mixed reads", (("GET", f"/runs/{read}", None), ("GET", f"/runs/{read}/progress", None),
                                        ("GET", "/runs?limit=20", None), ("GET", "/health", None)))
    writes, run_id, count = [], fx.runs["mixed"], len(fx.phase_ids)
    for n in range(2 * count):  # every phase twice: EXECUTING then GATE, so every update is a change
        phase = fx.phase_ids[n % count]
        writes += [("POST", fx.path("mixed", phase, "update_status"), status_body(STATES[n // count])),
                   ("POST", fx.path("mixed", phase, "builder_result"), builder_body(run_id, phase)),
                   ("POST", f"/runs/{run_id}/usage", usage_body(phase))]
    return reads, RequestList("mixed writes", tuple(writes))


def action_bodies(count: int = 50) -> tuple[str, ...]:
    """POST /actions proposals on `count` campaigns: budget increases of 5% (within the defaults)."""
    return tuple(_json({"action_type": "budget_increase", "entity_type": "campaign", "entity_id": f"wp-{n:03d}",
                        "entity_name": f"Campaign {n}", "platform": "meta",
                        "action_json": {"new_budget": 105.0}, "before_value": {"daily_budget": 100.0}})
                 for n in range(count))


def actions_list(tenant_id: int, token: str) -> RequestList:
    """POST /actions on the operator tenant, rotating over the campaigns."""
    path = f"/api/v1/tenant/{tenant_id}/autopilot/actions"
    return RequestList("POST /actions", tuple(("POST", path, b) for b in action_bodies()),
                       (("Authorization", f"Bearer {token}"),))


def approve_list(tenant_id: int, token: str, action_ids: list[str]) -> RequestList:
    """POST /actions/{id}/approve, each queued action once (the list must outlast the run)."""
    base = f"/api/v1/tenant/{tenant_id}/autopilot/actions"
    return RequestList("POST /actions/{id}/approve", tuple(("POST", f"{base}/{a}/approve", None) for a in action_ids),
                       (("Authorization", f"Bearer {token}"),))
