"""What a human approves: the checks that make a payload storable, and its SHA-256.

The hash covers `{"decision_info", "deletion_info", "patch"}` as canonical JSON (sorted keys, no
spaces, UTF-8, integral floats written as integers). It is computed from what is stored, so anyone
can recompute it from `GET /approval/pending` and compare it with what they were shown.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from autopack.core.canonical import canonical_numbers

MAX_INFO_BYTES = 64 * 1024
MAX_PATCH_BYTES = 256 * 1024




def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def canonical_json(value: Any) -> bytes:
    """Sorted, compact, UTF-8 JSON; ValueError for what neither database can store."""
    try:
        text = json.dumps(canonical_numbers(value), sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False, allow_nan=False)
        return text.encode("utf-8")  # lone surrogates fail here
    except (TypeError, ValueError, UnicodeEncodeError, RecursionError) as exc:
        raise ValueError(f"not storable JSON: {type(exc).__name__}") from None


def check_info(value: dict | None, what: str) -> dict | None:
    """Accept a JSON object that both databases store unchanged and that fits in MAX_INFO_BYTES."""
    if value is None:
        return None
    try:
        size = len(canonical_json(value))
        nul = _has_nul(value)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"{what} is {exc}") from None
    if nul:  # PostgreSQL refuses NUL in JSONB; refusing it everywhere keeps SQLite in lockstep
        raise ValueError(f"{what} must not contain NUL characters")
    if size > MAX_INFO_BYTES:
        raise ValueError(f"{what} is larger than {MAX_INFO_BYTES} bytes")
    return value


def check_text(value: str | None, what: str, limit: int) -> str | None:
    """Accept text without NUL or lone surrogates, at most `limit` UTF-8 bytes."""
    if value is None:
        return None
    if "\x00" in value:
        raise ValueError(f"{what} must not contain NUL characters")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValueError(f"{what} must be valid UTF-8") from None
    if size > limit:
        raise ValueError(f"{what} is larger than {limit} bytes")
    return value


def payload_sha256(decision_info: dict | None, deletion_info: dict | None, patch: str | None) -> str:
    """SHA-256 (hex) of the canonical payload a human is asked to approve."""
    body = {"decision_info": decision_info, "deletion_info": deletion_info, "patch": patch}
    return hashlib.sha256(canonical_json(body)).hexdigest()
