"""Repairs for diffs written by language models (the reference's pre-processing), tried last.

Models often miscount hunk lines, drop the leading space of empty context lines, or drop the prefix
of a context line altogether. `repair_hunks` recounts each hunk's header from its body, turns an empty
line inside a hunk into an empty context line and prefixes an unprefixed one with a space. It never
touches file headers. The repaired text is only a further candidate: the patch as sent is tried
first, and the repaired one goes through the same path checks and `git apply --check` as any other,
so a wrong guess fails to apply rather than applying something unintended.
"""

from __future__ import annotations

import re

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$")
_BODY_PREFIXES = (" ", "+", "-", "\\")


def _ends_hunk(lines: list[str], i: int) -> bool:
    """True when line i starts something other than hunk body: a hunk or a file header."""
    line = lines[i]
    if _HUNK.match(line) or line.startswith("diff "):
        return True
    # "--- x" is also a removed line whose text starts with "-- "; a header is followed by "+++ ".
    return line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ ")


def _count(value: str | None) -> int:
    return 1 if value is None else int(value)


def repair_hunks(text: str) -> str:
    """`text` (LF line ends) with hunk bodies fixed and hunk headers recounted; unchanged if sound."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        header = _HUNK.match(lines[i])
        if header is None:
            out.append(lines[i])
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not _ends_hunk(lines, j):
            j += 1
        body = lines[i + 1:j]
        end = len(body)
        while end and body[end - 1] == "":  # blank lines before the next file (or the final newline)
            end -= 1
        fixed = [line if line.startswith(_BODY_PREFIXES) else " " + line for line in body[:end]]
        old = sum(1 for line in fixed if line[0] in " -")
        new = sum(1 for line in fixed if line[0] in " +")
        if (old, new) == (_count(header[2]), _count(header[4])):
            out.append(lines[i])
        else:
            out.append(f"@@ -{header[1]},{old} +{header[3]},{new} @@{header[5]}")
        out.extend(fixed)
        out.extend(body[end:])
        i = j
    return "\n".join(out)
