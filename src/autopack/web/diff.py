"""A unified diff as lines classed for display (the text itself is escaped by the template)."""

from __future__ import annotations

MAX_LINES = 2000  # per request on the page; the whole patch is GET /governance/request/{id}


def diff_lines(patch: str) -> dict:
    """`diff`: (class, line) pairs ("add", "del", "hunk", "file" or "" for context), at most MAX_LINES;
    `diff_more`: how many lines were left out."""
    lines = patch.splitlines()
    out = []
    for line in lines[:MAX_LINES]:
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
    return {"diff": out, "diff_more": max(0, len(lines) - MAX_LINES)}
