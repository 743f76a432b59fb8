"""The executor's side of the workspace: diff counts, governed apply, checks, and revert on failure."""

from __future__ import annotations

import base64
import hashlib
import json
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

from autopack.governance.governed import GovernedResult, governed_apply
from autopack.governance.patchset import PatchError, parse_patch
from autopack.governance.paths import outside_scope, unsafe_reason
from autopack.governance.workspace import containment_reason

MAX_OUTPUT = 4000


@dataclass(frozen=True)
class DiffCounts:
    """What a unified diff changes: files, lines added and removed."""

    files: tuple[str, ...]
    added: int
    removed: int


def diff_counts(patch: str) -> DiffCounts:
    """Count a unified diff's files and +/- lines (headers excluded); a malformed diff counts what it can."""
    files: list[str] = []
    added = removed = 0
    for line in patch.splitlines():
        if line.startswith("+++ ") or line.startswith("--- "):
            name = line[4:].split("\t")[0].strip()
            if name != "/dev/null":
                name = name[2:] if name[:2] in ("a/", "b/") else name
                if name not in files:
                    files.append(name)
        elif line.startswith("+"):
            added += 1
        elif line.startswith("-"):
            removed += 1
    return DiffCounts(tuple(files), added, removed)


class Snapshot:
    """The files a patch will touch, as they were before it: `restore()` puts them back."""

    def __init__(self, root: Path, paths: tuple[str, ...]):
        self.root = root
        self.saved: dict[str, bytes | None] = {}
        for rel in paths:
            target = root / rel
            self.saved[rel] = target.read_bytes() if target.is_file() else None

    @classmethod
    def of_patch(cls, root: Path, patch: str) -> Snapshot:
        """A snapshot of every path the patch names (empty when it cannot be parsed: nothing will apply)."""
        try:
            touched = parse_patch(patch, len(patch.encode()) + 1).touched
        except PatchError:
            return cls(root, ())
        # Only paths the governed apply could write: a hostile diff never makes restore() write elsewhere.
        return cls(root, tuple(p for p in touched if not (unsafe_reason(p) or containment_reason(root, p))))

    def restore(self) -> None:
        """Every saved file back to its old content; files the patch created removed."""
        for rel, content in self.saved.items():
            target = self.root / rel
            if content is None:
                target.unlink(missing_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)

    def save(self, file: Path) -> None:
        """Keep the snapshot on disk, so an executor that crashes mid-phase can undo it on resume."""
        file.parent.mkdir(parents=True, exist_ok=True)
        data = {rel: None if content is None else base64.b64encode(content).decode()
                for rel, content in self.saved.items()}
        file.write_text(json.dumps(data))

    @classmethod
    def load(cls, root: Path, file: Path) -> Snapshot | None:
        """The snapshot an earlier attempt saved at `file`, or None."""
        try:
            data = json.loads(file.read_text())
        except (OSError, ValueError):
            return None
        snapshot = cls(root, ())
        snapshot.saved = {rel: None if value is None else base64.b64decode(value) for rel, value in data.items()}
        return snapshot


def outside_of_scope(patch: str, allowed_paths: list[str]) -> list[str]:
    """The paths the patch touches that no scope path covers ([] without scope paths or when unparseable)."""
    if not allowed_paths:
        return []
    try:
        touched = parse_patch(patch, len(patch.encode()) + 1).touched
    except PatchError:
        return []  # the governed apply refuses it and says why
    return outside_scope(touched, allowed_paths)


def snapshot_file(root: Path, run_id: str, phase_id: str) -> Path:
    """Where a phase's snapshot is kept while it runs: inside `.git` when there is one (never committed)."""
    name = hashlib.sha256(f"{run_id}\0{phase_id}".encode()).hexdigest()[:32] + ".json"
    base = root / ".git" if (root / ".git").is_dir() else root / ".autopack-executor"
    return base / "autopack-executor" / name


def apply_patch(root: Path, patch: str, allowed_paths: list[str],
                waived: tuple[str, ...] = ()) -> GovernedResult:
    """The server's governed apply, in this workspace (protected paths beyond `waived` are a violation)."""
    return governed_apply(patch, allowed_paths=allowed_paths, waived_paths=waived, root=root)


@dataclass(frozen=True)
class CheckResult:
    """One check command's outcome."""

    command: str
    exit_code: int
    output: str
    duration: float


def run_checks(root: Path, commands: list[str], timeout: float) -> list[CheckResult]:
    """Run each command (no shell) in the workspace until one fails; a timeout is exit code 124."""
    import time

    results = []
    for command in commands:
        started = time.monotonic()
        try:
            done = subprocess.run(shlex.split(command), cwd=root, capture_output=True, text=True,
                                  timeout=timeout, check=False)
            code, output = done.returncode, (done.stdout + done.stderr)
        except subprocess.TimeoutExpired:
            code, output = 124, f"timed out after {timeout:g}s"
        except OSError as exc:
            code, output = 127, f"cannot run {command!r}: {exc.strerror or exc}"
        results.append(CheckResult(command, code, output[-MAX_OUTPUT:], time.monotonic() - started))
        if code != 0:
            break
    return results
