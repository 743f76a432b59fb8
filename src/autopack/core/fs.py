"""Writes that stay under their root: no symlink below the root is followed, and files are atomic.

Every file the server writes (run mirrors, issue JSON, error reports, notes) lives under a root
the operator configured. Other processes (the executor, people) write in the same folders, so a
directory or file on the way may be swapped for a symlink at any moment. Checking a resolved
path and then writing by name races with that swap; instead the directories are opened one at
a time from a descriptor of the root with O_NOFOLLOW (openat through `dir_fd`), and the file is
created and renamed relative to the last of them. A symlink anywhere below the root is refused,
never followed, however late it appears. The root itself is configuration and may be a symlink.

`write_under` raises `UnsafePath` on a refusal; mirrors use `safe_write` / `refusals_logged`,
which log a warning and skip the write instead: a mirror is a copy, the database is the record.
Secrets and signing keys are created once and never replaced (`create_exclusive_*`), their lock
files opened with `open_lock_at`, and removals go through `unlink_under`, all on the same walk.
"""

from __future__ import annotations

import errno
import json
import os
import random
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path, PurePosixPath
from typing import Any

from autopack.core.logging import get_logger

log = get_logger(__name__)

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC  # NONBLOCK: a FIFO can't hang us
_LOCK_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
# What openat answers for a symlink (ELOOP) or a file (ENOTDIR) where a directory should be.
_REFUSED = frozenset({errno.ELOOP, errno.ENOTDIR})
_TEMP_TRIES = 16
# Temp names need no secrecy (O_EXCL|O_NOFOLLOW decide, a taken name is retried), so no getrandom per file.
_names = random.Random()
os.register_at_fork(after_in_child=_names.seed)  # forked workers must not draw the same names

Relative = str | os.PathLike[str]


class UnsafePath(OSError):
    """A write refused: it would leave its root (`..`, absolute) or pass through a symlink."""


def _parts(relative: Relative, *, allow_empty: bool = False) -> tuple[str, ...]:
    """The components of a path relative to a root, refusing anything that could climb out of it."""
    text = os.fspath(relative)
    if "\x00" in text:
        raise UnsafePath(errno.EINVAL, "path contains NUL", text)
    path = PurePosixPath(text)
    if path.is_absolute() or ".." in path.parts:
        raise UnsafePath(errno.EXDEV, "path leaves its root", text)
    if not path.parts and not allow_empty:
        raise UnsafePath(errno.EINVAL, "empty path", text)
    return path.parts


def _check_name(name: str) -> None:
    if not name or name in {".", ".."} or "/" in name or "\x00" in name:
        raise UnsafePath(errno.EINVAL, "not a plain file name", name)


def _refusal(exc: OSError, name: str) -> OSError:
    if exc.errno in _REFUSED:
        return UnsafePath(exc.errno, "symlink or non-directory in the way", name)
    return exc


def _open_child_dir(dir_fd: int, name: str, *, create: bool) -> int:
    """A descriptor of directory `name` inside `dir_fd`, created when missing; never via a symlink."""
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        if not create:
            raise
    except OSError as exc:
        raise _refusal(exc, name) from None
    with suppress(FileExistsError):  # a concurrent writer made it; the open below checks what it is
        os.mkdir(name, dir_fd=dir_fd)
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        raise _refusal(exc, name) from None


def _open_root(root: Path, *, create: bool) -> int:
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC  # the root is configuration: a link is fine
    try:
        return os.open(root, flags)
    except FileNotFoundError:
        if not create:
            raise
    os.makedirs(root, exist_ok=True)
    return os.open(root, flags)


@contextmanager
def open_under(root: Path, relative_dir: Relative = "", *, create: bool = True) -> Iterator[int]:
    """A descriptor of `root/relative_dir`, reached without following any symlink below `root`."""
    parts = _parts(relative_dir, allow_empty=True)
    fd = _open_root(root, create=create)
    try:
        for part in parts:
            child = _open_child_dir(fd, part, create=create)
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


@contextmanager
def subdir(dir_fd: int, name: str, *, create: bool = True) -> Iterator[int]:
    """A descriptor of the directory `name` inside `dir_fd` (created when missing), never via a symlink."""
    _check_name(name)
    fd = _open_child_dir(dir_fd, name, create=create)
    try:
        yield fd
    finally:
        os.close(fd)


def _encode(data: str | bytes) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else data


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _create_temp(dir_fd: int, name: str, mode: int) -> tuple[str, int]:
    # `.<name>.<random>.tmp`: the artifact reader hides these (operator/artifacts.is_staging_name).
    for _ in range(_TEMP_TRIES):
        tmp = f".{name}.{_names.getrandbits(32):08x}.tmp"
        try:
            return tmp, os.open(tmp, _NEW_FILE_FLAGS, mode, dir_fd=dir_fd)
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", name)


def write_at(dir_fd: int, name: str, data: str | bytes, *, mode: int = 0o666, durable: bool = False) -> None:
    """Replace file `name` in directory `dir_fd` atomically (temp file + rename); refuse a symlink there."""
    # `mode` goes through the umask like any new file's. `durable` adds an fsync, which mirrors of
    # database state skip: the database is the record.
    _check_name(name)
    try:
        if stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode):
            raise UnsafePath(errno.ELOOP, "target is a symlink", name)
    except FileNotFoundError:
        pass
    tmp, fd = _create_temp(dir_fd, name, mode)
    try:
        try:
            _write_all(fd, _encode(data))
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        # rename replaces a symlink swapped in since the check above; it never writes through one.
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise


def write_new_at(dir_fd: int, name: str, data: str | bytes, *, mode: int = 0o666) -> None:
    """Create file `name` in `dir_fd` (it must not exist, not even as a symlink); for fresh directories."""
    _check_name(name)
    try:
        fd = os.open(name, _NEW_FILE_FLAGS, mode, dir_fd=dir_fd)
    except FileExistsError:
        raise UnsafePath(errno.EEXIST, "already exists", name) from None
    try:
        _write_all(fd, _encode(data))
    finally:
        os.close(fd)


def _require_regular(dir_fd: int, name: str) -> None:
    mode = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
    if stat.S_ISLNK(mode):
        raise UnsafePath(errno.ELOOP, "target is a symlink", name)
    if not stat.S_ISREG(mode):
        raise UnsafePath(errno.EINVAL, "not a regular file", name)


def create_exclusive_at(dir_fd: int, name: str, data: str | bytes, *, mode: int = 0o600) -> bool:
    """Create file `name` (exactly `mode`) in `dir_fd` unless it exists; True when this call created it."""
    # The content goes to a temp file, then is hard-linked into place: linkat neither replaces nor
    # follows the new name, so of processes racing here exactly one wins and none sees a partial file.
    # An existing entry that is not a regular file (a symlink) is refused rather than left to be read.
    _check_name(name)
    if exists_at(dir_fd, name):
        _require_regular(dir_fd, name)
        return False
    tmp, fd = _create_temp(dir_fd, name, mode)
    try:
        try:
            os.fchmod(fd, mode)  # exact, whatever the umask
            _write_all(fd, _encode(data))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
        except FileExistsError:
            _require_regular(dir_fd, name)
            return False
        os.fsync(dir_fd)
        return True
    finally:
        with suppress(FileNotFoundError):
            os.unlink(tmp, dir_fd=dir_fd)


def open_lock_at(dir_fd: int, name: str, *, mode: int = 0o600) -> int:
    """A descriptor of lock file `name` in `dir_fd` (created when missing) for flock; never via a symlink."""
    _check_name(name)
    try:
        fd = os.open(name, _LOCK_FLAGS, mode, dir_fd=dir_fd)
    except OSError as exc:
        raise _refusal(exc, name) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UnsafePath(errno.EINVAL, "not a regular file", name)
    return fd


def read_at(dir_fd: int, name: str) -> bytes | None:
    """The content of regular file `name` in `dir_fd`, None when missing; a symlink is refused."""
    _check_name(name)
    try:
        fd = os.open(name, _READ_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _refusal(exc, name) from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UnsafePath(errno.EINVAL, "not a regular file", name)
        return fh.read()


def make_temp_dir(dir_fd: int, prefix: str, *, mode: int = 0o777) -> str:
    """Create a fresh uniquely named directory inside `dir_fd` and return its name."""
    for _ in range(_TEMP_TRIES):
        name = f"{prefix}{_names.getrandbits(32):08x}"
        try:
            os.mkdir(name, mode, dir_fd=dir_fd)
            return name
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", prefix)


def exists_at(dir_fd: int, name: str) -> bool:
    """True when `dir_fd` holds an entry `name` of any kind (a symlink is not followed)."""
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        return True
    except FileNotFoundError:
        return False


def write_under(root: Path, relative: Relative, data: str | bytes, *, mode: int = 0o666,
                durable: bool = False) -> None:
    """Atomically replace `root/relative`, creating folders on the way; UnsafePath when refused."""
    *folders, name = _parts(relative)
    with open_under(root, PurePosixPath(*folders)) as dir_fd:
        write_at(dir_fd, name, data, mode=mode, durable=durable)


def create_exclusive_under(root: Path, relative: Relative, data: str | bytes, *, mode: int = 0o600) -> bool:
    """`create_exclusive_at` for `root/relative`, creating folders on the way; UnsafePath when refused."""
    *folders, name = _parts(relative)
    with open_under(root, PurePosixPath(*folders)) as dir_fd:
        return create_exclusive_at(dir_fd, name, data, mode=mode)


def unlink_under(root: Path, relative: Relative) -> bool:
    """Remove the entry `root/relative` (a symlink itself, never what it names); False when missing."""
    *folders, name = _parts(relative)
    try:
        with open_under(root, PurePosixPath(*folders), create=False) as dir_fd:
            os.unlink(name, dir_fd=dir_fd)
    except FileNotFoundError:
        return False
    return True


@contextmanager
def refusals_logged(root: Path, relative: Relative) -> Iterator[None]:
    """Skip the writes inside on a refusal, with a warning: a mirror must not fail its caller."""
    try:
        yield
    except UnsafePath as exc:
        # Names only: the data being written never reaches the log.
        log.warning("unsafe_write_refused", root=str(root), path=os.fspath(relative),
                    entry=exc.filename, reason=exc.strerror)


def safe_write(root: Path, relative: Relative, data: str | bytes, *, mode: int = 0o666) -> bool:
    """`write_under`, but a refusal is logged and skipped (False) rather than raised."""
    with refusals_logged(root, relative):
        write_under(root, relative, data, mode=mode)
        return True
    return False


def json_text(data: Any) -> str:
    """`data` as the mirrors store it: indented UTF-8 JSON with a final newline."""
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"


def atomic_write_text(path: Path, text: str, *, durable: bool = False) -> None:
    """Write a private (0600) file atomically in its folder; UnsafePath when `path` is a symlink."""
    # For data-directory files whose folder is configuration (JWT keys): a refusal is an error there.
    write_under(path.parent, path.name, text, mode=0o600, durable=durable)
