"""Backup and restore of the workspace never follow a folder swapped for a symlink (take, restore, index)."""

from __future__ import annotations

import os
import shutil
import stat

import pytest

from autopack.governance import apply as apply_module
from autopack.governance.patchset import PatchError
from autopack.governance.workspace import Backup
from tests.governance.helpers import make_patch, snapshot, submit


@pytest.fixture
def workspace(tmp_path):
    root = tmp_path / "ws"
    (root / "src" / "autopack").mkdir(parents=True)
    (root / "src" / "autopack" / "models.py").write_text("MODELS = 1\n")
    (root / "a.txt").write_text("alpha\n")
    (root / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(root / "run.sh", 0o755)
    os.utime(root / "a.txt", ns=(1_000_000_000, 1_000_000_000))
    return root


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "store"
    path.mkdir()
    return path


def _outside_tree(path) -> dict[str, str]:
    return {str(p.relative_to(path)): p.read_text() if p.is_file() else "<dir>" for p in sorted(path.rglob("*"))}


def _modes(root) -> dict[str, tuple[int, int]]:
    return {rel: (stat.S_IMODE(os.lstat(root / rel).st_mode), os.lstat(root / rel).st_mtime_ns)
            for rel in snapshot(root) if not rel.endswith("/")}


def test_restore_puts_a_normal_workspace_back_exactly(workspace, store):
    before, modes = snapshot(workspace), _modes(workspace)
    paths = ["a.txt", "run.sh", "src/autopack/models.py", "pkg/sub/new.py", "a.txt/impossible", "gone.txt"]
    backup = Backup.take(workspace, store, paths)
    # What an apply might do: edit, chmod, delete, replace a file by a folder, create folders.
    (workspace / "run.sh").write_text("changed\n")
    os.chmod(workspace / "run.sh", 0o644)
    (workspace / "src" / "autopack" / "models.py").unlink()
    (workspace / "src" / "autopack" / "models.py").mkdir()
    (workspace / "src" / "autopack" / "models.py" / "inner.py").write_text("x\n")
    (workspace / "a.txt").unlink()
    (workspace / "pkg" / "sub").mkdir(parents=True)
    (workspace / "pkg" / "sub" / "new.py").write_text("new\n")
    (workspace / "gone.txt").write_text("created\n")
    backup.restore()
    assert snapshot(workspace) == before
    assert _modes(workspace) == modes  # permissions and times too, as copy2 kept them


@pytest.mark.parametrize("swapped", ["src", "src/autopack"])
@pytest.mark.parametrize("outside_kind", ["file", "dir"])
def test_a_folder_swapped_for_a_symlink_before_restore_is_not_followed(workspace, store, outside, swapped,
                                                                        outside_kind):
    backup = Backup.take(workspace, store, ["a.txt", "src/autopack/models.py", "src/autopack/new.py"])
    (workspace / "a.txt").write_text("patched\n")
    (workspace / "src" / "autopack" / "models.py").write_text("MODELS = 2\n")
    (workspace / "src" / "autopack" / "new.py").write_text("NEW = 1\n")
    # Outside, the same names the restore will look for: a file to overwrite or a folder to rmtree.
    mirror = outside / "autopack" if swapped == "src" else outside
    mirror.mkdir(exist_ok=True)
    if outside_kind == "file":
        (mirror / "models.py").write_text("outside models\n")
    else:
        (mirror / "models.py").mkdir()
        (mirror / "models.py" / "precious.txt").write_text("outside data\n")
    (mirror / "new.py").write_text("outside new\n")
    expected_outside = _outside_tree(outside)
    os.rename(workspace / swapped, workspace / "moved-away")
    (workspace / swapped).symlink_to(outside, target_is_directory=True)

    with pytest.raises(PatchError) as refused:
        backup.restore()

    assert _outside_tree(outside) == expected_outside
    assert "src/autopack/models.py" in refused.value.reason and "src/autopack/new.py" in refused.value.reason
    assert (workspace / swapped).is_symlink()
    assert (workspace / "a.txt").read_text() == "alpha\n"  # everything else was still restored


def test_a_folder_the_apply_created_swapped_for_a_symlink_is_not_emptied(workspace, store, outside):
    backup = Backup.take(workspace, store, ["pkg/new.py"])
    (outside / "new.py").write_text("outside new\n")
    (workspace / "pkg").symlink_to(outside)
    with pytest.raises(PatchError, match="pkg/new.py"):
        backup.restore()
    assert _outside_tree(outside) == {"new.py": "outside new\n", "target.txt": "outside\n"}
    assert (workspace / "pkg").is_symlink()


def test_take_refuses_a_symlinked_folder_and_copies_nothing(workspace, store, outside):
    (workspace / "linked").symlink_to(outside)
    with pytest.raises(PatchError, match="path goes through a symlink: linked/target.txt"):
        Backup.take(workspace, store, ["a.txt", "linked/target.txt"])
    assert not any(name.endswith(".bak") and (store / name).read_text() == "outside\n" for name in os.listdir(store))


def test_take_refuses_a_symlinked_file(workspace, store, outside):
    (workspace / "link.txt").symlink_to(outside / "target.txt")
    with pytest.raises(PatchError, match="path is a symlink: link.txt"):
        Backup.take(workspace, store, ["link.txt"])


def test_the_index_is_not_restored_through_a_symlinked_git_folder(workspace, store, outside):
    (workspace / ".git").mkdir()
    index = workspace / ".git" / "index"
    index.write_bytes(b"DIRC original")
    backup = Backup.take(workspace, store, ["a.txt"], index=index)
    index.write_bytes(b"DIRC staged by a three-way apply")
    shutil.move(workspace / ".git", workspace / "git-moved")
    (outside / "index").write_bytes(b"outside index")
    (workspace / ".git").symlink_to(outside)
    with pytest.raises(PatchError, match="git index not restored"):
        backup.restore(index)
    assert (outside / "index").read_bytes() == b"outside index"


def test_the_index_is_put_back_in_a_normal_repository(workspace, store):
    (workspace / ".git").mkdir()
    index = workspace / ".git" / "index"
    index.write_bytes(b"DIRC original")
    backup = Backup.take(workspace, store, ["a.txt"], index=index)
    index.write_bytes(b"DIRC staged")
    backup.restore_index(index)
    assert index.read_bytes() == b"DIRC original"
    assert sorted(os.listdir(workspace / ".git")) == ["index"]  # no temp file left


def test_a_failed_apply_does_not_restore_through_a_folder_swapped_mid_apply(gov_client, repo, outside,
                                                                             monkeypatch):
    """End to end: the folder is swapped while git runs; the restore refuses it and says so (422)."""
    patch = make_patch(repo, lambda c: (c / "src/autopack/tool.py").write_text("TOOL = 2\n"))
    (outside / "autopack").mkdir()
    (outside / "autopack" / "tool.py").write_text("outside tool\n")
    expected_outside = _outside_tree(outside)

    def swap_then_fail(root, health, check_python):
        os.rename(root / "src", root / "src-moved")
        (root / "src").symlink_to(outside)
        return "simulated damage"

    monkeypatch.setattr(apply_module, "damage", swap_then_fail)
    response = submit(gov_client, patch)
    assert response.status_code == 422, response.text
    assert "workspace not fully restored" in response.json()["detail"]
    assert "src/autopack/tool.py" in response.json()["detail"]
    assert _outside_tree(outside) == expected_outside
