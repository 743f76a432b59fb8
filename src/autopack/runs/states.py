"""Run, tier and phase states, and the rules that derive run and tier states from their phases' counts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

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

# Every phase state falls in exactly one bucket; tiers and runs keep a counter per bucket (columns of
# the same names), so their states follow from a few numbers instead of a read of every phase.
BUCKETS = {"QUEUED": "phases_pending", "EXECUTING": "phases_in_progress", "GATE": "phases_in_progress",
           "CI_RUNNING": "phases_in_progress", "COMPLETE": "phases_completed", "FAILED": "phases_failed",
           "SKIPPED": "phases_skipped"}
BUCKET_NAMES = ("phases_pending", "phases_in_progress", "phases_completed", "phases_failed", "phases_skipped")


@dataclass(frozen=True)
class PhaseCounts:
    """How many phases of a tier or run are in each bucket."""

    phases_pending: int = 0
    phases_in_progress: int = 0
    phases_completed: int = 0
    phases_failed: int = 0
    phases_skipped: int = 0

    @classmethod
    def of(cls, states: Iterable[str]) -> PhaseCounts:
        """Counts of a list of phase states."""
        counts = dict.fromkeys(BUCKET_NAMES, 0)
        for state in states:
            counts[BUCKETS[state]] += 1
        return cls(**counts)

    @classmethod
    def read(cls, row) -> PhaseCounts:  # noqa: ANN001 - a Tier, a Run or a row with the bucket columns
        """The counters stored on a tier or run row."""
        return cls(**{name: getattr(row, name) or 0 for name in BUCKET_NAMES})

    @property
    def total(self) -> int:
        """Every phase."""
        return sum(getattr(self, name) for name in BUCKET_NAMES)

    @property
    def finished(self) -> int:
        """Phases in a terminal state."""
        return self.phases_completed + self.phases_failed + self.phases_skipped

    @property
    def started(self) -> int:
        """Phases that have started (neither waiting nor skipped)."""
        return self.phases_in_progress + self.phases_completed + self.phases_failed


def derive_tier_state(counts: PhaseCounts) -> str:
    """A tier follows its phases: pending, in progress, or finished like its phases."""
    if counts.total == 0:
        return "PENDING"
    if counts.finished == counts.total:
        if counts.phases_failed:
            return "FAILED"
        if counts.phases_skipped == counts.total:
            return "SKIPPED"
        return "COMPLETE"
    if counts.phases_pending == counts.total:
        return "PENDING"
    return "IN_PROGRESS"


def derive_run_state(current: str, counts: PhaseCounts) -> str:
    """The run's state after a phase change (finalises when the last phase ends)."""
    if counts.total == 0 or current == BUDGET_EXHAUSTED:  # a run stopped over its budget stays stopped
        return current
    if counts.finished == counts.total:
        return "DONE_FAILED_REQUIRES_HUMAN_REVIEW" if counts.phases_failed else "DONE_SUCCESS"
    if current in SERVER_FINAL_RUN_STATES or (current == "RUN_CREATED" and counts.phases_pending < counts.total):
        return "PHASE_EXECUTION"
    return current
