"""The workspace on disk: one writer at a time, containment checks, fingerprints, backup and restore."""

from __future__ import annotations

import errno
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
from pathlib import Path, PurePosixPath

from autopack.core.fs import UnsafePath, open_under, write_at
from autopack.core.logging import get_logger
from autopack.governance.patchset import PatchError

log = get_logger(__name__)


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
        except NotADirectoryError:
            return f"path goes through a file: {rel}"
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


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC  # NONBLOCK: a FIFO can't hang us
_NEW_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def _split(rel: str) -> tuple[tuple[str, ...], str]:
    """`rel` as (folders, name); PatchError for a path that could leave the workspace."""
    parts = PurePosixPath(rel).parts
    if not parts or PurePosixPath(rel).is_absolute() or ".." in parts:
        raise PatchError(f"path leaves the workspace: {rel}")
    return parts[:-1], parts[-1]


def _is_link(dir_fd: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _open_existing(root: Path, folders: tuple[str, ...]) -> tuple[int | None, int]:
    """(descriptor of `root/folders`, depth), or (None, folders that exist); UnsafePath at a symlink."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)  # the root is configuration
    for depth, part in enumerate(folders):
        try:
            child = os.open(part, _DIR_FLAGS, dir_fd=fd)
        except OSError as exc:
            # O_DIRECTORY|O_NOFOLLOW answers ENOTDIR for a symlink and for a file alike: look.
            link = exc.errno != errno.ENOENT and _is_link(fd, part)
            os.close(fd)
            if link:
                raise UnsafePath(errno.ELOOP, "symlink in the way", part) from None
            if exc.errno == errno.ENOENT:
                return None, depth
            if exc.errno == errno.ENOTDIR:
                return None, len(folders)  # a file where a folder should be: the path cannot exist
            raise
        os.close(fd)
        fd = child
    return fd, len(folders)


def _save(dir_fd: int, name: str, rel: str, dest: Path) -> int | None:
    """Copy regular file `name` to `dest` (content and times) and return its mode; None when absent."""
    try:
        src = os.open(name, _READ_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # containment checks refuse these first; never back one up
            raise PatchError(f"path is a symlink: {rel}") from None
        raise
    with os.fdopen(src, "rb") as fh:
        info = os.fstat(src)
        if not stat.S_ISREG(info.st_mode):
            return None  # a directory or something else: nothing a patch could have changed
        with open(dest, "xb") as out:
            shutil.copyfileobj(fh, out)
    os.utime(dest, ns=(info.st_atime_ns, info.st_mtime_ns))
    return stat.S_IMODE(info.st_mode)


def _clear(dir_fd: int, name: str, mode: int | None) -> None:
    """Remove what the apply left at `name` (a symlink itself, never what it names)."""
    try:
        kind = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISDIR(kind):
        if mode is not None:
            shutil.rmtree(name, dir_fd=dir_fd)  # fd-based: never leaves the directory it was given
    elif stat.S_ISLNK(kind) or stat.S_ISREG(kind) or mode is not None:
        os.unlink(name, dir_fd=dir_fd)


def _put(dir_fd: int, name: str, saved: Path, mode: int) -> None:
    """Create `name` afresh from the saved copy, with its mode and times."""
    fd = os.open(name, _NEW_FLAGS, 0o600, dir_fd=dir_fd)
    with os.fdopen(fd, "wb") as out, open(saved, "rb") as src:
        shutil.copyfileobj(src, out)
        out.flush()
        os.fchmod(fd, mode)
        times = os.fstat(src.fileno())
        os.utime(fd, ns=(times.st_atime_ns, times.st_mtime_ns))


def _remove_empty_dir(root: Path, rel: str) -> None:
    folders, name = _split(rel)
    try:
        fd, _ = _open_existing(root, folders)
        if fd is not None:
            try:
                os.rmdir(name, dir_fd=fd)  # rmdir never follows a symlink at `name`
            finally:
                os.close(fd)
    except OSError:
        pass  # not empty, already gone, or behind a symlink now: not ours to remove


# Backups reach every path from the workspace root one folder at a time with O_NOFOLLOW (openat): a
# folder swapped for a symlink while git runs (other processes write here too) can neither pull an
# outside file into the backup nor send a restore's unlink, rmtree, copy or chmod outside the workspace.
@dataclass
class Backup:
    """Copies of the touched files (and the git index) in a directory outside the workspace."""

    root: Path
    store: Path
    files: dict[str, int | None] = field(default_factory=dict)  # rel → mode, None when absent
    missing_dirs: list[str] = field(default_factory=list)  # relative, deepest first
    index: Path | None = None

    @classmethod
    def take(cls, root: Path, store: Path, paths: Iterable[str], index: Path | None = None) -> Backup:
        """Copy every existing path into `store`; remember which paths and directories did not exist."""
        backup = cls(root=root, store=store)
        missing: set[str] = set()
        for number, rel in enumerate(sorted(set(paths))):
            folders, name = _split(rel)
            try:
                fd, found = _open_existing(root, folders)
            except UnsafePath:
                raise PatchError(f"path goes through a symlink: {rel}") from None
            missing.update("/".join(folders[:end]) for end in range(found + 1, len(folders) + 1))
            if fd is None:
                backup.files[rel] = None
                continue
            try:
                backup.files[rel] = _save(fd, name, rel, store / f"{number}.bak")
            finally:
                os.close(fd)
        backup.missing_dirs = sorted(missing, key=lambda p: p.count("/"), reverse=True)
        if index is not None and index.is_file():
            backup.index = store / "index.bak"
            shutil.copy2(index, backup.index)
        return backup

    def restore_index(self, index: Path | None) -> None:
        """Put the git index back (a three-way apply stages its result and may leave conflicts)."""
        if index is None or self.index is None:
            return
        # Below the workspace no symlink is followed; a worktree's index lies outside it, in git's folder.
        base, rel = (self.root, index.relative_to(self.root)) if index.is_relative_to(self.root) else (
            index.parent, PurePosixPath(index.name))
        data = self.index.read_bytes()
        try:
            with open_under(base, rel.parent, create=False) as fd:
                write_at(fd, rel.name, data, mode=stat.S_IMODE(self.index.stat().st_mode))
        except UnsafePath:
            raise PatchError("git index not restored: a symlink is in the way") from None

    def _restore_file(self, rel: str, mode: int | None, saved: Path) -> None:
        folders, name = _split(rel)
        if mode is None:
            fd, _ = _open_existing(self.root, folders)
            if fd is None:
                return  # a folder on the way is gone: the path is absent, as it was
            try:
                _clear(fd, name, mode)
            finally:
                os.close(fd)
            return
        with open_under(self.root, PurePosixPath(*folders)) as fd:  # recreates removed folders
            _clear(fd, name, mode)
            _put(fd, name, saved, mode)

    def restore(self, index: Path | None = None) -> None:
        """Return every touched path to its saved state and remove directories the apply created."""
        refused = []
        for number, rel in enumerate(sorted(self.files)):
            try:
                self._restore_file(rel, self.files[rel], self.store / f"{number}.bak")
            except UnsafePath:
                refused.append(rel)  # restore the rest; report these below
        for directory in self.missing_dirs:
            _remove_empty_dir(self.root, directory)
        problems = [f"a symlink or file now stands where a folder was: {', '.join(refused)}"] if refused else []
        try:
            self.restore_index(index)
        except PatchError as exc:
            problems.append(exc.reason)
        if problems:
            log.warning("workspace_restore_refused", root=str(self.root), paths=refused, problems=problems)
            raise PatchError("workspace not fully restored: " + "; ".join(problems))
