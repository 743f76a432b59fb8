"""Validation of identifiers that end up in paths, file names and logs."""

from __future__ import annotations

import re

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
    if value.strip() != value:
        return f"{what} must not start or end with whitespace"
    if value in {".", ".."} or value.startswith("."):
        return f"{what} must not start with '.'"
    return None


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
