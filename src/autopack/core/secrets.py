"""The server secret: AUTOPACK_SECRET_KEY, or one generated once into the data directory (0600)."""

from __future__ import annotations

import hashlib
import os
import secrets
import tempfile
from functools import lru_cache
from pathlib import Path

from autopack.core.settings import get_settings

SECRET_FILE = "secret.key"


def write_private_file(path: Path, data: bytes) -> bool:
    """Create `path` (mode 0600) with `data` unless it exists; True when this call created it.

    The content is written to a private temp file first and hard-linked into place, so a process
    racing us sees either no file or the whole file, never an empty one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return False
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        os.unlink(tmp)


@lru_cache(maxsize=4)
def _load(configured: str | None, data_dir: str) -> bytes:
    if configured:
        return hashlib.sha256(configured.encode()).digest()
    path = Path(data_dir) / SECRET_FILE
    write_private_file(path, secrets.token_urlsafe(48).encode())
    return hashlib.sha256(path.read_bytes().strip()).digest()


def server_secret() -> bytes:
    """32 bytes shared by every worker and instance that shares the configuration or data dir."""
    settings = get_settings()
    configured = settings.secret_key.get_secret_value() if settings.secret_key else None
    return _load(configured, str(settings.data_dir.resolve()))


def derive_key(purpose: str) -> bytes:
    """A purpose-specific 32-byte key derived from the server secret."""
    return hashlib.sha256(server_secret() + b"|" + purpose.encode()).digest()
