"""Scans over real trees: categories, reasons, protection, symlinks, unreadable and vanishing entries."""

from __future__ import annotations

import os

from tests.storage.conftest import age, candidates, put, scan


def _project(root):
    proj = root / "proj"
    put(proj / "node_modules" / "left-pad" / "index.js", b"x" * 300)
    put(proj / "node_modules" / "left-pad" / "package.json", b"{}")
    age(proj / "node_modules" / "left-pad")
    age(proj / "node_modules")
    put(proj / "logs" / "app.log", b"l" * 50)
    put(proj / "logs" / "fresh.log", b"f" * 10, age_days=1)  # inside the 90-day retention
    put(proj / "src" / "build" / "out.bin", b"s" * 70)  # top-level src is protected
    age(proj / "src" / "build")
    put(proj / ".git" / "hooks.log", b"g")  # never inside .git
    put(proj / "main.py", b"print()")
    put(proj / "keep.txt", b"k" * 5)
    return proj


def test_scan_classifies_with_the_reference_categories_and_reasons(storage_client, storage_root):
    proj = _project(storage_root)
    os.symlink(proj, proj / "loop")  # a loop: never followed
    os.symlink("/etc", proj / "outside")  # out of the root: never followed
    body = scan(storage_client, proj)
    assert body["status"] == "completed" and body["id"] > 0
    found = candidates(storage_client, body["id"])
    by_path = {c["path"]: c for c in found}
    assert set(by_path) == {str(proj / "node_modules"), str(proj / "logs" / "app.log")}
    modules = by_path[str(proj / "node_modules")]
    assert modules["category"] == "dev_caches" and modules["is_folder"] is True
    assert modules["size_bytes"] == 302 and modules["age_days"] >= 399
    assert modules["reason"].startswith("Matched category 'dev_caches'; not modified in 1 year(s)")
    assert "node_modules can be regenerated via npm install" in modules["reason"]
    log = by_path[str(proj / "logs" / "app.log")]
    assert log["category"] == "diagnostics_logs" and log["approval_status"] == "pending"
    assert "diagnostic logs can be archived or deleted" in log["reason"]
    assert [c["size_bytes"] for c in found] == sorted((c["size_bytes"] for c in found), reverse=True)
    assert body["cleanup_candidates_count"] == 2 and body["potential_savings_bytes"] == 352
    # every file counted once, the links as links (not their targets)
    files = 302 + 50 + 10 + 70 + 1 + 7 + 5
    links = os.lstat(proj / "loop").st_size + os.lstat(proj / "outside").st_size
    assert body["total_size_bytes"] == files + links
    stats = storage_client.get(f"/storage/scans/{body['id']}").json()["stats_by_category"]
    assert stats == {"dev_caches": {"count": 1, "total_size_bytes": 302, "approved_count": 0, "approved_size_bytes": 0},
                     "diagnostics_logs": {"count": 1, "total_size_bytes": 50, "approved_count": 0,
                                          "approved_size_bytes": 0}}


def test_unreadable_folders_and_vanishing_files_are_skipped(storage_client, storage_root, monkeypatch):
    proj = storage_root / "p"
    put(proj / "locked" / "old.log")
    put(proj / "ok" / "old.log", b"12345")
    real_scandir = os.scandir

    def scandir(path="."):
        if str(path) == str(proj / "locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr("autopack.storage.walker.os.scandir", scandir)
    body = scan(storage_client, proj)
    assert body["status"] == "completed" and body["skipped_entries"] == 1
    assert [c["path"] for c in candidates(storage_client, body["id"])] == [str(proj / "ok" / "old.log")]


def test_depth_and_item_limits(storage_client, storage_root):
    proj = storage_root / "deep"
    put(proj / "a" / "b" / "c" / "deep.log")
    put(proj / "top.log")
    shallow = scan(storage_client, proj, max_depth=2)
    assert [c["path"] for c in candidates(storage_client, shallow["id"])] == [str(proj / "top.log")]
    limited = scan(storage_client, proj, max_items=2)
    assert limited["total_items_scanned"] == 2 and limited["notes"] == "Stopped at max_items (2)"


def test_unsaved_scan_has_id_minus_one_and_stores_nothing(storage_client, storage_root):
    put(storage_root / "x.log")
    body = scan(storage_client, storage_root, save_to_db=False)
    assert body["id"] == -1 and body["cleanup_candidates_count"] == 1
    assert storage_client.get("/storage/scans").json() == []


def test_targets_outside_the_roots_are_refused(storage_client, storage_root, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    os.symlink(outside, storage_root / "escape")
    for target in (outside, storage_root / "escape", storage_root / ".." / "elsewhere", "/"):
        response = storage_client.post("/storage/scan", json={"scan_type": "directory", "scan_target": str(target)})
        assert response.status_code == 403, target
        assert response.json()["detail"].startswith("Scan target is outside the allowed storage roots")
    bad_type = storage_client.post("/storage/scan", json={"scan_type": "disk", "scan_target": str(storage_root)})
    assert bad_type.status_code == 400 and bad_type.json()["detail"] == "Invalid scan_type: disk"
    (storage_root / ".autopack-trash" / "b").mkdir(parents=True)
    trash = storage_client.post("/storage/scan", json={"scan_type": "directory",
                                                       "scan_target": str(storage_root / ".autopack-trash" / "b")})
    assert trash.status_code == 400
    missing = storage_client.post("/storage/scan", json={"scan_type": "directory",
                                                         "scan_target": str(storage_root / "nope")})
    assert missing.status_code == 400
    assert storage_client.get("/storage/scans").json() == []


def test_no_roots_configured_refuses_every_scan(make_client, monkeypatch, tmp_path):
    monkeypatch.delenv("AUTOPACK_STORAGE_ROOTS", raising=False)
    response = make_client().post("/storage/scan", json={"scan_type": "directory", "scan_target": str(tmp_path)})
    assert response.status_code == 403


def test_list_filters_and_detail(storage_client, storage_root):
    first = scan(storage_client, storage_root)
    put(storage_root / "sub" / "a.log")
    second = storage_client.post("/storage/scan", json={"scan_type": "drive", "scan_target": str(storage_root / "sub"),
                                                        "created_by": "ops"}).json()
    listed = storage_client.get("/storage/scans").json()
    assert [s["id"] for s in listed] == [second["id"], first["id"]]
    assert [s["id"] for s in storage_client.get("/storage/scans?scan_type=drive").json()] == [second["id"]]
    target = storage_client.get("/storage/scans", params={"scan_target": str(storage_root)}).json()
    assert [s["id"] for s in target] == [first["id"]]
    assert len(storage_client.get("/storage/scans?limit=1&offset=1").json()) == 1
    assert storage_client.get("/storage/scans?limit=999").status_code == 200  # capped, not refused
    assert storage_client.get("/storage/scans?since_days=-1").status_code == 422
    missing = storage_client.get("/storage/scans/999999")
    assert missing.status_code == 404 and missing.json()["detail"] == "Scan 999999 not found"
    detail = storage_client.get(f"/storage/scans/{second['id']}").json()
    assert set(detail) >= {"scan", "candidates", "stats_by_category"}
    assert detail["scan"]["created_by"] == "ops" and detail["candidates_total"] == 1


def test_an_unreadable_target_is_a_400_not_a_500(storage_client, storage_root, monkeypatch):
    real_scandir = os.scandir

    def scandir(path="."):
        if str(path) == str(storage_root):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr("autopack.storage.walker.os.scandir", scandir)
    response = storage_client.post("/storage/scan", json={"scan_type": "directory", "scan_target": str(storage_root)})
    assert response.status_code == 400 and response.json()["detail"] == "Scan target cannot be read: Permission denied"
    assert storage_client.get("/storage/scans").json() == []
