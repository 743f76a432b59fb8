"""RS256 signing keys: from configuration, or generated once into the data directory.

Keys in `<data dir>/jwt_keys/<kid>.pem` (0600) are shared by every worker and restart; `active`
names the signing key. Rotation adds a key and switches `active`; older keys stay in the JWKS
(and keep verifying) until retired, so nobody is logged out.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from autopack.core.fs import atomic_write_text
from autopack.core.secrets import write_private_file
from autopack.core.settings import get_settings

_lock = threading.Lock()
_cache: dict[tuple, KeyRing] = {}


@dataclass(frozen=True)
class SigningKey:
    """One RSA key pair with its key id."""

    kid: str
    private_key: rsa.RSAPrivateKey

    @property
    def public_pem(self) -> str:
        """The public key in PEM (its sha256 is the kid, as the reference)."""
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def jwk(self) -> dict:
        """The public JWK for the JWKS document."""
        data = jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**data, "alg": "RS256", "use": "sig", "kid": self.kid}


@dataclass(frozen=True)
class KeyRing:
    """The signing key and every key still accepted for verification."""

    active: SigningKey
    keys: dict[str, SigningKey]
    source: str  # "env" | "file" | "generated"


def _load_private(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.replace("\\n", "\n").encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 2048:
        raise ValueError("JWT private key must be an RSA key of at least 2048 bits")
    return key


def _signing_key(private: rsa.RSAPrivateKey) -> SigningKey:
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return SigningKey(hashlib.sha256(pem.encode()).hexdigest(), private)


def key_dir() -> Path:
    """Where generated keys live."""
    return get_settings().data_dir.resolve() / "jwt_keys"


def _generate_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _dir_state(folder: Path) -> tuple:
    try:
        return tuple(sorted((p.name, p.stat().st_mtime_ns) for p in folder.iterdir()))
    except FileNotFoundError:
        return ()


def _locked(folder: Path):
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle = open(folder / ".lock", "a")
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def _ensure_generated(folder: Path) -> None:
    """Create the first key exactly once, even with several workers starting together."""
    if (folder / "active").exists():
        return
    with _locked(folder) as handle:
        if not (folder / "active").exists():
            key = _signing_key(_load_private(_generate_pem().decode()))
            write_private_file(folder / f"{key.kid}.pem", _pem_bytes(key))
            atomic_write_text(folder / "active", key.kid + "\n", durable=True)
        handle.close()


def _pem_bytes(key: SigningKey) -> bytes:
    return key.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption())


def _read_dir(folder: Path) -> KeyRing:
    keys = {}
    for path in sorted(folder.glob("*.pem")):
        key = _signing_key(_load_private(path.read_text()))
        keys[key.kid] = key
    active_kid = (folder / "active").read_text().strip()
    if active_kid not in keys:
        raise RuntimeError(f"active JWT key {active_kid} is missing from {folder}")
    return KeyRing(keys[active_kid], keys, "generated")


def keyring() -> KeyRing:
    """The current key ring (configuration wins; otherwise the data directory, re-read on change)."""
    settings = get_settings()
    if settings.jwt_private_key is not None or settings.jwt_private_key_file is not None:
        pem = (settings.jwt_private_key.get_secret_value() if settings.jwt_private_key
               else settings.jwt_private_key_file.read_text())
        cache_key = ("env", hashlib.sha256(pem.encode()).hexdigest())
        if cache_key not in _cache:
            key = _signing_key(_load_private(pem))
            _cache[cache_key] = KeyRing(key, {key.kid: key}, "env")
        return _cache[cache_key]
    folder = key_dir()
    _ensure_generated(folder)
    cache_key = ("dir", str(folder), _dir_state(folder))
    ring = _cache.get(cache_key)
    if ring is None:
        with _lock:
            ring = _read_dir(folder)
            _cache.clear()
            _cache[cache_key] = ring
    return ring


def rotate() -> SigningKey:
    """Generate a new signing key; the old ones stay valid for verification."""
    if get_settings().jwt_private_key is not None or get_settings().jwt_private_key_file is not None:
        raise RuntimeError("JWT keys come from configuration (JWT_PRIVATE_KEY); rotate them there")
    folder = key_dir()
    _ensure_generated(folder)
    with _locked(folder) as handle:
        key = _signing_key(_load_private(_generate_pem().decode()))
        write_private_file(folder / f"{key.kid}.pem", _pem_bytes(key))
        atomic_write_text(folder / "active", key.kid + "\n", durable=True)
        handle.close()
    return key


def retire(kid: str) -> None:
    """Remove a non-active key: tokens it signed stop verifying."""
    folder = key_dir()
    ring = keyring()
    if kid == ring.active.kid:
        raise ValueError("cannot retire the active key; rotate first")
    if kid not in ring.keys:
        raise KeyError(kid)
    os.unlink(folder / f"{kid}.pem")
