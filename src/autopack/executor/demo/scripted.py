"""The demo's scripted steps: `build` prints a diff creating the phase's files, `audit` approves (no network)."""

from __future__ import annotations

import difflib
import json
import sys
from pathlib import Path

FILES = {
    "config/settings.yaml": "name: demo\ndebug: false\ngreeting: Hello from Autopack\n",
    "src/app/settings.py": ('"""Load the application settings."""\n\nfrom pathlib import Path\n\n'
                            'SETTINGS_FILE = Path(__file__).parents[2] / "config" / "settings.yaml"\n\n\n'
                            'def load() -> dict[str, str]:\n    """The settings as a mapping of strings."""\n'
                            '    pairs = (line.split(":", 1) for line in SETTINGS_FILE.read_text().splitlines()'
                            ' if ":" in line)\n    return {key.strip(): value.strip() for key, value in pairs}\n'),
    "docs/settings.md": ("# Settings\n\n| name | meaning |\n|---|---|\n| `name` | the application's name |\n"
                         "| `debug` | more output when true |\n| `greeting` | what the application says |\n"),
}


def diff_for(path: str, root: Path) -> str:
    """A git-style diff giving `path` its scripted content (a new file or a change)."""
    target = root / path
    old = target.read_text() if target.is_file() else ""
    new = FILES.get(path, f"# {path}: written by the demo builder\n")
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                 "/dev/null" if not old else f"a/{path}", f"b/{path}")
    return f"diff --git a/{path} b/{path}\n" + ("" if old else "new file mode 100644\n") + "".join(lines)


def main() -> None:
    """Read the phase JSON on stdin; print a diff (build) or a verdict (audit)."""
    phase = json.load(sys.stdin)
    if sys.argv[1:] == ["audit"]:
        print(json.dumps({"recommendation": "approve", "confidence": "high",
                          "review_notes": f"{phase['phase_id']}: scripted review, checks passed"}))
        return
    paths = (phase.get("scope") or {}).get("paths") or []
    sys.stdout.write("".join(diff_for(p, Path.cwd()) for p in paths))


if __name__ == "__main__":
    main()
