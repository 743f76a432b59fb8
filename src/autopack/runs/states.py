"""Run, tier and phase states, and the rules that derive run and tier states from phases."""

from __future__ import annotations

from collections.abc import Iterable

PHASE_STATES = ("QUEUED", "EXECUTING", "GATE", "CI_RUNNING", "COMPLETE", "FAILED", "SKIPPED")
PHASE_TERMINAL = frozenset({"COMPLETE", "FAILED", "SKIPPED"})
RUN_STATES = (
    "QUEUED", "PLAN_BOOTSTRAP", "RUN_CREATED", "PHASE_QUEUEING", "PHASE_EXECUTION", "GATE",
    "CI_RUNNING", "SNAPSHOT_CREATED", "DONE_SUCCESS", "DONE_FAILED_BUDGET_EXHAUSTED",
    "DONE_FAILED_POLICY_VIOLATION", "DONE_FAILED_REQUIRES_HUMAN_REVIEW", "DONE_FAILED_ENVIRONMENT",
)
BUDGET_EXHAUSTED = "DONE_FAILED_BUDGET_EXHAUSTED"
TIER_STATES = ("PENDING", "IN_PROGRESS", "COMPLETE", "FAILED", "SKIPPED")
# Finished states the server sets itself; a phase re-opened by the executor re-opens the run.
SERVER_FINAL_RUN_STATES = frozenset({"DONE_SUCCESS", "DONE_FAILED_REQUIRES_HUMAN_REVIEW"})


def derive_tier_state(phase_states: Iterable[str]) -> str:
    """A tier follows its phases: pending, in progress, or finished like its phases."""
    states = list(phase_states)
    if not states:
        return "PENDING"
    if all(s in PHASE_TERMINAL for s in states):
        if "FAILED" in states:
            return "FAILED"
        if all(s == "SKIPPED" for s in states):
            return "SKIPPED"
        return "COMPLETE"
    if all(s == "QUEUED" for s in states):
        return "PENDING"
    return "IN_PROGRESS"


def derive_run_state(current: str, phase_states: Iterable[str]) -> str:
    """The run's state after a phase change (finalises when the last phase ends)."""
    states = list(phase_states)
    if not states or current == BUDGET_EXHAUSTED:  # a run stopped over its budget stays stopped
        return current
    if all(s in PHASE_TERMINAL for s in states):
        return "DONE_FAILED_REQUIRES_HUMAN_REVIEW" if "FAILED" in states else "DONE_SUCCESS"
    if current in SERVER_FINAL_RUN_STATES or (
        current == "RUN_CREATED" and any(s != "QUEUED" for s in states)
    ):
        return "PHASE_EXECUTION"
    return current
