"""Runs written straight into the database (exact times and states), and their directories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from autopack.core.database import session_scope
from autopack.db.models import Phase, Run, Tier
from autopack.runs.layout import run_dir
from autopack.runs.states import BUCKET_NAMES, PhaseCounts

T0 = datetime(2026, 1, 10, 12, 0, 0, tzinfo=UTC)


def insert_run(run_id: str, *, created_at: datetime = T0, phase_states: tuple[str, ...] = (),
               started_at: datetime | None = T0, completed_at: datetime | None = None,
               state: str = "RUN_CREATED", tokens_used: int = 0, phase_names: tuple[str, ...] = ()) -> str:
    """A run with one tier and one phase per state (index order), without touching the disk."""
    with session_scope() as session:
        session.add(Run(id=run_id, state=state, created_at=created_at, updated_at=created_at,
                        started_at=started_at, completed_at=completed_at, tokens_used=tokens_used,
                        token_cap=1000))
        session.flush()
        tier = Tier(run_id=run_id, tier_id="T1", tier_index=0, name="Tier 1")
        session.add(tier)
        session.flush()
        for index, phase_state in enumerate(phase_states):
            name = phase_names[index] if index < len(phase_names) else f"Phase {index}"
            session.add(Phase(run_id=run_id, tier_id=tier.id, phase_id=f"P{index}", phase_index=index,
                              name=name, state=phase_state, tokens_used=10 * index, builder_attempts=index))
        counts = PhaseCounts.of(phase_states)
        for row in (session.get(Run, run_id), tier):  # the counters the server keeps in step
            for name in BUCKET_NAMES:
                setattr(row, name, getattr(counts, name))
    return run_id


def insert_runs(count: int, *, prefix: str = "r", step: timedelta = timedelta(seconds=1)) -> list[str]:
    """`count` runs created one `step` apart (the last is the newest), in one transaction."""
    ids = []
    with session_scope() as session:
        for i in range(count):
            run_id = f"{prefix}{i:05d}"
            created = T0 + i * step
            session.add(Run(id=run_id, state="RUN_CREATED", created_at=created, updated_at=created,
                            started_at=created))
            ids.append(run_id)
    return ids


def make_run_dir(run_id: str, files: dict[str, bytes | str] | None = None) -> Path:
    """Create the run's layout directory with `files` (relative path → content)."""
    root = run_dir(run_id)
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in (files or {}).items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode("utf-8")
        target.write_bytes(content)
    return root


def snapshot(root: Path) -> set[str]:
    """Every path under `root` (to prove that a request created nothing)."""
    return {str(p.relative_to(root)) for p in root.rglob("*")} if root.exists() else set()
