"""Apply a validated patch with `git apply` (argument lists, no shell); a failure restores the workspace."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from autopack.governance.patchset import PatchError, PatchPlan
from autopack.governance.paths import unsafe_reason
from autopack.governance.validate import damage, snapshot
from autopack.governance.workspace import Backup, containment_reason

STRICT, IGNORE_WHITESPACE, THREE_WAY = (), ("--ignore-whitespace",), ("-3",)
_MAX_GIT_MESSAGE = 600


@dataclass(frozen=True)
class Workspace:
    """Where patches go, and how long git may take."""

    root: Path
    timeout: float
    max_file_bytes: int
    check_python: bool = True

    def git(self, *args: str, patch_file: Path | None = None) -> subprocess.CompletedProcess:
        """Run git in the workspace; never a shell, never looking for a repository above it."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update(GIT_CEILING_DIRECTORIES=str(self.root.parent), GIT_TERMINAL_PROMPT="0", LC_ALL="C")
        argv = ["git", "-c", f"safe.directory={self.root}", *args]
        if patch_file is not None:
            argv.append(str(patch_file))
        try:
            # Undecodable names come back as surrogates, which the path checks then refuse.
            return subprocess.run(argv, cwd=self.root, env=env, capture_output=True, encoding="utf-8",
                                  errors="surrogateescape", timeout=self.timeout, check=False)
        except subprocess.TimeoutExpired:
            raise PatchError(f"git {args[0]} timed out after {self.timeout:g}s") from None
        except FileNotFoundError:
            raise PatchError("git is not installed on the server") from None

    def is_repository(self) -> bool:
        """True only when the workspace itself is the top of a git work tree."""
        if not (self.root / ".git").exists():
            return False
        out = self.git("rev-parse", "--show-toplevel")
        return out.returncode == 0 and os.path.realpath(out.stdout.strip()) == str(self.root)

    def index_path(self) -> Path | None:
        """The repository's index file (worktrees keep it outside `.git/`)."""
        out = self.git("rev-parse", "--git-path", "index")
        return (self.root / out.stdout.strip()).resolve() if out.returncode == 0 else None


def _git_message(result: subprocess.CompletedProcess, patch_file: Path) -> str:
    text = (result.stderr or result.stdout or "git apply failed").replace(str(patch_file), "<patch>")
    text = "; ".join(line.strip() for line in text.strip().splitlines() if line.strip())
    return text[:_MAX_GIT_MESSAGE]


@contextmanager
def scratch_dir(root: Path) -> Iterator[Path]:
    """A private temporary directory, certainly not inside the workspace, removed afterwards."""
    scratch = Path(tempfile.mkdtemp(prefix="autopack-patch-"))
    try:
        if os.path.commonpath([os.path.realpath(scratch), str(root)]) == str(root):
            raise PatchError("the temporary directory lies inside the workspace; set TMPDIR elsewhere")
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


REPAIRED_NAME = "patch-repaired.diff"


def write_candidates(plan: PatchPlan, scratch: Path) -> list[Path]:
    """The patch as sent, then (when it has CRLF line ends) normalised to LF, as the reference did,
    then (when it differs) the LLM-output repair of it."""
    texts = [("patch-0.diff", plan.text)]
    if plan.has_crlf:
        texts.append(("patch-1.diff", plan.lf_text()))
    if plan.repaired is not None:
        texts.append((REPAIRED_NAME, plan.repaired))
    files = []
    for name, text in texts:
        path = scratch / name
        path.write_bytes(text.encode("utf-8"))
        files.append(path)
    return files


def check_git_paths(ws: Workspace, plan: PatchPlan, files: list[Path]) -> tuple[str, ...]:
    """Add git's own reading of the paths to unidiff's and check all of them on disk."""
    paths = set(plan.touched)
    errors = []
    for patch_file in files:
        out = ws.git("apply", "--numstat", "-z", patch_file=patch_file)
        if out.returncode != 0:
            errors.append(_git_message(out, patch_file))
            continue
        for entry in filter(None, out.stdout.split("\0")):  # "added\tdeleted\tpath" per file
            name = entry.split("\t", 2)[2] if entry.count("\t") >= 2 else entry
            if name:
                paths.add(name)
    if len(errors) == len(files):
        raise PatchError(f"malformed diff: {errors[0]}")
    for path in sorted(paths):
        reason = unsafe_reason(path) or containment_reason(ws.root, path)
        if reason:
            raise PatchError(reason)
    return tuple(sorted(paths))


def _modes(ws: Workspace) -> list[tuple[str, ...]]:
    # Three-way needs the blobs of a repository; elsewhere it would only fail differently.
    return [STRICT, IGNORE_WHITESPACE] + ([THREE_WAY] if ws.is_repository() else [])


def check_applies(ws: Workspace, files: list[Path]) -> None:
    """Raise PatchError unless `git apply --check` accepts the patch in some mode (nothing changes)."""
    first_error = None
    for mode in _modes(ws):
        for patch_file in files:
            out = ws.git("apply", "--check", *mode, patch_file=patch_file)
            if out.returncode == 0:
                return
            first_error = first_error or _git_message(out, patch_file)
    raise PatchError(first_error or "git apply --check failed")


def _verify_result(ws: Workspace, paths: tuple[str, ...]) -> None:
    """After applying: every touched path is inside the workspace, a plain file, within the size cap."""
    for rel in paths:
        target = ws.root / rel
        reason = containment_reason(ws.root, rel)
        if reason:
            raise PatchError(reason)
        if target.is_symlink() or (target.exists() and not target.is_file()):
            raise PatchError(f"apply produced something other than a regular file: {rel}")
        if target.is_file() and target.stat().st_size > ws.max_file_bytes:
            raise PatchError(f"{rel} would be {target.stat().st_size} bytes, over the "
                             f"{ws.max_file_bytes}-byte limit")


def apply_files(ws: Workspace, files: list[Path], paths: tuple[str, ...], scratch: Path) -> str:
    """Apply the first candidate git accepts; returns the mode. Any failure restores, then PatchError."""
    modes = _modes(ws)
    index = ws.index_path() if THREE_WAY in modes else None
    backup = Backup.take(ws.root, scratch, paths, index=index)
    health = snapshot(ws.root, paths, ws.check_python)
    first_error = None
    for mode in modes:
        for patch_file in files:
            out = ws.git("apply", "--check", *mode, patch_file=patch_file)
            if out.returncode != 0:
                first_error = first_error or _git_message(out, patch_file)
                continue
            try:
                out = ws.git("apply", *mode, patch_file=patch_file)
                if out.returncode != 0:  # e.g. a three-way merge that left conflict markers
                    raise PatchError(_git_message(out, patch_file))
                _verify_result(ws, paths)
                problem = damage(ws.root, health, ws.check_python)
                if problem:
                    raise PatchError(problem)
                if mode == THREE_WAY:  # a three-way apply stages its result: keep the old index
                    backup.restore_index(index)  # refused (a symlink in the way): undo the apply too
            except BaseException:  # whatever went wrong, never leave a half-applied workspace
                backup.restore(index)
                raise
            label = " ".join(mode) or "strict"
            return f"{label}, repaired diff" if patch_file.name == REPAIRED_NAME else label
    raise PatchError(first_error or "git apply --check failed")
