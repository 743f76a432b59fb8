"""Approve / reject / defer, execute to the trash (dry run first), restore: nothing is lost."""

from __future__ import annotations

import hashlib
import json
import os

from sqlalchemy import select

from autopack.core.database import session_scope
from autopack.db.models import AuditEvent
from tests.storage.conftest import age, candidates, put, scan


def _tree_state(top):
    """Every path under `top` (the trash excluded) with its bytes' digest, and the links' targets."""
    state = {}
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = [d for d in dirnames if d != ".autopack-trash"]
        for name in filenames:
            path = os.path.join(dirpath, name)
            state[os.path.relpath(path, top)] = hashlib.sha256(open(path, "rb").read()).hexdigest()
        state[os.path.relpath(dirpath, top) + "/"] = "dir"
    return state


def _setup(root):
    proj = root / "proj"
    for i in range(3):
        put(proj / "logs" / f"old{i}.log", f"log {i}".encode() * (i + 1))
    put(proj / "web" / "node_modules" / "a" / "index.js", b"module")
    age(proj / "web" / "node_modules" / "a")
    age(proj / "web" / "node_modules")
    return proj


def _actions(prefix: str) -> list[str]:
    with session_scope(writer=False) as session:
        return [a for a in session.scalars(select(AuditEvent.action).order_by(AuditEvent.global_seq))
                if a.startswith(prefix)]


def _approve(client, scan_id, ids, decision="approve", **extra):
    return client.post(f"/storage/scans/{scan_id}/approve",
                       json={"candidate_ids": ids, "approved_by": "ops@example.com", "decision": decision, **extra})


def test_decisions_follow_the_reference_validation(storage_client, storage_root):
    proj = _setup(storage_root)
    first = scan(storage_client, proj)
    ids = [c["id"] for c in candidates(storage_client, first["id"])]
    assert _approve(storage_client, 999999, ids).json()["detail"] == "Scan 999999 not found"
    bad = _approve(storage_client, first["id"], ids, decision="maybe")
    assert bad.status_code == 400
    assert bad.json()["detail"] == "Invalid decision: maybe. Must be 'approve', 'reject', or 'defer'"
    unknown = _approve(storage_client, first["id"], [999999])
    assert unknown.status_code == 400 and unknown.json()["detail"] == "Invalid request parameters"
    # another scan's candidates are not this scan's to decide (the reference accepted them)
    other = scan(storage_client, proj)
    foreign = _approve(storage_client, other["id"], ids)
    assert foreign.status_code == 400
    assert _approve(storage_client, first["id"], "x").status_code == 422
    assert _actions("storage.") == []  # nothing recorded by refused calls

    ok = _approve(storage_client, first["id"], ids[:2], notes="old logs")
    assert ok.status_code == 200
    body = ok.json()
    assert body["decision"] == "approve" and body["total_candidates"] == 2 and body["approved_by"] == "ops@example.com"
    rejected = _approve(storage_client, first["id"], [ids[2]], decision="reject", notes="keep these").json()
    deferred = _approve(storage_client, first["id"], [ids[3]], decision="defer").json()
    assert rejected["total_candidates"] == deferred["total_candidates"] == 1
    status = {c["id"]: c["approval_status"] for c in candidates(storage_client, first["id"])}
    assert status == {ids[0]: "approved", ids[1]: "approved", ids[2]: "rejected", ids[3]: "pending"}
    stats = storage_client.get(f"/storage/scans/{first['id']}").json()["stats_by_category"]
    assert sum(s["approved_count"] for s in stats.values()) == 2
    assert _actions("storage.") == ["storage.candidates_approve", "storage.candidates_reject",
                                    "storage.candidates_defer"]


def test_execute_dry_run_then_for_real_then_restore_loses_nothing(storage_client, storage_root):
    proj = _setup(storage_root)
    before = _tree_state(proj)
    body = scan(storage_client, proj)
    found = candidates(storage_client, body["id"])
    assert len(found) == 4
    assert _approve(storage_client, body["id"], [c["id"] for c in found]).status_code == 200

    dry = storage_client.post(f"/storage/scans/{body['id']}/execute", json={})
    assert dry.status_code == 200
    assert dry.json()["dry_run"] is True and dry.json()["successful"] == 4 and dry.json()["total_freed_bytes"] == 0
    assert {r["status"] for r in dry.json()["results"]} == {"dry_run"}
    assert _tree_state(proj) == before

    # one file changes after the scan: it must be left alone
    changed = proj / "logs" / "old0.log"
    changed.write_bytes(b"rewritten since the scan")
    before = _tree_state(proj)
    real = storage_client.post(f"/storage/scans/{body['id']}/execute", json={"dry_run": False}).json()
    assert real["successful"] == 3 and real["skipped"] == 1 and real["failed"] == 0
    skipped = [r for r in real["results"] if r["status"] == "skipped"]
    assert skipped[0]["path"] == str(changed)
    assert skipped[0]["error"] == "size or modification time changed since the scan"
    assert changed.exists() and not (proj / "web" / "node_modules").exists()
    assert not (proj / "logs" / "old1.log").exists()
    trash = real["trash_dir"]
    assert trash.startswith(str(storage_root / ".autopack-trash"))
    manifest = [json.loads(line) for line in open(os.path.join(trash, "manifest.jsonl"))]
    assert sorted(m["path"] for m in manifest) == sorted(r["path"] for r in real["results"]
                                                         if r["status"] == "completed")
    assert real["total_freed_bytes"] == sum(m["size_bytes"] for m in manifest)
    executed = {c["path"]: c for c in candidates(storage_client, body["id"])}
    assert executed[str(proj / "logs" / "old1.log")]["execution_status"] == "completed"
    # a second execution finds nothing left to move
    again = storage_client.post(f"/storage/scans/{body['id']}/execute", json={"dry_run": False}).json()
    assert again["total_candidates"] == 0

    restored = storage_client.post(f"/storage/scans/{body['id']}/restore", json={})
    assert restored.status_code == 200 and restored.json()["successful"] == 3
    assert _tree_state(proj) == before
    assert _actions("storage.cleanup") == ["storage.cleanup_dry_run", "storage.cleanup_executed",
                                           "storage.cleanup_executed", "storage.cleanup_restored"]


def test_execute_refuses_running_scans_and_compression(storage_client, storage_root):
    body = scan(storage_client, storage_root)
    compress = storage_client.post(f"/storage/scans/{body['id']}/execute", json={"compress_before_delete": True})
    assert compress.status_code == 400
    queued = storage_client.post("/storage/scan", json={"scan_type": "directory", "scan_target": str(storage_root),
                                                        "background": True})
    assert queued.status_code == 202 and queued.json()["status"] == "queued"
    running = storage_client.post(f"/storage/scans/{queued.json()['id']}/execute", json={"dry_run": False})
    assert running.status_code == 409


def test_a_path_swapped_for_a_symlink_after_the_scan_is_not_moved(storage_client, storage_root, tmp_path):
    proj = storage_root / "proj"
    put(proj / "logs" / "x.log", b"data")
    body = scan(storage_client, proj)
    ids = [c["id"] for c in candidates(storage_client, body["id"])]
    _approve(storage_client, body["id"], ids)
    outside = tmp_path / "victim"
    put(outside / "x.log", b"data")
    os.rename(proj / "logs", proj / "logs-moved")
    os.symlink(outside, proj / "logs")
    result = storage_client.post(f"/storage/scans/{body['id']}/execute", json={"dry_run": False}).json()
    assert result["successful"] == 0 and result["results"][0]["status"] == "skipped"
    assert (outside / "x.log").read_bytes() == b"data"
