"""Secrets and signing keys in the data directory: created once, 0600, never through a symlink below it."""

from __future__ import annotations

import multiprocessing
import os
import stat
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from autopack.auth import keys
from autopack.core import fs, secrets
from autopack.core.settings import get_settings


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A fresh data directory with no configured secret or JWT key."""
    path = tmp_path / "data"
    path.mkdir()
    monkeypatch.setenv("AUTOPACK_DATA_DIR", str(path))
    for name in ("AUTOPACK_SECRET_KEY", "JWT_PRIVATE_KEY", "JWT_PRIVATE_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    secrets._load.cache_clear()
    yield path
    secrets._load.cache_clear()


def _tree(path) -> dict[str, str]:
    return {str(p.relative_to(path)): p.read_text() if p.is_file() else "<dir>" for p in sorted(path.rglob("*"))}


def _mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def _pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


# --- core/fs.py: the create-only, lock and unlink helpers ---------------------------------------

def test_create_exclusive_is_exactly_private_and_never_replaces(root):
    old_umask = os.umask(0)  # the mode must not depend on the umask
    try:
        assert fs.create_exclusive_under(root, "keys/one.pem", b"first") is True
        assert fs.create_exclusive_under(root, "keys/one.pem", b"second") is False
    finally:
        os.umask(old_umask)
    assert _tree(root) == {"keys": "<dir>", "keys/one.pem": "first"}  # no temp file left
    assert _mode(root / "keys" / "one.pem") == 0o600


@pytest.mark.parametrize("kind", ["file", "dangling"])
def test_create_exclusive_refuses_a_planted_symlink(root, outside, kind):
    target = outside / ("keep.txt" if kind == "file" else "stolen.key")
    (root / "secret.key").symlink_to(target)
    with pytest.raises(fs.UnsafePath):
        fs.create_exclusive_under(root, "secret.key", b"our secret")
    assert _tree(outside) == {"keep.txt": "outside data"}
    assert os.listdir(root) == ["secret.key"]


def test_create_exclusive_refuses_a_symlinked_folder(root, outside):
    (root / "jwt_keys").symlink_to(outside)
    with pytest.raises(fs.UnsafePath):
        fs.create_exclusive_under(root, "jwt_keys/k.pem", b"private key")
    assert _tree(outside) == {"keep.txt": "outside data"}


def _race(root, barrier, results, number) -> None:
    barrier.wait()
    results.put((number, fs.create_exclusive_under(root, "secret.key", f"value-{number}")))


def test_racing_processes_end_with_one_whole_file(root):
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(6), ctx.Queue()
    workers = [ctx.Process(target=_race, args=(root, barrier, results, n)) for n in range(6)]
    for worker in workers:
        worker.start()
    outcomes = dict(results.get(timeout=60) for _ in workers)
    for worker in workers:
        worker.join(timeout=60)
    winners = [number for number, created in outcomes.items() if created]
    assert len(winners) == 1
    assert (root / "secret.key").read_text() == f"value-{winners[0]}"
    assert os.listdir(root) == ["secret.key"]


def test_open_lock_at_creates_a_private_lock_and_refuses_links(root, outside):
    with fs.open_under(root) as dir_fd:
        fd = fs.open_lock_at(dir_fd, ".lock")
        os.close(fd)
        (root / "linked.lock").symlink_to(outside / "created-by-us")
        (root / "linked-file.lock").symlink_to(outside / "keep.txt")
        for name in ("linked.lock", "linked-file.lock"):
            with pytest.raises(fs.UnsafePath):
                fs.open_lock_at(dir_fd, name)
    assert _mode(root / ".lock") == 0o600 & ~_umask()
    assert _tree(outside) == {"keep.txt": "outside data"}


def test_unlink_under_removes_a_link_not_its_target_and_refuses_a_linked_folder(root, outside):
    (root / "keys").mkdir()
    (root / "keys" / "old.pem").symlink_to(outside / "keep.txt")
    assert fs.unlink_under(root, "keys/old.pem") is True
    assert fs.unlink_under(root, "keys/old.pem") is False
    (root / "linked").symlink_to(outside)
    with pytest.raises(fs.UnsafePath):
        fs.unlink_under(root, "linked/keep.txt")
    assert _tree(outside) == {"keep.txt": "outside data"}


# --- core/secrets.py: secret.key -----------------------------------------------------------------

def test_the_generated_secret_is_private_and_stable(data_dir):
    first = secrets.server_secret()
    secrets._load.cache_clear()
    assert secrets.server_secret() == first
    assert _mode(data_dir / secrets.SECRET_FILE) == 0o600
    assert os.listdir(data_dir) == [secrets.SECRET_FILE]


@pytest.mark.parametrize("kind", ["known", "dangling"])
def test_a_symlinked_secret_key_is_refused(data_dir, outside, kind):
    """A link to a file someone else can read (or will read) must not become the server secret."""
    target = outside / ("keep.txt" if kind == "known" else "stolen.key")
    (data_dir / secrets.SECRET_FILE).symlink_to(target)
    with pytest.raises(fs.UnsafePath):
        secrets.server_secret()
    assert _tree(outside) == {"keep.txt": "outside data"}


def test_a_symlinked_data_dir_is_configuration(tmp_path, data_dir, monkeypatch):
    link = tmp_path / "data-link"
    link.symlink_to(data_dir)
    monkeypatch.setenv("AUTOPACK_DATA_DIR", str(link))
    get_settings.cache_clear()
    secrets.server_secret()
    assert (data_dir / secrets.SECRET_FILE).is_file()


# --- auth/keys.py: jwt_keys/ ---------------------------------------------------------------------

def test_generated_keys_are_private_and_rotate_and_retire(data_dir):
    first = keys.keyring().active.kid
    second = keys.rotate().kid
    folder = data_dir / "jwt_keys"
    assert _mode(folder) == 0o700 & ~_umask()
    assert {_mode(folder / f"{kid}.pem") for kid in (first, second)} == {0o600}
    assert (folder / "active").read_text() == second + "\n"
    assert set(keys.keyring().keys) == {first, second}
    keys.retire(first)
    assert set(keys.keyring().keys) == {second}
    assert sorted(os.listdir(folder)) == sorted([".lock", "active", f"{second}.pem"])


def test_a_symlinked_key_folder_is_refused_and_nothing_lands_outside(data_dir, outside):
    (data_dir / "jwt_keys").symlink_to(outside)
    with pytest.raises(fs.UnsafePath):
        keys.keyring()
    with pytest.raises(fs.UnsafePath):
        keys.rotate()
    assert _tree(outside) == {"keep.txt": "outside data"}


def test_a_key_folder_planted_elsewhere_is_not_trusted(data_dir, outside):
    """A link to a folder holding someone's key would let them sign tokens we accept."""
    planted = keys._signing_key(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    (outside / f"{planted.kid}.pem").write_bytes(_pem(planted.private_key))
    (outside / "active").write_text(planted.kid + "\n")
    (data_dir / "jwt_keys").symlink_to(outside)
    with pytest.raises(fs.UnsafePath):
        keys.keyring()


@pytest.mark.parametrize("kind", ["dangling", "file"])
def test_a_symlinked_lock_file_is_refused(data_dir, outside, kind):
    folder = data_dir / "jwt_keys"
    folder.mkdir()
    (folder / ".lock").symlink_to(outside / ("made-by-us" if kind == "dangling" else "keep.txt"))
    with pytest.raises(fs.UnsafePath):
        keys.keyring()
    assert _tree(outside) == {"keep.txt": "outside data"}
    assert os.listdir(folder) == [".lock"]  # no key generated without the lock


def test_a_symlinked_pem_among_the_keys_is_refused(data_dir, outside):
    keys.keyring()
    planted = keys._signing_key(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    (outside / "planted.pem").write_bytes(_pem(planted.private_key))
    (data_dir / "jwt_keys" / f"{planted.kid}.pem").symlink_to(outside / "planted.pem")
    with pytest.raises(fs.UnsafePath):
        keys.keyring()


def test_a_symlink_planted_at_the_next_key_name_is_refused(data_dir, outside, monkeypatch):
    before = keys.keyring().active.kid
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    upcoming = keys._signing_key(private)
    monkeypatch.setattr(rsa, "generate_private_key", lambda **_: private)  # the kid is known in advance
    (data_dir / "jwt_keys" / f"{upcoming.kid}.pem").symlink_to(outside / "stolen.pem")
    with pytest.raises(fs.UnsafePath):
        keys.rotate()
    assert _tree(outside) == {"keep.txt": "outside data"}
    assert (data_dir / "jwt_keys" / "active").read_text() == before + "\n"  # not switched to it


def test_retire_refuses_a_key_folder_swapped_for_a_symlink(data_dir, outside):
    old = keys.keyring().active.kid
    keys.rotate()
    folder = data_dir / "jwt_keys"
    os.rename(folder, outside / "jwt_keys")
    folder.symlink_to(outside / "jwt_keys")
    with pytest.raises(fs.UnsafePath):
        keys.retire(old)
    assert (outside / "jwt_keys" / f"{old}.pem").is_file()


def test_workers_starting_together_share_one_key(data_dir):
    code = "from autopack.auth.keys import keyring; print(keyring().active.kid)"
    env = {**os.environ, "AUTOPACK_DATA_DIR": str(data_dir)}
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(3)]
    kids = {proc.communicate(timeout=120)[0].strip() for proc in procs}
    assert len(kids) == 1 and all(proc.returncode == 0 for proc in procs)
    pems = [name for name in os.listdir(data_dir / "jwt_keys") if name.endswith(".pem")]
    assert pems == [f"{kids.pop()}.pem"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
