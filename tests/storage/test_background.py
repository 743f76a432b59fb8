"""Background scans: a 100,000-file tree, progress while running, cancel, a lost lease, files deleted mid-scan."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest
from sqlalchemy import update

from autopack.core.database import session_scope
from autopack.db.base import utcnow
from autopack.db.models import StorageScan
from autopack.storage import walker, worker
from tests.storage.conftest import put

FILES, PER_DIR = 100_000, 1000


def make_tree(tree) -> None:
    """FILES entries: folders of PER_DIR - 1 empty files and one old log (os.open relative to the folder)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    for d in range(FILES // PER_DIR):
        folder = tree / f"d{d:03d}"
        folder.mkdir(parents=True)
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for f in range(PER_DIR - 1):
                os.close(os.open(f"f{f:04d}.dat", flags, dir_fd=fd))
        finally:
            os.close(fd)
        put(folder / "old.log", b"")


@pytest.fixture(scope="module")
def big_tree(tmp_path_factory):
    """The 100,000-file tree, once per module (in memory under /dev/shm when there is one: 4x faster)."""
    from pathlib import Path

    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    root = Path(tempfile.mkdtemp(prefix="autopack-bigtree-", dir=shm)) if shm else tmp_path_factory.mktemp("big")
    make_tree(root / "tree")
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _queue(client, target, **extra) -> int:
    response = client.post("/storage/scan", json={"scan_type": "directory", "scan_target": str(target),
                                                  "max_depth": 5, "max_items": 1_000_000, **extra})
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "queued"
    return response.json()["id"]


@pytest.fixture
def big_client(big_tree, make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_STORAGE_ROOTS", str(big_tree))
    monkeypatch.setenv("AUTOPACK_STORAGE_WORKER", "0")
    return make_client()


def test_a_100000_file_tree_scans_in_the_background_with_progress(big_client, big_tree, monkeypatch):
    monkeypatch.setattr(walker, "CHECK_EVERY", 20_000)  # a few progress writes, not hundreds
    scan_id = _queue(big_client, big_tree / "tree")
    seen = []
    progress = worker._progress

    def watching(*args):
        ok = progress(*args)
        seen.append(big_client.get(f"/storage/scans/{scan_id}").json()["scan"])
        return ok

    monkeypatch.setattr(worker, "_progress", watching)
    assert worker.claim_next("w1") == scan_id
    assert worker.claim_next("w2") is None  # claimed once
    assert worker.run_scan(scan_id, "w1", checkpoint_seconds=0) == "completed"
    assert seen and seen[0]["status"] == "running" and 0 < seen[0]["total_items_scanned"] < FILES
    assert [s["total_items_scanned"] for s in seen] == sorted(s["total_items_scanned"] for s in seen)
    done = big_client.get(f"/storage/scans/{scan_id}?limit=10").json()
    assert done["scan"]["status"] == "completed" and done["scan"]["total_items_scanned"] == FILES + 100
    assert done["scan"]["cleanup_candidates_count"] == 100 and done["candidates_total"] == 100
    assert len(done["candidates"]) == 10


def test_cancel_stops_a_running_scan(big_client, big_tree, monkeypatch):
    monkeypatch.setattr(walker, "CHECK_EVERY", 20_000)
    scan_id = _queue(big_client, big_tree / "tree")
    calls = []
    progress = worker._progress

    def cancelling(*args):
        calls.append(1)
        if len(calls) == 2:
            assert big_client.post(f"/storage/scans/{scan_id}/cancel").status_code == 200
        return progress(*args)

    monkeypatch.setattr(worker, "_progress", cancelling)
    assert worker.claim_next("w1") == scan_id
    assert worker.run_scan(scan_id, "w1", checkpoint_seconds=0) == "stopped"
    body = big_client.get(f"/storage/scans/{scan_id}").json()
    assert body["scan"]["status"] == "cancelled" and body["candidates"] == []
    assert big_client.post(f"/storage/scans/{scan_id}/cancel").status_code == 409


def test_a_queued_scan_cancels_at_once(big_client, big_tree):
    scan_id = _queue(big_client, big_tree / "tree")
    assert big_client.post(f"/storage/scans/{scan_id}/cancel").json()["status"] == "cancelled"
    assert worker.claim_next("w1") is None


def test_an_expired_lease_is_taken_over_and_the_old_worker_stops(storage_client, storage_root):
    put(storage_root / "a.log")
    scan_id = _queue(storage_client, storage_root)
    assert worker.claim_next("dead") == scan_id
    with session_scope() as session:
        session.execute(update(StorageScan).values(lease_until=utcnow()))
    assert worker.claim_next("alive") == scan_id
    assert worker.run_scan(scan_id, "dead") == "stopped"  # its claim is gone: it writes nothing
    assert worker.run_scan(scan_id, "alive") == "completed"
    body = storage_client.get(f"/storage/scans/{scan_id}").json()
    assert body["scan"]["cleanup_candidates_count"] == 1 and len(body["candidates"]) == 1


def test_files_deleted_mid_scan_are_skipped(storage_client, storage_root, monkeypatch):
    folder = storage_root / "busy"
    folder.mkdir()
    for i in range(600):  # more than one checkpoint's worth of entries in the one folder
        os.close(os.open(folder / f"f{i:04d}", os.O_WRONLY | os.O_CREAT))
    scan_id = _queue(storage_client, storage_root)
    progress = worker._progress
    deleted = []

    def deleting(*args):
        if not deleted:
            for name in os.listdir(folder):
                os.unlink(folder / name)
                deleted.append(name)
        return progress(*args)

    monkeypatch.setattr(worker, "_progress", deleting)
    assert worker.claim_next("w") == scan_id
    assert worker.run_scan(scan_id, "w", checkpoint_seconds=0) == "completed"
    scan = storage_client.get(f"/storage/scans/{scan_id}").json()["scan"]
    assert scan["skipped_entries"] > 0 and scan["total_items_scanned"] <= 601


def test_the_worker_tick_runs_queued_scans(storage_client, storage_root):
    put(storage_root / "x.log")
    ids = [_queue(storage_client, storage_root) for _ in range(2)]
    assert worker.run_storage_jobs(worker_id="tick") == 2
    statuses = [storage_client.get(f"/storage/scans/{i}").json()["scan"]["status"] for i in ids]
    assert statuses == ["completed", "completed"]


def test_the_app_runs_its_worker(storage_root, make_client, monkeypatch):
    import time

    put(storage_root / "w.log")
    monkeypatch.setenv("AUTOPACK_STORAGE_WORKER", "1")
    monkeypatch.setenv("AUTOPACK_STORAGE_POLL_SECONDS", "3600")  # so only the wake-up can start it
    client = make_client()
    scan_id = _queue(client, storage_root)
    for _ in range(400):  # the worker thread of the app's lifespan, woken by the queueing, picks it up
        scan = client.get(f"/storage/scans/{scan_id}").json()["scan"]
        if scan["status"] == "completed":
            break
        time.sleep(0.05)
    assert scan["status"] == "completed" and scan["cleanup_candidates_count"] == 1
