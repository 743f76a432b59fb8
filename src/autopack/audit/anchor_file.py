"""The anchor file: a sealed copy of every chain head, kept in the data directory, outside the database.

Format (UTF-8 JSON): {"version": 1, "written_at": "...", "chains": {"global": {"seq": N, "hash": "..."},
"tenant:<id>": {...}}, "seal": "<hex>"}; the seal is an HMAC over written_at and chains under the
head-seal key (`chain.anchor_seal`). It is replaced atomically (private temp file, fsync, rename) and
never read or written through a symlink at its own name.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autopack.audit.chain import GLOBAL_CHAIN, anchor_seal, anchor_seal_matches, format_timestamp
from autopack.core.settings import get_settings
from autopack.db.base import utcnow

ANCHOR_FILE = "audit-anchor.json"
LOCK_FILE = ".audit-anchor.lock"
ANCHOR_VERSION = 1
_MAX_BYTES = 64 * 1024 * 1024  # ~100 bytes a chain: room for hundreds of thousands of tenants
_HASH = re.compile(r"[0-9a-f]{64}")
_READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC  # NONBLOCK: a FIFO planted there can't hang us
_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC

Chains = dict[str, tuple[int, str]]  # chain key -> (seq, hash) of its head


class AnchorInvalid(ValueError):
    """An anchor that cannot be read or parsed, or whose seal does not match."""


@dataclass(frozen=True)
class Anchor:
    """A sealed set of chain heads."""

    written_at: str
    chains: Chains
    seal: str

    def to_json(self) -> str:
        """The file's text: chains sorted, indented, one trailing newline."""
        chains = {key: {"seq": seq, "hash": digest} for key, (seq, digest) in sorted(self.chains.items())}
        document = {"version": ANCHOR_VERSION, "written_at": self.written_at, "chains": chains, "seal": self.seal}
        return json.dumps(document, indent=2) + "\n"


def anchor_path() -> Path:
    """Where this installation keeps its anchor: `<AUTOPACK_DATA_DIR>/audit-anchor.json`."""
    return get_settings().data_dir / ANCHOR_FILE


def seal_anchor(chains: Chains) -> Anchor:
    """A new anchor of `chains`, stamped now and sealed under the current server secret."""
    written_at = format_timestamp(utcnow())
    return Anchor(written_at=written_at, chains=dict(chains), seal=anchor_seal(written_at, chains))


def _chain_key(key: Any) -> bool:
    if not isinstance(key, str):
        return False
    return key == GLOBAL_CHAIN or (key.startswith("tenant:") and 0 < len(key) - len("tenant:") <= 64)


def _chains(raw: Any) -> Chains:
    if not isinstance(raw, dict):
        raise AnchorInvalid("the anchor is malformed: chains is not an object")
    chains: Chains = {}
    for key, head in raw.items():
        seq = head.get("seq") if isinstance(head, dict) else None
        digest = head.get("hash") if isinstance(head, dict) else None
        if (not _chain_key(key) or type(seq) is not int or seq < 1
                or not isinstance(digest, str) or not _HASH.fullmatch(digest)):
            raise AnchorInvalid(f"the anchor is malformed at chain {str(key)[:80]!r}")
        chains[key] = (seq, digest)
    return chains


def parse_anchor(data: bytes, *, check_seal: bool = True) -> Anchor:
    """The anchor in `data`, or AnchorInvalid (`check_seal=False` only for re-sealing after a key change)."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise AnchorInvalid("the anchor is not valid JSON") from None
    if not isinstance(document, dict) or document.get("version") != ANCHOR_VERSION:
        raise AnchorInvalid(f"the anchor is malformed or not version {ANCHOR_VERSION}")
    written_at, seal = document.get("written_at"), document.get("seal")
    if not isinstance(written_at, str) or len(written_at) > 64 or not isinstance(seal, str):
        raise AnchorInvalid("the anchor is malformed: written_at or seal missing")
    chains = _chains(document.get("chains"))
    if check_seal and not anchor_seal_matches(written_at, chains, seal):
        raise AnchorInvalid("the anchor's seal does not match (forged, edited, or sealed under another "
                            "server secret)")
    return Anchor(written_at=written_at, chains=chains, seal=seal)


def read_anchor(path: Path, *, check_seal: bool = True, follow_symlinks: bool = False) -> Anchor | None:
    """The anchor at `path`, None when there is none, AnchorInvalid when it cannot be trusted.

    The stored anchor is opened with O_NOFOLLOW: a symlink at its name is refused, never followed.
    """
    try:
        fd = os.open(path, _READ_FLAGS | (0 if follow_symlinks else os.O_NOFOLLOW))
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise AnchorInvalid("the anchor path is a symlink (refused, not followed)") from None
        raise AnchorInvalid(f"the anchor cannot be read: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise AnchorInvalid("the anchor path is not a regular file")
        data = fh.read(_MAX_BYTES + 1)
    if len(data) > _MAX_BYTES:
        raise AnchorInvalid("the anchor is larger than 64 MiB")
    return parse_anchor(data, check_seal=check_seal)


@contextmanager
def _directory(path: Path) -> Iterator[int]:
    # The data directory is configuration and may itself be a symlink; only the anchor's name is ours.
    path.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        yield fd
    finally:
        os.close(fd)


def write_anchor(path: Path, anchor: Anchor) -> None:
    """Replace the anchor at `path` atomically, mode 0600, through a private temp file and a rename."""
    data = anchor.to_json().encode("utf-8")
    with _directory(path.parent) as dir_fd:
        temp = f".{path.name}.{secrets.token_hex(8)}.tmp"
        fd = os.open(temp, _NEW_FILE_FLAGS, 0o600, dir_fd=dir_fd)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)  # a crash leaves the old anchor or the new one, never an empty file
            finally:
                os.close(fd)
            # rename replaces a symlink at the name itself; it never writes through one
            # No fsync of the directory: a rename lost in a crash leaves the older anchor, which is
            # only behind the ledger (still valid), and the next commit writes it again.
            os.replace(temp, path.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(temp, dir_fd=dir_fd)
            raise


@contextmanager
def anchor_lock(path: Path) -> Iterator[None]:
    """Hold the anchor's lock (a file beside it), so writers in every process read, merge and write in turn."""
    with _directory(path.parent) as dir_fd:
        fd = os.open(LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dir_fd)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # per open file: threads of one process take turns too
            yield
        finally:
            os.close(fd)
