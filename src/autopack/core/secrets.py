"""The server secret: AUTOPACK_SECRET_KEY, or one generated once into the data directory (0600)."""

from __future__ import annotations

import hashlib
import secrets
from functools import lru_cache
from pathlib import Path

from autopack.core.fs import create_exclusive_under, open_under, read_at
from autopack.core.settings import get_settings

SECRET_FILE = "secret.key"


@lru_cache(maxsize=4)
def _load(configured: str | None, data_dir: str) -> bytes:
    if configured:
        return hashlib.sha256(configured.encode()).digest()
    # Create-only and never through a symlink: a planted `secret.key` link would hand us a secret
    # someone else knows (or make us write ours where they can read it), so it is refused instead.
    create_exclusive_under(Path(data_dir), SECRET_FILE, secrets.token_urlsafe(48), mode=0o600)
    with open_under(Path(data_dir), create=False) as fd:
        stored = read_at(fd, SECRET_FILE)
    if stored is None:
        raise RuntimeError(f"{SECRET_FILE} vanished from {data_dir} while it was being read")
    return hashlib.sha256(stored.strip()).digest()


@lru_cache(maxsize=4)
def _resolved(data_dir: Path) -> str:
    # Resolving walks every component of the path (about 0.15 ms); the secret it names is loaded
    # once anyway (_load), so a link in the path moved later would not change the secret either.
    return str(data_dir.resolve())


def server_secret() -> bytes:
    """32 bytes shared by every worker and instance that shares the configuration or data dir."""
    settings = get_settings()
    configured = settings.secret_key.get_secret_value() if settings.secret_key else None
    return _load(configured, _resolved(settings.data_dir))


@lru_cache(maxsize=64)
def _derived(secret: bytes, purpose: str) -> bytes:
    return hashlib.sha256(secret + b"|" + purpose.encode()).digest()


def derive_key(purpose: str) -> bytes:
    """A purpose-specific 32-byte key derived from the server secret."""
    return _derived(server_secret(), purpose)
