"""The governed path: parse, check every path, stop at protected paths, then apply (no database here)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from autopack.core.settings import Settings, get_settings
from autopack.governance.apply import (
    Workspace,
    apply_files,
    check_applies,
    check_git_paths,
    scratch_dir,
    write_candidates,
)
from autopack.governance.patchset import PatchError, PatchPlan, parse_patch
from autopack.governance.paths import (
    PathPolicy,
    extract_justification,
    outside_scope,
    risk_level,
    split_setting,
)
from autopack.governance.workspace import fingerprint, resolve_root, workspace_lock

OUTSIDE_SCOPE = "patch touches paths outside the phase's allowed_paths: "


@dataclass(frozen=True)
class Violation:
    """A patch that touches protected paths: what a governance request records."""

    paths: tuple[str, ...]
    justification: str
    risk_level: str
    fingerprint: str


@dataclass(frozen=True)
class GovernedResult:
    """What happened to one patch; exactly one of applied / error / violation / stale describes it."""

    applied: bool = False
    error: str | None = None
    violation: Violation | None = None
    stale: bool = False
    plan: PatchPlan | None = None
    mode: str | None = None


def policy_for(settings: Settings) -> PathPolicy:
    """The internal-mode policy (maintenance runs) with the operator's configured lists."""
    return PathPolicy.build(protected=split_setting(settings.governance_protected_paths),
                            always_allowed=split_setting(settings.governance_always_allowed_paths),
                            internal_mode=True)


def governed_apply(patch: str, *, allowed_paths: Iterable[str] = (), waived_paths: Iterable[str] = (),
                   expected_fingerprint: str | None = None, root: Path | None = None) -> GovernedResult:
    """Apply `patch` to `root` (default REPO_PATH) unless unsafe, protected (beyond `waived_paths`), or stale."""
    settings = get_settings()
    waived = set(waived_paths)
    plan = None
    try:
        plan = parse_patch(patch, settings.patch_max_bytes)
        root = resolve_root(root or settings.repo_path)
        ws = Workspace(root=root, timeout=settings.patch_apply_timeout_seconds,
                       max_file_bytes=settings.patch_max_file_bytes, check_python=settings.patch_check_python)
        with workspace_lock(root, settings.patch_apply_timeout_seconds), scratch_dir(root) as scratch:
            files = write_candidates(plan, scratch)
            paths = check_git_paths(ws, plan, files)
            current = fingerprint(root, paths)
            if expected_fingerprint is not None and current != expected_fingerprint:
                return GovernedResult(stale=True, plan=plan)
            outside = outside_scope(paths, allowed_paths)
            if outside:
                return GovernedResult(error=OUTSIDE_SCOPE + ", ".join(outside), plan=plan)
            violated = [p for p in policy_for(settings).violations(paths) if p not in waived]
            if violated:
                # A patch that cannot apply is refused now rather than sent to a human for nothing.
                check_applies(ws, files)
                return GovernedResult(plan=plan, violation=Violation(
                    paths=tuple(violated), justification=extract_justification(patch),
                    risk_level=risk_level(violated), fingerprint=current))
            mode = apply_files(ws, files, paths, scratch)
            return GovernedResult(applied=True, plan=plan, mode=mode)
    except PatchError as exc:
        return GovernedResult(error=exc.reason, plan=plan)
