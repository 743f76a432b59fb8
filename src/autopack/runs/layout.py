"""The run directory layout on disk (reference §8), written atomically after each commit."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from autopack.core.fs import atomic_write_text
from autopack.core.ids import safe_filename_part
from autopack.core.settings import get_settings

_FAMILY_SUFFIX = re.compile(r"-(\d{8}-\d{6}|\d{10,})$")
_FILE_ORGANIZER_PREFIXES = ("fileorg-", "backlog-", "maintenance-")


def project_for(run_id: str) -> str:
    """Project folder chosen by run id prefix."""
    return "file-organizer-app-v1" if run_id.startswith(_FILE_ORGANIZER_PREFIXES) else "autopack"


def family_for(run_id: str) -> str:
    """The run id without a trailing timestamp suffix."""
    return _FAMILY_SUFFIX.sub("", run_id) or run_id


def run_dir(run_id: str, base: Path | None = None) -> Path:
    """`<runs>/<project>/runs/<family>/<run_id>`, with consecutive duplicate parts collapsed."""
    base = base or get_settings().autonomous_runs_dir
    parts = [project_for(run_id), "runs", family_for(run_id), run_id]
    collapsed = [p for i, p in enumerate(parts) if i == 0 or p != parts[i - 1]]
    return base.joinpath(*collapsed)


def tier_file(run_path: Path, tier_index: int, name: str) -> Path:
    """tiers/tier_<idx:02d>_<name>.md"""
    return run_path / "tiers" / f"tier_{tier_index:02d}_{safe_filename_part(name)}.md"


def phase_file(run_path: Path, phase_index: int, phase_id: str) -> Path:
    """phases/phase_<idx:02d>_<phase_id>.md"""
    return run_path / "phases" / f"phase_{phase_index:02d}_{safe_filename_part(phase_id)}.md"


@dataclass(frozen=True)
class PhaseSnapshot:
    """What a phase summary shows."""

    phase_id: str
    phase_index: int
    name: str
    tier_id: str
    state: str
    description: str | None
    task_category: str | None
    complexity: str | None
    builder_attempts: int
    tokens_used: int
    minor_issues_count: int
    major_issues_count: int
    updated_at: datetime | None


@dataclass(frozen=True)
class TierSnapshot:
    """What a tier summary shows."""

    tier_id: str
    tier_index: int
    name: str
    description: str | None
    state: str
    phase_ids: tuple[str, ...]


@dataclass(frozen=True)
class RunSnapshot:
    """What the run summary shows."""

    run_id: str
    state: str
    safety_profile: str
    run_scope: str
    token_cap: int
    tokens_used: int
    max_phases: int
    max_duration_minutes: int
    minor_issues_count: int
    major_issues_count: int
    started_at: datetime | None
    completed_at: datetime | None
    phase_states: tuple[str, ...]
    tier_count: int


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else "-"


def render_run_summary(run: RunSnapshot) -> str:
    """run_summary.md: Status, Progress, Budgets, Issues."""
    total = len(run.phase_states)
    done = sum(1 for s in run.phase_states if s in {"COMPLETE", "SKIPPED"})
    failed = sum(1 for s in run.phase_states if s == "FAILED")
    return (
        f"# Run Summary: {run.run_id}\n\n"
        f"## Status\n- State: {run.state}\n- Safety profile: {run.safety_profile}\n"
        f"- Run scope: {run.run_scope}\n- Started: {_iso(run.started_at)}\n"
        f"- Completed: {_iso(run.completed_at)}\n\n"
        f"## Progress\n- Tiers: {run.tier_count}\n- Phases: {total}\n- Completed phases: {done}\n"
        f"- Failed phases: {failed}\n\n"
        f"## Budgets\n- Tokens used: {run.tokens_used} / {run.token_cap}\n"
        f"- Max phases: {run.max_phases}\n- Max duration: {run.max_duration_minutes} minutes\n\n"
        f"## Issues\n- Minor: {run.minor_issues_count}\n- Major: {run.major_issues_count}\n"
    )


def render_tier_summary(tier: TierSnapshot) -> str:
    """A tier summary."""
    phases = "".join(f"- {pid}\n" for pid in tier.phase_ids) or "- (none)\n"
    return (
        f"# Tier {tier.tier_index}: {tier.name}\n\n- Tier id: {tier.tier_id}\n- State: {tier.state}\n"
        f"- Description: {tier.description or ''}\n\n## Phases\n{phases}"
    )


def render_phase_summary(phase: PhaseSnapshot) -> str:
    """A phase summary."""
    return (
        f"# Phase {phase.phase_index}: {phase.name}\n\n- Phase id: {phase.phase_id}\n"
        f"- Tier: {phase.tier_id}\n- State: {phase.state}\n- Task category: {phase.task_category or '-'}\n"
        f"- Complexity: {phase.complexity or '-'}\n- Builder attempts: {phase.builder_attempts}\n"
        f"- Tokens used: {phase.tokens_used}\n- Minor issues: {phase.minor_issues_count}\n"
        f"- Major issues: {phase.major_issues_count}\n- Updated: {_iso(phase.updated_at)}\n\n"
        f"## Description\n{phase.description or ''}\n"
    )


def write_run_files(
    run: RunSnapshot | None,
    tiers: list[TierSnapshot] = (),
    phases: list[PhaseSnapshot] = (),
    *,
    run_id: str,
    create_dirs: bool = False,
) -> None:
    """Write whichever summaries are given; `create_dirs` lays out a new run directory.

    A new run is written into a temporary sibling directory and renamed into place in one step:
    readers see all of it or none, without a rename per file (200 phases stay cheap).
    """
    path = run_dir(run_id)
    if create_dirs and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
        os.chmod(staging, 0o755)  # mkdtemp makes it private; a run directory is not
        try:
            _write_plain(staging, run, tiers, phases)
            os.rename(staging, path)
            return
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            if not path.exists():
                raise
    if create_dirs:
        for sub in ("tiers", "phases", "issues"):
            (path / sub).mkdir(parents=True, exist_ok=True)
    if run is not None:
        atomic_write_text(path / "run_summary.md", render_run_summary(run))
    for tier in tiers:
        atomic_write_text(tier_file(path, tier.tier_index, tier.name), render_tier_summary(tier))
    for phase in phases:
        atomic_write_text(phase_file(path, phase.phase_index, phase.phase_id), render_phase_summary(phase))


def _write_plain(root: Path, run: RunSnapshot | None, tiers, phases) -> None:
    for sub in ("tiers", "phases", "issues"):
        (root / sub).mkdir()
    if run is not None:
        (root / "run_summary.md").write_text(render_run_summary(run), encoding="utf-8")
    for tier in tiers:
        tier_file(root, tier.tier_index, tier.name).write_text(render_tier_summary(tier), encoding="utf-8")
    for phase in phases:
        phase_file(root, phase.phase_index, phase.phase_id).write_text(render_phase_summary(phase),
                                                                       encoding="utf-8")
