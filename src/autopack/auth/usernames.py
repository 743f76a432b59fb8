"""Usernames: one normal form (NFKC), the case-folded key that must be unique, and what is refused."""

from __future__ import annotations

import unicodedata

from autopack.core.ids import hidden_character_problem, is_storable

MIN_LENGTH = 3
MAX_LENGTH = 50  # the width of users.username and users.username_key


def normalize_username(value: str) -> str:
    """The NFKC form a username is stored in (full-width "ｒｏｏｔ" is "root")."""
    return unicodedata.normalize("NFKC", value)


def username_key(value: str) -> str:
    """The uniqueness and login key: NFKC, case-folded ("ＲＯＯＴ", "Root" and "root" are one user)."""
    return unicodedata.normalize("NFKC", normalize_username(value).casefold())


def username_problem(value: str) -> str | None:
    """Why `value` cannot be registered as a username, or None when it can."""
    normal = normalize_username(value)
    hidden = hidden_character_problem(value, "username") or hidden_character_problem(normal, "username")
    if hidden:
        return hidden
    if not is_storable(normal):
        return "username must not contain NUL characters or unpaired surrogates"
    if normal != normal.strip():
        return "username must not start or end with whitespace"
    if not MIN_LENGTH <= len(normal) <= MAX_LENGTH or len(username_key(normal)) > MAX_LENGTH:
        return f"username must be {MIN_LENGTH} to {MAX_LENGTH} characters once normalised"
    return None
