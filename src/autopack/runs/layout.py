"""The run directory layout on disk (reference §8), written atomically after each commit.

Nothing is written through a symlink (core/fs.py): a run directory, a folder on the way or a file
that someone replaced with one is refused, logged and left alone; the database stays the record.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from autopack.core.fs import (
    exists_at,
    make_temp_dir,
    open_under,
    refusals_logged,
    subdir,
    write_at,
    write_new_at,
)
from autopack.core.ids import safe_filename_part
from autopack.core.settings import get_settings

_FAMILY_SUFFIX = re.compile(r"-(\d{8}-\d{6}|\d{10,})$")
_FILE_ORGANIZER_PREFIXES = ("fileorg-", "backlog-", "maintenance-")
_SUBDIRS = ("tiers", "phases", "issues")


def project_for(run_id: str) -> str:
    """Project folder chosen by run id prefix."""
    return "file-organizer-app-v1" if run_id.startswith(_FILE_ORGANIZER_PREFIXES) else "autopack"


def family_for(run_id: str) -> str:
    """The run id without a trailing timestamp suffix."""
    return _FAMILY_SUFFIX.sub("", run_id) or run_id


def run_parts(run_id: str) -> list[str]:
    """`<project>/runs/<family>/<run_id>` under the runs directory, consecutive duplicates collapsed."""
    parts = [project_for(run_id), "runs", family_for(run_id), run_id]
    return [p for i, p in enumerate(parts) if i == 0 or p != parts[i - 1]]


def run_dir(run_id: str, base: Path | None = None) -> Path:
    """`<runs>/<project>/runs/<family>/<run_id>`, with consecutive duplicate parts collapsed."""
    return (base or get_settings().autonomous_runs_dir).joinpath(*run_parts(run_id))


def tier_file_name(tier_index: int, name: str) -> str:
    """tier_<idx:02d>_<name>.md (in tiers/)"""
    return f"tier_{tier_index:02d}_{safe_filename_part(name)}.md"


def phase_file_name(phase_index: int, phase_id: str) -> str:
    """phase_<idx:02d>_<phase_id>.md (in phases/)"""
    return f"phase_{phase_index:02d}_{safe_filename_part(phase_id)}.md"


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
    phases_total: int
    phases_done: int  # COMPLETE or SKIPPED
    phases_failed: int
    tier_count: int


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else "-"


def render_run_summary(run: RunSnapshot) -> str:
    """run_summary.md: Status, Progress, Budgets, Issues."""
    total, done, failed = run.phases_total, run.phases_done, run.phases_failed
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
    root = get_settings().autonomous_runs_dir
    *parents, name = run_parts(run_id)
    relative = "/".join([*parents, name])
    with refusals_logged(root, relative), open_under(root, "/".join(parents)) as parent_fd:
        if create_dirs and _create_staged(parent_fd, name, run, tiers, phases):
            return
        with subdir(parent_fd, name) as run_fd:
            _write_each(root, relative, run_fd, run, tiers, phases, create_dirs)


def _create_staged(parent_fd: int, name: str, run, tiers, phases) -> bool:
    """Lay out a new run directory in one rename; False when it exists already (or appeared meanwhile)."""
    if exists_at(parent_fd, name):
        return False
    staging = make_temp_dir(parent_fd, f".{name}.")
    try:
        with subdir(parent_fd, staging, create=False) as staging_fd:
            _write_plain(staging_fd, run, tiers, phases)
        # A directory cannot be renamed over a symlink (ENOTDIR): one swapped in meanwhile stays put.
        os.rename(staging, name, src_dir_fd=parent_fd, dst_dir_fd=parent_fd)
        return True
    except OSError:
        shutil.rmtree(staging, dir_fd=parent_fd, ignore_errors=True)
        if not exists_at(parent_fd, name):
            raise
        return False


def _write_plain(run_fd: int, run: RunSnapshot | None, tiers, phases) -> None:
    """Fill a fresh staging directory: create-only writes, no temp file and rename per file."""
    for sub in _SUBDIRS:
        os.mkdir(sub, dir_fd=run_fd)
    if run is not None:
        write_new_at(run_fd, "run_summary.md", render_run_summary(run))
    # Keyed by file name: two entries that sanitise to one name keep the last, as a rewrite would.
    files = {
        "tiers": {tier_file_name(t.tier_index, t.name): render_tier_summary(t) for t in tiers},
        "phases": {phase_file_name(p.phase_index, p.phase_id): render_phase_summary(p) for p in phases},
    }
    for folder, texts in files.items():
        with subdir(run_fd, folder, create=False) as folder_fd:
            for name, text in texts.items():
                write_new_at(folder_fd, name, text)


def _write_each(root: Path, relative: str, run_fd: int, run: RunSnapshot | None, tiers, phases,
                create_dirs: bool) -> None:
    """Rewrite files of an existing run directory one by one; a refused file does not stop the rest."""
    if create_dirs:
        for sub in _SUBDIRS:
            with subdir(run_fd, sub):
                pass  # created when missing, refused when a symlink
    if run is not None:
        _rewrite(root, relative, run_fd, "run_summary.md", render_run_summary(run))
    if tiers:
        with subdir(run_fd, "tiers") as tiers_fd:
            for tier in tiers:
                _rewrite(root, f"{relative}/tiers", tiers_fd, tier_file_name(tier.tier_index, tier.name),
                         render_tier_summary(tier))
    if phases:
        with subdir(run_fd, "phases") as phases_fd:
            for phase in phases:
                _rewrite(root, f"{relative}/phases", phases_fd,
                         phase_file_name(phase.phase_index, phase.phase_id), render_phase_summary(phase))


def _rewrite(root: Path, folder: str, dir_fd: int, name: str, text: str) -> None:
    with refusals_logged(root, f"{folder}/{name}"):
        write_at(dir_fd, name, text)
