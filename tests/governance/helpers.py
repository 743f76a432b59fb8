"""Real git workspaces for the governed-apply tests: build repositories, make patches with git itself."""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from autopack.core.database import session_scope

RUN_ID = "demo-20260110-120000"
FILES = {
    "a.txt": b"alpha\nbeta\ngamma\n",
    "old.txt": b"to be renamed\n",
    "gone.txt": b"to be deleted\n",
    "lines.txt": b"".join(f"line {i}\n".encode() for i in range(1, 11)),
    "crlf.txt": b"one\r\ntwo\r\nthree\r\n",
    "blob.bin": bytes(range(256)) * 4,
    "src/autopack/models.py": b"MODELS = 1\n",
    "src/autopack/tool.py": b"TOOL = 1\n",
    "config/settings.yaml": b"level: 1\n",
}


def git(repo: Path, *args: str) -> str:
    """Run git in `repo` and return stdout (fails the test on error)."""
    out = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return out.stdout


def write_files(root: Path, files: dict[str, bytes]) -> None:
    """Create `files` under `root`."""
    for rel, data in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def init_repo(root: Path, files: dict[str, bytes] = FILES) -> Path:
    """A git repository at `root` with `files` committed (identity set locally)."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q")
    git(root, "config", "user.email", "tests@autopack.invalid")
    git(root, "config", "user.name", "Autopack Tests")
    git(root, "config", "core.autocrlf", "false")
    write_files(root, files)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "initial")
    return root


def make_patch(repo: Path, change: Callable[[Path], None]) -> str:
    """The `git diff --binary` of `change` applied to a scratch clone of `repo` (repo stays untouched)."""
    with tempfile.TemporaryDirectory(prefix="autopack-test-clone-") as scratch:
        clone = Path(scratch) / "clone"
        subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True, capture_output=True)
        git(clone, "config", "core.autocrlf", "false")
        change(clone)
        git(clone, "add", "-A")
        out = subprocess.run(["git", "diff", "--cached", "--binary", "--full-index", "-M"], cwd=clone,
                             capture_output=True, check=True)
        return out.stdout.decode("utf-8")  # bytes: text mode would turn CRLF into LF


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every file (and symlink target) under `root` except .git: the state a failed apply must keep."""
    state: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            state[rel] = "link:" + os.readlink(path) if path.is_symlink() else path.read_bytes()
        for name in dirnames:
            rel = str((Path(dirpath) / name).relative_to(root))
            state.setdefault(rel + "/", "dir")
    return state


def porcelain(repo: Path) -> list[str]:
    """`git status --porcelain` lines (untracked files included)."""
    return [line for line in git(repo, "status", "--porcelain", "--untracked-files=all").splitlines() if line]


def scratch_dirs() -> set[str]:
    """Our temporary directories currently present (there must be none left after an apply)."""
    return {name for name in os.listdir(tempfile.gettempdir()) if name.startswith("autopack-patch-")}


def sha256(text: str) -> str:
    """Hex SHA-256 of `text` as UTF-8."""
    return hashlib.sha256(text.encode()).hexdigest()


def builder_body(patch: str, run_type: str = "autopack_maintenance", phase_id: str = "F1.1", **extra) -> dict:
    """A builder_result body carrying `patch`."""
    return {"run_id": RUN_ID, "phase_id": phase_id, "status": "success", "run_type": run_type,
            "patch_content": patch, **extra}


def submit(client, patch: str, phase_id: str = "F1.1", **extra):
    """POST builder_result for a maintenance run."""
    return client.post(f"/runs/{RUN_ID}/phases/{phase_id}/builder_result",
                       json=builder_body(patch, phase_id=phase_id, **extra))


def all_rows(model, **where) -> list:
    """ORM rows of `model` matching `where`, in id order."""
    with session_scope(writer=False) as session:
        return list(session.scalars(select(model).filter_by(**where).order_by(model.id)))
