"""Allowed scan roots (AUTOPACK_STORAGE_ROOTS): a scan, an execution and a restore stay inside one."""

from __future__ import annotations

import os

from autopack.core.errors import BadRequest, Forbidden
from autopack.core.settings import get_settings
from autopack.storage.policy import TRASH_DIR

OUTSIDE_ROOTS = "Scan target is outside the allowed storage roots (AUTOPACK_STORAGE_ROOTS)"


def allowed_roots() -> list[str]:
    """The configured roots, resolved (symlinks followed), longest first."""
    raw = get_settings().storage_roots
    roots = {os.path.realpath(os.path.expanduser(p.strip())) for p in raw.split(",") if p.strip()}
    return sorted(roots, key=len, reverse=True)


def root_of(path: str, roots: list[str] | None = None) -> str | None:
    """The allowed root holding the (already resolved) path, None when there is none."""
    for root in allowed_roots() if roots is None else roots:
        if path == root or path.startswith(root.rstrip(os.sep) + os.sep):
            return root
    return None


def resolve_target(target: str) -> tuple[str, str]:
    """(resolved target, its root) or 403 outside the roots / 400 when it is not a directory."""
    if "\x00" in target or not target.strip():
        raise BadRequest("Invalid scan_target")
    resolved = os.path.realpath(os.path.expanduser(target.strip()))
    root = root_of(resolved)
    if root is None:
        raise Forbidden(OUTSIDE_ROOTS)  # decided before looking: no probing of what exists elsewhere
    if not os.path.isdir(resolved):
        raise BadRequest(f"Scan target is not a directory: {target}")
    if TRASH_DIR in os.path.relpath(resolved, root).split(os.sep):
        raise BadRequest("The storage trash is not scanned (restore from it instead)")
    return resolved, root
