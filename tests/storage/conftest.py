"""Storage tests: a storage root in a temp dir, the scan worker off (tests run it themselves)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

DAY = 86_400
OLD = 400  # days: beyond every retention window


def put(path: Path, data: bytes = b"x", age_days: float = OLD) -> Path:
    """A file with `data`, last modified `age_days` ago (parents made)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    stamp = int((time.time() - age_days * DAY) * 1e9)
    os.utime(path, ns=(stamp, stamp))
    return path


def age(path: Path, age_days: float = OLD) -> None:
    """Set the mtime of a folder (after its contents were written)."""
    stamp = int((time.time() - age_days * DAY) * 1e9)
    os.utime(path, ns=(stamp, stamp), follow_symlinks=False)


@pytest.fixture
def storage_root(tmp_path, monkeypatch) -> Path:
    """An allowed storage root (AUTOPACK_STORAGE_ROOTS), the worker off."""
    root = tmp_path / "root"
    root.mkdir()
    monkeypatch.setenv("AUTOPACK_STORAGE_ROOTS", str(root))
    monkeypatch.setenv("AUTOPACK_STORAGE_WORKER", "0")
    return root


@pytest.fixture
def storage_client(storage_root, make_client):
    """A client on an app that knows the storage root."""
    return make_client()


def scan(client, target: Path, **extra) -> dict:
    """POST /storage/scan of a directory; the response JSON (asserted 200)."""
    response = client.post("/storage/scan", json={"scan_type": "directory", "scan_target": str(target),
                                                  "max_depth": 10, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def candidates(client, scan_id: int) -> list[dict]:
    """The scan's candidates, largest first."""
    response = client.get(f"/storage/scans/{scan_id}")
    assert response.status_code == 200, response.text
    return response.json()["candidates"]
