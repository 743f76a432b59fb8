"""docs/configuration.md names every setting the code reads; the README stays short enough to read."""

from __future__ import annotations

import re
from pathlib import Path

from autopack.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CONFIGURATION = ROOT / "docs" / "configuration.md"
ENV_READ = re.compile(r"""(?:os\.environ\.get|os\.getenv|os\.environ\[)\(?\s*["']([A-Z][A-Z0-9_]+)["']""")


def documented() -> set[str]:
    """Every `NAME` in the first column of a table row in docs/configuration.md."""
    names = set()
    for line in CONFIGURATION.read_text(encoding="utf-8").splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1]))
    return names


def read_by_code() -> set[str]:
    """The environment names the settings class and the rest of src/ read."""
    names = {field.validation_alias for field in Settings.model_fields.values() if field.validation_alias}
    for path in (ROOT / "src").rglob("*.py"):
        names.update(ENV_READ.findall(path.read_text(encoding="utf-8")))
    return names


def test_every_setting_is_documented():
    names = read_by_code()
    assert {"AUTOPACK_API_KEY", "DATABASE_URL", "AUTOPACK_ENABLE_PHASE6_METRICS"} <= names  # the scan works
    assert sorted(names - documented()) == []


def test_readme_stays_short():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines < 400, f"README.md has {lines} lines: move reference material to docs/"
