"""The workspace on disk: one writer at a time, containment checks, fingerprints, backup and restore."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from autopack.governance.patchset import PatchError


@contextmanager
def workspace_lock(root: Path, timeout: float) -> Iterator[None]:
    """Serialise applies to one workspace across threads and processes (a lock file outside it)."""
    key = hashlib.sha256(str(root).encode()).hexdigest()[:16]
    lock_path = Path(tempfile.gettempdir()) / f"autopack-workspace-{key}.lock"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)  # shared /tmp: no symlinks
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise PatchError("workspace is busy with another patch; try again") from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def resolve_root(path: Path) -> Path:
    """The workspace's real location; PatchError when it is not a directory."""
    root = Path(os.path.realpath(path))
    if not root.is_dir():
        raise PatchError(f"workspace {path} does not exist or is not a directory")
    return root


def containment_reason(root: Path, rel: str) -> str | None:
    """Why `rel` is unsafe on disk (a symlink on the way, or outside `root`); None if it is fine."""
    current = root
    for part in rel.split("/"):
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except FileNotFoundError:
            break  # the rest does not exist yet: nothing on the way can redirect the write
        if stat.S_ISLNK(mode):
            return f"path goes through a symlink: {rel}"
    real = os.path.realpath(root / rel)
    if os.path.commonpath([real, str(root)]) != str(root):
        return f"path resolves outside the workspace: {rel}"
    return None


def fingerprint(root: Path, paths: Iterable[str]) -> str:
    """SHA-256 over the state of `paths` (content and mode, or absence): the staleness check."""
    digest = hashlib.sha256()
    for rel in sorted(set(paths)):
        target = root / rel
        try:
            info = os.lstat(target)
        except FileNotFoundError:
            state = "absent"
        else:
            if stat.S_ISLNK(info.st_mode):
                state = "symlink:" + os.readlink(target)
            elif stat.S_ISREG(info.st_mode):
                with open(target, "rb") as fh:
                    content = hashlib.file_digest(fh, "sha256").hexdigest()
                state = f"file:{stat.S_IMODE(info.st_mode):o}:{content}"
            else:
                state = "other"
        digest.update(f"{rel}\0{state}\n".encode("utf-8", errors="surrogateescape"))
    return digest.hexdigest()


@dataclass
class Backup:
    """Copies of the touched files (and the git index) in a directory outside the workspace."""

    root: Path
    store: Path
    files: dict[str, int | None] = field(default_factory=dict)  # rel → mode, None when absent
    missing_dirs: list[Path] = field(default_factory=list)
    index: Path | None = None

    @classmethod
    def take(cls, root: Path, store: Path, paths: Iterable[str], index: Path | None = None) -> Backup:
        """Copy every existing path into `store`; remember which paths and directories did not exist."""
        backup = cls(root=root, store=store)
        missing: set[Path] = set()
        for number, rel in enumerate(sorted(set(paths))):
            target = root / rel
            parent = target.parent
            while parent != root and not parent.exists():
                missing.add(parent)
                parent = parent.parent
            if target.is_symlink():  # containment checks refuse these first; never back one up
                raise PatchError(f"path is a symlink: {rel}")
            if target.is_file():
                shutil.copy2(target, store / f"{number}.bak")
                backup.files[rel] = stat.S_IMODE(target.stat().st_mode)
            else:
                backup.files[rel] = None
        backup.missing_dirs = sorted(missing, key=lambda p: len(p.parts), reverse=True)
        if index is not None and index.is_file():
            backup.index = store / "index.bak"
            shutil.copy2(index, backup.index)
        return backup

    def restore_index(self, index: Path | None) -> None:
        """Put the git index back (a three-way apply stages its result and may leave conflicts)."""
        if index is not None and self.index is not None:
            shutil.copy2(self.index, index)

    def restore(self, index: Path | None = None) -> None:
        """Return every touched path to its saved state and remove directories the apply created."""
        for number, rel in enumerate(sorted(self.files)):
            target, mode = self.root / rel, self.files[rel]
            if target.is_symlink() or target.is_file():
                target.unlink()
            elif target.is_dir() and mode is not None:
                shutil.rmtree(target)
            if mode is not None:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(self.store / f"{number}.bak", target)
                os.chmod(target, mode)
        for directory in self.missing_dirs:
            try:
                directory.rmdir()
            except OSError:
                pass  # not empty or already gone: it held something other than our files
        self.restore_index(index)
