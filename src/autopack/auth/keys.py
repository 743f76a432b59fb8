"""RS256 signing keys: from configuration, or generated once into the data directory.

Keys in `<data dir>/jwt_keys/<kid>.pem` (0600) are shared by every worker and restart; `active`
names the signing key. Rotation adds a key and switches `active`; older keys stay in the JWKS
(and keep verifying) until retired, so nobody is logged out. The data directory is configuration;
below it nothing is reached through a symlink (core/fs.py): a linked folder, `.lock`, pem or
`active` could plant a key we would trust or send ours where someone else reads it.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from autopack.core.fs import (
    create_exclusive_at,
    exists_at,
    open_lock_at,
    open_under,
    read_at,
    subdir,
    unlink_under,
    write_at,
)
from autopack.core.settings import get_settings

KEY_FOLDER = "jwt_keys"
ACTIVE = "active"
_lock = threading.Lock()
_cache: dict[tuple, KeyRing] = {}
# Checking a token needs the ring on every request, and re-reading the folder's state costs about
# 0.2 ms: token checks take a ring at most this old (rotate and retire here refresh it at once; another
# process's rotation or retirement is seen within this time).
VERIFY_RING_MAX_AGE = 1.0
_verify_ring: tuple[float, object, KeyRing] | None = None


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


def _data_dir() -> Path:
    return get_settings().data_dir.resolve()


def key_dir() -> Path:
    """Where generated keys live."""
    return _data_dir() / KEY_FOLDER


@contextmanager
def _key_folder() -> Iterator[int]:
    """A descriptor of the key folder (created 0700 when missing), never reached through a symlink."""
    with open_under(_data_dir()) as root_fd:
        with suppress(FileExistsError):  # mkdir never follows a link at the name; subdir refuses one
            os.mkdir(KEY_FOLDER, 0o700, dir_fd=root_fd)
        with subdir(root_fd, KEY_FOLDER, create=False) as folder_fd:
            yield folder_fd


@contextmanager
def _locked(folder_fd: int) -> Iterator[None]:
    """Hold the key folder's lock file across processes (flock; the lock is not a symlink)."""
    fd = open_lock_at(folder_fd, ".lock")
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _new_key() -> SigningKey:
    return _signing_key(rsa.generate_private_key(public_exponent=65537, key_size=2048))


def _pem_bytes(key: SigningKey) -> bytes:
    return key.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption())


def _install_new_key(folder_fd: int) -> SigningKey:
    """Store a fresh key (create-only, 0600) and make it the active one; the caller holds the lock."""
    key = _new_key()
    create_exclusive_at(folder_fd, f"{key.kid}.pem", _pem_bytes(key), mode=0o600)
    write_at(folder_fd, ACTIVE, key.kid + "\n", mode=0o600, durable=True)
    return key


def _ensure_generated(folder_fd: int) -> None:
    """Create the first key exactly once, even with several workers starting together."""
    if exists_at(folder_fd, ACTIVE):
        return
    with _locked(folder_fd):
        if not exists_at(folder_fd, ACTIVE):
            _install_new_key(folder_fd)


def _dir_state(folder_fd: int) -> tuple:
    with os.scandir(folder_fd) as entries:
        return tuple(sorted((e.name, e.stat(follow_symlinks=False).st_mtime_ns) for e in entries))


def _read_dir(folder_fd: int) -> KeyRing:
    keys = {}
    for name in sorted(n for n in os.listdir(folder_fd) if n.endswith(".pem")):
        pem = read_at(folder_fd, name)  # UnsafePath for a symlink: a linked pem would be trusted
        if pem is None:
            continue  # retired since the listing
        key = _signing_key(_load_private(pem.decode()))
        keys[key.kid] = key
    active = read_at(folder_fd, ACTIVE)
    active_kid = active.decode().strip() if active is not None else None
    if active_kid not in keys:
        raise RuntimeError(f"active JWT key {active_kid} is missing from {key_dir()}")
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
    with _key_folder() as folder_fd:
        _ensure_generated(folder_fd)
        cache_key = ("dir", str(key_dir()), _dir_state(folder_fd))
        ring = _cache.get(cache_key)
        if ring is None:
            with _lock:
                ring = _read_dir(folder_fd)
                _cache.clear()
                _cache[cache_key] = ring
    return ring


def verification_ring() -> KeyRing:
    """The key ring for checking tokens: `keyring()`, re-read when older than VERIFY_RING_MAX_AGE."""
    global _verify_ring
    settings, now = get_settings(), time.monotonic()
    held = _verify_ring
    if held is not None and held[1] is settings and now - held[0] < VERIFY_RING_MAX_AGE:
        return held[2]
    ring = keyring()
    _verify_ring = (now, settings, ring)
    return ring


def _forget_verification_ring() -> None:
    global _verify_ring
    _verify_ring = None


def rotate() -> SigningKey:
    """Generate a new signing key; the old ones stay valid for verification."""
    if get_settings().jwt_private_key is not None or get_settings().jwt_private_key_file is not None:
        raise RuntimeError("JWT keys come from configuration (JWT_PRIVATE_KEY); rotate them there")
    with _key_folder() as folder_fd:
        _ensure_generated(folder_fd)
        with _locked(folder_fd):
            key = _install_new_key(folder_fd)
    _forget_verification_ring()
    return key


def retire(kid: str) -> None:
    """Remove a non-active key: tokens it signed stop verifying."""
    ring = keyring()
    if kid == ring.active.kid:
        raise ValueError("cannot retire the active key; rotate first")
    if kid not in ring.keys:
        raise KeyError(kid)
    unlink_under(_data_dir(), f"{KEY_FOLDER}/{kid}.pem")
    _forget_verification_ring()
