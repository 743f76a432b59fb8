"""Run artifacts on disk (reference §8): list and read files under a run's layout directory.

Nothing here writes: a missing directory is an empty listing, never a new folder. Containment is
decided on real paths (symlinks resolved): the run directory must lie inside the runs directory, and
every file listed or read must lie inside the run directory.
"""

from __future__ import annotations

import codecs
import errno
import os
import re
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

from autopack.core.errors import AutopackError, BadRequest, Forbidden, NotFound
from autopack.core.settings import get_settings
from autopack.runs import layout

# A walk stops after this many files (the answer says `truncated`): a listing stays bounded.
MAX_SCAN_FILES = 100_000
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp"})
BROWSER_SUFFIXES = IMAGE_SUFFIXES | {".html"}
BROWSER_KEYWORDS = ("screenshot", "browser", "page", "capture")

TRAVERSAL = "Path traversal not allowed"
ABSOLUTE = "Absolute paths not allowed"
DRIVE = "Windows drive letters not allowed"
BACKSLASH = "Backslashes not allowed in paths"
CONTROL = "Control characters not allowed in paths"
ENCODED_SEPARATOR = "Encoded path separators not allowed"
_DRIVE_RE = re.compile(r"^[A-Za-z]:")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_MAX_UNQUOTE_ROUNDS = 4

_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
               | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))


@dataclass(frozen=True)
class ArtifactFile:
    """A regular file under a run directory."""

    path: str  # relative to the run directory, "/"-separated
    size_bytes: int
    modified_at: datetime


@dataclass(frozen=True)
class ArtifactContent:
    """The (possibly truncated) text of one artifact."""

    text: str
    original_size: int
    returned_size: int  # bytes of the file behind `text`
    truncated: bool


class RunDirOutside(Exception):
    """The run directory resolves (through a symlink) to a place outside the runs directory."""


def is_staging_name(name: str) -> bool:
    """Our atomic-write temp files (core/fs.py): `.<name>.<random>.tmp`."""
    return name.startswith(".") and name.endswith(".tmp")


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def run_root(run_id: str) -> Path | None:
    """The real path of the run's directory, None when there is none; RunDirOutside when it escapes."""
    runs_root = Path(os.path.realpath(get_settings().autonomous_runs_dir))
    candidate = layout.run_dir(run_id)
    try:
        real = Path(os.path.realpath(candidate))
        is_dir = real.is_dir()
    except (OSError, ValueError):
        return None
    if not is_dir:
        return None
    if real == runs_root or not real.is_relative_to(runs_root):
        raise RunDirOutside(str(candidate))
    return real


def _printable(name: str) -> bool:
    """A name a client can ask for again: valid UTF-8 (no surrogate escapes), no control characters."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return _CONTROL_RE.search(name) is None


def scan(root: Path) -> tuple[list[ArtifactFile], bool]:
    """Regular files under `root`, sorted by path, and whether the walk stopped at MAX_SCAN_FILES.

    Symlinked directories are not entered; a symlinked file is listed only when its target is a
    regular file inside `root`. Temp files of atomic writes, sockets, FIFOs and devices are skipped.
    """
    found: list[ArtifactFile] = []
    stack: list[tuple[str, str]] = [(str(root), "")]
    while stack:
        directory, prefix = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = list(it)
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            if not _printable(name):
                continue
            rel = prefix + name
            try:
                if entry.is_symlink():
                    if is_staging_name(name):
                        continue
                    target = Path(os.path.realpath(entry.path))
                    if not target.is_relative_to(root):
                        continue
                    info = target.stat()
                    if not stat.S_ISREG(info.st_mode):
                        continue
                elif entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, rel + "/"))
                    continue
                elif entry.is_file(follow_symlinks=False) and not is_staging_name(name):
                    info = entry.stat(follow_symlinks=False)
                else:
                    continue
            except (OSError, ValueError):
                continue  # vanished or unreadable meanwhile
            found.append(ArtifactFile(rel, info.st_size, datetime.fromtimestamp(info.st_mtime, UTC)))
            if len(found) >= MAX_SCAN_FILES:
                found.sort(key=lambda a: a.path)
                return found, True
    found.sort(key=lambda a: a.path)
    return found, False


def list_artifacts(run_id: str) -> tuple[list[ArtifactFile], bool]:
    """Every artifact file of a run ([] when it has no directory, or one that escapes the runs dir)."""
    try:
        root = run_root(run_id)
    except RunDirOutside:
        return [], False
    if root is None:
        return [], False
    return scan(root)


def browser_type(path: str) -> str | None:
    """"screenshot" for images, "html" for other browser artifacts, None for anything else."""
    name = path.rsplit("/", 1)[-1].lower()
    suffix = os.path.splitext(name)[1]
    if suffix in IMAGE_SUFFIXES:
        return "screenshot"
    if suffix in BROWSER_SUFFIXES or any(word in name for word in BROWSER_KEYWORDS):
        return "html"
    return None


def check_artifact_path(raw: str) -> list[str]:
    """The segments of a safe relative path; BadRequest for anything that could leave the directory.

    The framework has decoded the query once. The path is decoded again until it stops changing
    (at most a few rounds) and every form is checked, so `%2e%2e%2f` or `%252e%252e` hide nothing;
    a `%2F` or `%5C` that decodes to a separator is refused too. `..` is refused as a whole segment
    only: `a..b.txt` is a legal name.
    """
    forms = [raw]
    current = raw
    for _ in range(_MAX_UNQUOTE_ROUNDS):
        decoded = unquote(current)
        if decoded == current:
            break
        forms.append(decoded)
        current = decoded
    else:
        raise BadRequest(TRAVERSAL)  # still changing: nested encodings have no honest use
    for index, form in enumerate(forms):
        if any(part == ".." for part in re.split(r"[/\\]", form)):
            raise BadRequest(TRAVERSAL)
        if form.startswith(("/", "\\")):
            raise BadRequest(ABSOLUTE)
        if _DRIVE_RE.match(form):
            raise BadRequest(DRIVE)
        if "\\" in form:
            raise BadRequest(BACKSLASH)
        if _CONTROL_RE.search(form):
            raise BadRequest(CONTROL)
        if index and form.count("/") != raw.count("/"):
            raise BadRequest(ENCODED_SEPARATOR)
    return [part for part in raw.split("/") if part not in ("", ".")]


def read_artifact(run_id: str, raw_path: str, segments: list[str], max_bytes: int) -> ArtifactContent:
    """The text of one artifact: its first `max_bytes` bytes, UTF-8 decoded with replacement."""
    data, original, truncated = read_artifact_bytes(run_id, raw_path, segments, max_bytes)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    text = decoder.decode(data, final=not truncated)
    pending = len(decoder.getstate()[0])  # a multi-byte character cut by the cap is left out whole
    return ArtifactContent(text, original, len(data) - pending, truncated)


def read_artifact_bytes(run_id: str, raw_path: str, segments: list[str], max_bytes: int) -> tuple[bytes, int, bool]:
    """(first `max_bytes` bytes, the file's size, truncated) of one artifact, with every containment check."""
    not_found = NotFound(f"File not found: {raw_path}")
    try:
        root = run_root(run_id)
    except RunDirOutside:
        raise BadRequest(TRAVERSAL) from None
    if root is None:
        raise not_found
    try:
        real = Path(os.path.realpath(root.joinpath(*segments)))
    except (OSError, ValueError):
        raise not_found from None
    if not _inside(real, root):
        raise BadRequest(TRAVERSAL)
    if is_staging_name(real.name):
        raise not_found  # half-written temp file of an atomic write: not an artifact
    try:
        if real.is_dir():
            raise BadRequest(f"Path is a directory: {raw_path}")
        fd = os.open(real, _OPEN_FLAGS)
    except IsADirectoryError:
        raise BadRequest(f"Path is a directory: {raw_path}") from None
    except PermissionError:
        raise Forbidden(f"File not readable: {raw_path}") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a symlink swapped in after the containment check
            raise BadRequest(TRAVERSAL) from None
        raise not_found from None  # missing, name too long, ...
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise BadRequest(f"Path is a directory: {raw_path}")
        if not stat.S_ISREG(info.st_mode):
            raise BadRequest(f"Not a regular file: {raw_path}")
        data = _read_up_to(fd, max_bytes + 1)
    except AutopackError:
        raise
    except OSError:
        raise not_found from None
    finally:
        os.close(fd)
    truncated = len(data) > max_bytes
    data = data[:max_bytes]
    return data, max(info.st_size, len(data)), truncated


def _read_up_to(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    remaining = limit
    while remaining > 0:
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
