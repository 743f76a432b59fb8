"""Validation of identifiers that end up in paths, file names and logs."""

from __future__ import annotations

import re
import unicodedata

# Printable, no path separators, no control characters, not "." / "..", bounded length.
_ID_RE = re.compile(r"^[^\x00-\x1f\x7f/\\]{1,128}$")


def id_problem(value: str, what: str) -> str | None:
    """Why `value` is not an acceptable identifier, or None when it is."""
    if not isinstance(value, str) or not value:
        return f"{what} must be a non-empty string"
    if len(value) > 128:
        return f"{what} must be at most 128 characters"
    if not _ID_RE.match(value):
        return f"{what} must not contain path separators or control characters"
    hidden = hidden_character_problem(value, what)
    if hidden:
        return hidden
    if value.strip() != value:
        return f"{what} must not start or end with whitespace"
    if value in {".", ".."} or value.startswith("."):
        return f"{what} must not start with '.'"
    return None


# Characters that draw nothing or reorder the text around them: with one, a name can pass for another
# ("root" + U+200B, a right-to-left override turning "txt.exe" around). Categories Cf, Cc, Zl, Zp cover
# most; the ranges add the unassigned gaps of those blocks and the fillers and joiners of other categories.
_HIDDEN_CATEGORIES = frozenset({"Cf", "Cc", "Zl", "Zp"})
_HIDDEN_RANGES = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x2028, 0x202E), (0x2060, 0x206F), (0x2800, 0x2800),
    (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFFB),
    (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)


def hidden_characters(value: str) -> list[str]:
    """The invisible and bidirectional control characters in `value`, as "U+XXXX" (empty when none)."""
    if value.isascii() and value.isprintable():  # the common case (0x20-0x7e only), without a per-character lookup
        return []
    found = []
    for char in value:
        cp = ord(char)
        if unicodedata.category(char) in _HIDDEN_CATEGORIES or any(a <= cp <= b for a, b in _HIDDEN_RANGES):
            code = f"U+{cp:04X}"
            if code not in found:
                found.append(code)
    return found


def hidden_character_problem(value: str, what: str) -> str | None:
    """Why `value` is refused for holding invisible or bidirectional control characters, or None."""
    found = hidden_characters(value)
    if not found:
        return None
    return f"{what} must not contain invisible or bidirectional control characters ({', '.join(found[:5])})"


def check_id(value: str, what: str) -> str:
    """Return `value` when it is a safe identifier; raise ValueError otherwise."""
    problem = id_problem(value, what)
    if problem:
        raise ValueError(problem)
    return value


def safe_filename_part(value: str) -> str:
    """The reference's file-name sanitising: spaces and slashes become underscores."""
    out = value.replace(" ", "_").replace("/", "_").replace("\\", "_")
    return re.sub(r"[\x00-\x1f\x7f]", "_", out)


# Neither database stores these the same way: PostgreSQL refuses NUL in text and JSONB, and UTF-8
# encoders refuse unpaired surrogates. Checked so bad text is a 422, never a driver error (500).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_MESSAGE = "must not contain NUL characters or unpaired surrogates"


def is_storable(value: str) -> bool:
    """True when `value` can be written to (and looked up in) either database."""
    return _UNSTORABLE.search(value) is None


def storable(value: str) -> str:
    """A pydantic after-validator: `value`, or ValueError when no database can store it."""
    if not is_storable(value):
        raise ValueError(UNSTORABLE_MESSAGE)
    return value
