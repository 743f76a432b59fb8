"""The /ui/storage console page: scans, progress, candidates by category, decide, dry run, execute, restore."""

from __future__ import annotations

import os

from autopack.auth.privileges import APPROVER
from autopack.storage import worker
from tests.storage.conftest import put
from tests.web.helpers import enter, page_csrf, user

KEY = "storage-console-key"


def test_the_storage_page_drives_the_whole_cycle(storage_root, make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_API_KEY", KEY)  # authentication in force: deciding is a privilege
    client = make_client()
    user("ann", roles=(APPROVER,))
    user("viewer")
    log = put(storage_root / "proj" / "logs" / "old.log", b"x" * 100)
    put(storage_root / "proj" / "web" / "node_modules" / "m.js", b"y" * 10)
    os.utime(storage_root / "proj" / "web" / "node_modules", (0, 0))

    enter(client, "viewer")
    page = client.get("/ui/storage")
    assert page.status_code == 200 and "scanning and deciding need the approver role" in page.text
    csrf = page_csrf(client, "/ui/storage")
    refused = client.post("/ui/storage/scan", data={"csrf_token": csrf, "scan_target": str(storage_root)},
                          follow_redirects=False)
    assert refused.status_code == 403

    enter(client, "ann")
    csrf = page_csrf(client, "/ui/storage")
    assert client.post("/ui/storage/scan", data={"scan_target": str(storage_root)}).status_code == 403  # no CSRF
    started = client.post("/ui/storage/scan", data={"csrf_token": csrf, "scan_target": str(storage_root),
                                                    "max_items": "20000"}, follow_redirects=False)
    assert started.status_code == 303
    scan_path = started.headers["location"]
    queued = client.get(scan_path)
    assert "queued" in queued.text and 'http-equiv="refresh"' in queued.text  # progress refreshes itself
    scan_id = int(scan_path.rsplit("/", 1)[1])
    assert worker.claim_next("ui") == scan_id and worker.run_scan(scan_id, "ui") == "completed"
    page = client.get(scan_path).text
    assert "diagnostics_logs" in page and "dev_caches" in page and str(log) in page
    ids = [c["id"] for c in client.get(f"/storage/scans/{scan_id}", headers={"X-API-Key": KEY}).json()["candidates"]]

    decided = client.post(f"{scan_path}/decide", data={"csrf_token": csrf, "candidate_id": [str(i) for i in ids],
                                                       "decision": "approve"}, follow_redirects=False)
    assert decided.status_code == 303
    dry = client.post(f"{scan_path}/execute", data={"csrf_token": csrf, "dry_run": "1"})
    assert dry.status_code == 200 and "Dry run" in dry.text and log.exists()
    real = client.post(f"{scan_path}/execute", data={"csrf_token": csrf, "dry_run": "0"})
    assert "Executed" in real.text and not log.exists()
    restored = client.post(f"{scan_path}/restore", data={"csrf_token": csrf})
    assert "Restored" in restored.text and log.read_bytes() == b"x" * 100
    assert "Storage" in client.get("/ui/runs").text  # in the header's navigation
