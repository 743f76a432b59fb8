"""Argon2 password hashing (pwdlib), with equal-time rejection of unknown users."""

from __future__ import annotations

from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

_hasher = PasswordHash((Argon2Hasher(),))


def hash_password(password: str) -> str:
    """An Argon2id hash of `password`."""
    return _hasher.hash(password)


def verify_password(password: str, hashed: str) -> bool:
    """True when `password` matches `hashed`; never raises on malformed hashes."""
    try:
        return _hasher.verify(password, hashed)
    except Exception:
        return False


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("autopack-dummy-password-for-timing")


def burn_verification(password: str) -> None:
    """Spend the time of one verification, so unknown users are as slow as wrong passwords."""
    verify_password(password, _dummy_hash())
