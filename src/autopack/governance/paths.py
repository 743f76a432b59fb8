"""Patch paths: safety rules, the protected-path policy, risk levels and the builder's justification."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatch

# Reference §2.1.1: what a builder may not touch without a human's approval.
DEFAULT_PROTECTED_PATHS = (
    "src/autopack/",
    # Still protected in internal mode, which only removes the broad prefix above.
    "src/autopack/config.py", "src/autopack/database.py", "src/autopack/models.py",
    "src/autopack/governed_apply.py", "src/autopack/autonomous_executor.py", "src/autopack/main.py",
    "src/autopack/quality_gate.py",
    "config/", ".autonomous_runs/", ".git/",
)
# Reference §2.1.1: always allowed, even where a protected prefix matches.
DEFAULT_ALWAYS_ALLOWED = (
    "src/autopack/learned_rules.py", "src/autopack/llm_service.py", "src/autopack/openai_clients.py",
    "src/autopack/gemini_clients.py", "src/autopack/glm_clients.py",
    "src/autopack/research/", "src/autopack/cli/", "src/autopack/integrations/", "src/autopack/phases/",
    "src/autopack/autonomous/", "src/autopack/workflow/", "src/autopack/diagnostics/",
    "src/autopack/dashboard/", "src/autopack/main.py", "config/models.yaml",
    "src/autopack/import_graph.py", "src/autopack/scope_refiner.py", "src/autopack/risk_scorer.py",
    "src/autopack/context_summarizer.py", "src/autopack/quality_gate.py",
)
INTERNAL_MODE_UNLOCKED = "src/autopack/"
MAX_PATH_LENGTH = 4096
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_RISK_ORDER = ("low", "medium", "high", "critical")
_CRITICAL = ("src/autopack/models.py", "src/autopack/governed_apply.py",
             "src/autopack/autonomous_executor.py", "alembic/versions/*")
NO_JUSTIFICATION = "No justification provided in patch"


def unsafe_reason(path: str) -> str | None:
    """Why `path` may not appear in a patch (absolute, traversal, .git, odd characters); None if safe."""
    if not path:
        return "empty path"
    if len(path) > MAX_PATH_LENGTH:
        return f"path too long: {path[:80]}..."
    if _CONTROL.search(path) or "\\" in path or _SURROGATE.search(path):
        return f"unsafe characters in path: {path!r}"
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        return f"absolute path not allowed: {path}"
    parts = path.split("/")
    if ".." in parts:
        return f"path traversal not allowed: {path}"
    if any(part.casefold() == ".git" for part in parts):
        return f"paths inside .git are not allowed: {path}"
    if any(part in ("", ".") for part in parts):
        return f"non-canonical path not allowed: {path}"
    return None


def scope_entries(entries: Iterable[str]) -> list[str]:
    """The payload's allowed_paths as path prefixes: `\\` → `/`, no leading `./`, no trailing `/`."""
    scope = []
    for entry in entries:
        target = entry.replace("\\", "/").strip()
        while target.startswith("./"):
            target = target[2:]
        target = target.rstrip("/")
        if target:
            scope.append(target)
    return scope


def outside_scope(paths: Iterable[str], allowed_paths: Iterable[str]) -> list[str]:
    """The paths no allowed_paths entry covers (an entry covers itself and everything below it)."""
    scope = scope_entries(allowed_paths)
    if not scope:
        return []
    return [path for path in paths if not any(path == entry or path.startswith(entry + "/") for entry in scope)]


def split_setting(value: str) -> tuple[str, ...]:
    """A comma-separated setting as a tuple of non-empty entries."""
    return tuple(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True)
class PathPolicy:
    """Protected prefixes and the operator's prefixes that override them (plain `startswith`, as the reference)."""

    # A builder's allowed_paths never appear here: they narrow a patch's scope, never unprotect a path.

    protected: tuple[str, ...]
    allowed: tuple[str, ...]

    @classmethod
    def build(cls, *, protected: Iterable[str] = (), always_allowed: Iterable[str] = (),
              internal_mode: bool = True) -> PathPolicy:
        """The policy for one apply; empty lists mean the reference defaults."""
        protected = tuple(protected) or DEFAULT_PROTECTED_PATHS
        if internal_mode:  # maintenance runs edit Autopack itself; the listed core files stay protected
            protected = tuple(p for p in protected if p != INTERNAL_MODE_UNLOCKED)
        return cls(protected=protected, allowed=tuple(always_allowed) or DEFAULT_ALWAYS_ALLOWED)

    def is_protected(self, path: str) -> bool:
        """True when `path` starts with a protected prefix and no allowed prefix."""
        if any(path.startswith(prefix) for prefix in self.allowed):
            return False
        return any(path.startswith(prefix) for prefix in self.protected)

    def violations(self, paths: Iterable[str]) -> list[str]:
        """The protected paths among `paths`, in order."""
        return [path for path in paths if self.is_protected(path)]


def path_risk(path: str) -> str:
    """Reference §2.7 risk of changing one path."""
    if any(fnmatch(path, pattern) for pattern in _CRITICAL):
        return "critical"
    if fnmatch(path, "src/autopack/*.py"):
        return "high"
    if fnmatch(path, "tests/*.py") or fnmatch(path, "docs/*.md"):
        return "low"
    return "medium"


def risk_level(paths: Iterable[str]) -> str:
    """The highest risk over `paths` (medium when there are none)."""
    risks = [path_risk(path) for path in paths]
    return max(risks, key=_RISK_ORDER.index) if risks else "medium"


def extract_justification(patch: str) -> str:
    """The builder's reason: `# ` comments or Subject:/Summary: lines in the first 50 lines (first 3)."""
    found = []
    for raw in patch.split("\n")[:50]:
        line = raw.strip()
        if line.startswith("# ") and len(line) > 3:
            found.append(line[2:].strip())
        if line.startswith(("Subject:", "Summary:")):
            found.append(line.split(":", 1)[1].strip())
    return " ".join(found[:3]) if found else NO_JUSTIFICATION


def protected_path_error(violated: list[str], justification: str, request_id: str) -> str:
    """The reference's protected_path_violation JSON (executors parse it), plus the request id."""
    return json.dumps({"error_type": "protected_path_violation", "violated_paths": violated,
                       "justification": justification, "requires_approval": True,
                       "request_id": request_id})
