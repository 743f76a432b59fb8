"""What a scan may propose: the reference's protection and retention policy, plus approved learned rules.

Categories (the reference's `protection_and_retention_policy.yaml`): `dev_caches` (dependency and
build caches, 90 days), `diagnostics_logs` (logs and error snapshots, 90 days), `runs` (archived
run output, 180 days) and `archive_buckets` (superseded documents: never deleted). Protected paths
are never proposed: version control, virtual environments, source and configuration files,
databases, and the target's top-level `src`, `tests`, `config` and `docs` folders.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

POLICY_VERSION = "1.0"
DAY_NS = 86_400 * 10**9
RETENTION_DAYS = {"dev_caches": 90, "diagnostics_logs": 90, "runs": 180}
CATEGORIES = ("dev_caches", "diagnostics_logs", "runs", "archive_buckets")
CACHE_DIRS = frozenset({"node_modules", "__pycache__", "dist", "build", ".pytest_cache", "target", ".gradle"})
LOG_SUFFIX = ".log"
# Anywhere in a path: never touched.
PROTECTED_PARTS = frozenset({".git", ".github", "venv", ".venv"})
PROTECTED_NAMES = frozenset({".gitignore", ".gitattributes", "pyproject.toml", "package.json", "requirements.txt"})
PROTECTED_SUFFIXES = (".py", ".js", ".ts", ".yaml", ".yml", ".json", ".toml", ".db", ".sqlite", ".sqlite3")
# At the top of the scanned target only.
PROTECTED_TOP = frozenset({"src", "tests", "config", "docs"})
TRASH_DIR = ".autopack-trash"


@dataclass(frozen=True)
class Rule:
    """An approved learned rule as the classifier uses it."""

    id: int
    pattern_type: str
    pattern_value: str
    category: str


@dataclass
class Policy:
    """The built-in policy with the approved learned rules of the moment."""

    rules: list[Rule] = field(default_factory=list)
    version: str = POLICY_VERSION

    def __post_init__(self) -> None:
        self.path_rules = [r for r in self.rules if r.pattern_type == "path_pattern"]
        self.type_rules = {r.pattern_value.lower().lstrip("*"): r for r in self.rules if r.pattern_type == "file_type"}
        # An approved age threshold lowers its category's retention window.
        self.retention = dict(RETENTION_DAYS)
        for rule in self.rules:
            if rule.pattern_type == "age_threshold" and rule.pattern_value.isdigit():
                days = int(rule.pattern_value)
                self.retention[rule.category] = min(self.retention.get(rule.category, days), days)

    def protected(self, rel: str) -> bool:
        """True when the path (relative to the scan target, `/`-separated) must never be touched."""
        parts = rel.split("/")
        if parts[0] in PROTECTED_TOP or PROTECTED_PARTS.intersection(parts):
            return True
        if len(parts) >= 2 and parts[0] == "archive" and parts[1] == "superseded":
            return True
        if ".autonomous_runs" in parts:
            i = parts.index(".autonomous_runs")
            if parts[i + 1:i + 2] == ["active"] or "checkpoints" in parts[i + 2:i + 3]:
                return True
        name = parts[-1]
        return name in PROTECTED_NAMES or name.lower().endswith(PROTECTED_SUFFIXES)

    def dir_category(self, rel: str, name: str) -> tuple[str, Rule | None] | None:
        """The category of a folder proposed whole (its contents are not classified separately)."""
        if name in CACHE_DIRS:
            return "dev_caches", None
        if rel.endswith("archive/diagnostics") or _run_child(rel, "errors"):
            return "diagnostics_logs", None
        if rel.endswith("archive/runs") or _run_child(rel, "output"):
            return "runs", None
        for rule in self.path_rules:
            if fnmatch.fnmatchcase("/" + rel + "/", rule.pattern_value):
                return rule.category, rule
        return None

    def file_category(self, rel: str, name: str) -> tuple[str, Rule | None] | None:
        """The category of a single file, if any."""
        lower = name.lower()
        if lower.endswith(LOG_SUFFIX):
            return "diagnostics_logs", None
        if self.type_rules:
            dot = lower.rfind(".")
            rule = self.type_rules.get(lower[dot:]) if dot > 0 else None
            if rule is not None:
                return rule.category, rule
        for rule in self.path_rules:
            if fnmatch.fnmatchcase("/" + rel, rule.pattern_value):
                return rule.category, rule
        return None


def _run_child(rel: str, child: str) -> bool:
    """`.autonomous_runs/<run>/<child>` at the end of the path."""
    parts = rel.split("/")
    return len(parts) >= 3 and parts[-1] == child and parts[-3] == ".autonomous_runs"


def reason_for(category: str, rel: str, age_days: int, size_bytes: int, rule: Rule | None) -> str:
    """A human-readable reason, in the reference's style."""
    reasons = [f"Matched category '{category}'" if rule is None
               else f"Matched learned rule #{rule.id} ({rule.pattern_type} {rule.pattern_value})"]
    if age_days > 365:
        reasons.append(f"not modified in {age_days // 365} year(s)")
    elif age_days > 90:
        reasons.append(f"not modified in {age_days} days")
    elif age_days > 30:
        reasons.append(f"over {age_days // 30} month(s) old")
    if size_bytes > 1024**3:
        reasons.append(f"large size ({size_bytes / 1024**3:.1f} GB)")
    elif size_bytes > 100 * 1024**2:
        reasons.append(f"size: {size_bytes / 1024**2:.0f} MB")
    if rule is None and category == "dev_caches":
        if "node_modules" in rel:
            reasons.append("node_modules can be regenerated via npm install")
        elif "__pycache__" in rel:
            reasons.append("Python cache, safe to delete")
        else:
            reasons.append("build output or tool cache can be regenerated")
    elif rule is None and category == "diagnostics_logs":
        reasons.append("diagnostic logs can be archived or deleted")
    elif rule is None and category == "runs" and age_days > 180:
        reasons.append("old run data beyond retention window")
    return "; ".join(reasons)
