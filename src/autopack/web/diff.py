"""A unified diff as lines classed for display (the text itself is escaped by the template)."""

from __future__ import annotations

MAX_LINES = 5000


def diff_lines(patch: str) -> list[tuple[str, str]]:
    """(class, line) pairs: "add", "del", "hunk", "file" or "" for context; at most MAX_LINES."""
    out = []
    for line in patch.splitlines()[:MAX_LINES]:
        if line.startswith(("+++", "---", "diff ", "index ")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = ""
        out.append((kind, line))
    return out
