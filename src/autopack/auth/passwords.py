"""Argon2 password hashing (pwdlib), with equal-time rejection of unknown users.

Hashes written by the reference server (bcrypt, `$2b$...`) still verify, the reference's way (the
first 72 characters of the password), and `needs_rehash` tells the login to replace them with Argon2.
"""

from __future__ import annotations

from functools import lru_cache

import bcrypt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

_argon2 = Argon2Hasher()
_hasher = PasswordHash((_argon2,))
_BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")


def hash_password(password: str) -> str:
    """An Argon2id hash of `password`."""
    return _hasher.hash(password)


def _verify_bcrypt(password: str, hashed: str) -> bool:
    # The reference hashed password[:72] (characters); bcrypt itself reads at most 72 bytes.
    return bcrypt.checkpw(password[:72].encode()[:72], hashed.encode())


def verify_password(password: str, hashed: str) -> bool:
    """True when `password` matches `hashed` (Argon2, or a reference bcrypt hash); never raises."""
    try:
        if hashed.startswith(_BCRYPT_PREFIXES):
            return _verify_bcrypt(password, hashed)
        return _hasher.verify(password, hashed)
    except Exception:
        return False


def needs_rehash(hashed: str) -> bool:
    """True for a hash that is not Argon2 with the current parameters (bcrypt from the reference)."""
    if hashed.startswith(_BCRYPT_PREFIXES):
        return True
    try:
        return not _argon2.identify(hashed) or _argon2.check_needs_rehash(hashed)
    except Exception:
        return True


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("autopack-dummy-password-for-timing")


def burn_verification(password: str) -> None:
    """Spend the time of one verification, so unknown users are as slow as wrong passwords."""
    verify_password(password, _dummy_hash())
