"""Encryption at rest for credential secrets: Fernet with a key derived from the server secret."""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken

from autopack.core.secrets import derive_key

# Changing the purpose string makes every stored secret unreadable: it is part of the key.
KEY_PURPOSE = "oauth-credentials/fernet/v1"


class CredentialDecryptError(RuntimeError):
    """A stored secret cannot be decrypted (AUTOPACK_SECRET_KEY or the data dir's secret.key changed)."""


@lru_cache(maxsize=4)
def _fernet(raw_key: bytes) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(raw_key))


def cipher() -> Fernet:
    """The Fernet cipher for the current server secret (AUTOPACK_SECRET_KEY or data dir secret.key)."""
    return _fernet(derive_key(KEY_PURPOSE))


def encrypt(plaintext: str | None) -> str | None:
    """Encrypt a secret for storage; None and "" stay None (no secret)."""
    if not plaintext:
        return None
    return cipher().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str | None) -> str | None:
    """Decrypt a stored secret; None stays None."""
    if token is None:
        return None
    try:
        return cipher().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError) as exc:
        raise CredentialDecryptError(
            "Stored OAuth secret cannot be decrypted: the server secret (AUTOPACK_SECRET_KEY or "
            "<AUTOPACK_DATA_DIR>/secret.key) is not the one it was encrypted with"
        ) from exc
