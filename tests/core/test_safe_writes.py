"""core/fs.py: writes stay under their root; a symlink anywhere below it is refused, never followed."""

from __future__ import annotations

import os
import shutil
import stat

import pytest

from autopack.core import fs


class _Recorder:
    """Stands in for the structlog logger to see what a refusal logs."""

    def __init__(self) -> None:
        self.warnings: list[tuple[str, dict]] = []

    def warning(self, event: str, **fields) -> None:
        self.warnings.append((event, fields))


@pytest.fixture
def logged(monkeypatch) -> _Recorder:
    recorder = _Recorder()
    monkeypatch.setattr(fs, "log", recorder)
    return recorder


def _tree(path) -> dict[str, str]:
    return {str(p.relative_to(path)): p.read_text() if p.is_file() else "<dir>" for p in sorted(path.rglob("*"))}


def test_writes_creates_folders_and_replaces_atomically(root):
    assert fs.safe_write(root, "a/b/c.md", "one") is True
    assert fs.safe_write(root, "a/b/c.md", "two") is True
    assert _tree(root) == {"a": "<dir>", "a/b": "<dir>", "a/b/c.md": "two"}  # no temp file left
    assert stat.S_IMODE(os.stat(root / "a/b/c.md").st_mode) == 0o666 & ~_umask()


def test_a_missing_root_is_created(tmp_path):
    root = tmp_path / "new" / "root"
    fs.write_under(root, "x.json", b"{}")
    assert (root / "x.json").read_bytes() == b"{}"


def test_a_symlinked_root_is_configuration_and_followed(tmp_path, root):
    link = tmp_path / "root-link"
    link.symlink_to(root)
    assert fs.safe_write(link, "d/f.txt", "via link") is True
    assert (root / "d" / "f.txt").read_text() == "via link"


@pytest.mark.parametrize("swapped", ["a", "a/b", "a/b/run"])
def test_a_directory_replaced_by_a_symlink_is_refused(root, outside, logged, swapped):
    (root / "a" / "b" / "run").mkdir(parents=True)
    shutil.rmtree(root / swapped)
    (root / swapped).symlink_to(outside, target_is_directory=True)
    target = "a/b/run/phases/p.md"
    assert fs.safe_write(root, target, "secret-free text") is False
    assert _tree(outside) == {"keep.txt": "outside data"}
    assert (root / swapped).is_symlink()
    [(event, fields)] = logged.warnings
    assert event == "unsafe_write_refused"
    assert fields["path"] == target and fields["entry"] == swapped.rsplit("/", 1)[-1]
    assert "secret-free text" not in repr(fields)


def test_write_under_raises_for_callers_that_must_know(root, outside):
    (root / "run").symlink_to(outside)
    with pytest.raises(fs.UnsafePath):
        fs.write_under(root, "run/x.md", "x")
    assert _tree(outside) == {"keep.txt": "outside data"}


@pytest.mark.parametrize("kind", ["file", "dir", "dangling"])
def test_a_target_replaced_by_a_symlink_is_refused(root, outside, logged, kind):
    (root / "run").mkdir()
    target = {"file": outside / "keep.txt", "dir": outside, "dangling": outside / "new.txt"}[kind]
    (root / "run" / "summary.md").symlink_to(target)
    assert fs.safe_write(root, "run/summary.md", "overwrite?") is False
    assert _tree(outside) == {"keep.txt": "outside data"}
    assert (root / "run" / "summary.md").is_symlink()
    assert [name for name in os.listdir(root / "run")] == ["summary.md"]  # no temp file left
    assert logged.warnings[0][1]["reason"] == "target is a symlink"


@pytest.mark.parametrize("relative", ["../escape.txt", "a/../../escape.txt", "/tmp/escape.txt", "", "a/\x00"])
def test_paths_that_leave_the_root_are_refused(root, tmp_path, logged, relative):
    assert fs.safe_write(root, relative, "x") is False
    assert not (tmp_path / "escape.txt").exists()
    assert _tree(root) == {}
    assert logged.warnings and logged.warnings[0][0] == "unsafe_write_refused"


def test_a_file_where_a_folder_should_be_is_refused(root, logged):
    (root / "run").write_text("a file")
    assert fs.safe_write(root, "run/x.md", "x") is False
    assert (root / "run").read_text() == "a file"


def test_an_open_folder_stays_bound_to_its_directory_not_its_name(root, outside):
    """A swap after the folder was opened redirects nothing: writes go to the directory opened (TOCTOU)."""
    with fs.open_under(root, "a/run") as run_fd:
        os.rename(root / "a", root / "moved")
        (root / "a").symlink_to(outside)
        fs.write_at(run_fd, "late.md", "late")
    assert (root / "moved" / "run" / "late.md").read_text() == "late"
    assert _tree(outside) == {"keep.txt": "outside data"}


def test_a_swap_between_walk_steps_is_refused(root, outside, monkeypatch):
    """The folder is swapped just before the walk opens it: openat with O_NOFOLLOW refuses the link."""
    (root / "a").mkdir()
    real_open = os.open

    def swapping_open(path, flags, *args, **kwargs):
        if path == "a" and kwargs.get("dir_fd") is not None and not (root / "a").is_symlink():
            os.rename(root / "a", root / "a.old")
            (root / "a").symlink_to(outside)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", swapping_open)
    with pytest.raises(fs.UnsafePath):
        fs.write_under(root, "a/b/x.md", "x")
    monkeypatch.undo()
    assert _tree(outside) == {"keep.txt": "outside data"}


def test_read_at_refuses_links_and_special_files(root, outside):
    (root / "notes.md").write_text("mine")
    (root / "link.md").symlink_to(outside / "keep.txt")
    os.mkfifo(root / "fifo")
    with fs.open_under(root) as fd:
        assert fs.read_at(fd, "notes.md") == b"mine"
        assert fs.read_at(fd, "missing.md") is None
        with pytest.raises(fs.UnsafePath):
            fs.read_at(fd, "link.md")
        with pytest.raises(fs.UnsafePath):
            fs.read_at(fd, "fifo")


def test_write_new_at_refuses_any_existing_entry(root, outside):
    (root / "taken.md").symlink_to(outside / "fresh.md")
    with fs.open_under(root) as fd:
        fs.write_new_at(fd, "new.md", "new")
        with pytest.raises(fs.UnsafePath):
            fs.write_new_at(fd, "taken.md", "x")
    assert (root / "new.md").read_text() == "new"
    assert _tree(outside) == {"keep.txt": "outside data"}


def test_file_names_cannot_carry_folders(root):
    with fs.open_under(root) as fd:
        for name in ("a/b", "..", ".", ""):
            with pytest.raises(fs.UnsafePath):
                fs.write_at(fd, name, "x")


def test_a_failed_replace_leaves_no_temp_file(root):
    (root / "target").mkdir()
    with fs.open_under(root) as fd, pytest.raises(IsADirectoryError):
        fs.write_at(fd, "target", "x")
    assert os.listdir(root) == ["target"]


def test_atomic_write_text_is_private_and_refuses_a_symlink(root, outside):
    path = root / "keys" / "active"
    fs.atomic_write_text(path, "kid\n", durable=True)
    assert path.read_text() == "kid\n" and stat.S_IMODE(path.stat().st_mode) == 0o600
    path.unlink()
    path.symlink_to(outside / "keep.txt")
    with pytest.raises(fs.UnsafePath):
        fs.atomic_write_text(path, "kid\n")
    assert (outside / "keep.txt").read_text() == "outside data"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
