"""Pattern analysis (>= 5 samples, >= 75% confidence), learned rules applied to later scans, recommendations."""

from __future__ import annotations

import json
from decimal import Decimal

from autopack.core.database import session_scope
from autopack.db.models import LearnedRule
from tests.storage.conftest import age, candidates, put, scan


def _decide(client, scan_id, ids, decision):
    response = client.post(f"/storage/scans/{scan_id}/approve",
                           json={"candidate_ids": ids, "approved_by": "ops", "decision": decision})
    assert response.status_code == 200, response.text


def _logs(root, folder, count):
    for i in range(count):
        put(root / folder / f"run{i}.log")


def test_patterns_need_five_approvals_and_75_percent(storage_client, storage_root):
    _logs(storage_root, "scratch", 4)
    first = scan(storage_client, storage_root)
    _decide(storage_client, first["id"], [c["id"] for c in candidates(storage_client, first["id"])], "approve")
    assert storage_client.post("/storage/patterns/analyze").json() == []  # 4 approvals: not enough

    _logs(storage_root, "scratch", 6)
    second = scan(storage_client, storage_root)
    found = candidates(storage_client, second["id"])
    _decide(storage_client, second["id"], [c["id"] for c in found[:5]], "approve")
    _decide(storage_client, second["id"], [found[5]["id"]], "reject")
    patterns = storage_client.post("/storage/patterns/analyze?max_patterns=50").json()
    by_value = {(p["pattern_type"], p["pattern_value"]): p for p in patterns}
    scratch = by_value[("path_pattern", "*/scratch/*")]
    assert scratch["approvals"] == 9 and scratch["rejections"] == 1 and scratch["confidence"] == 0.9
    assert scratch["category"] == "diagnostics_logs" and len(scratch["sample_paths"]) == 5
    assert ("file_type", "*.log") in by_value
    assert storage_client.get("/storage/learned-rules").json() == []  # analysis alone stores nothing
    assert len(storage_client.post("/storage/patterns/analyze?max_patterns=1").json()) == 1
    assert storage_client.post("/storage/patterns/analyze?category=dev_caches").json() == []

    saved = storage_client.post("/storage/patterns/analyze?max_patterns=50&save_rules=true").json()
    rules = storage_client.get("/storage/learned-rules").json()
    assert len(rules) == len(saved) and all(r["status"] == "pending" for r in rules)
    assert {p["rule_id"] for p in saved} == {r["id"] for r in rules}
    assert isinstance(rules[0]["sample_paths"], str) and isinstance(json.loads(rules[0]["sample_paths"]), list)
    again = storage_client.post("/storage/patterns/analyze?max_patterns=50&save_rules=true").json()
    assert len(storage_client.get("/storage/learned-rules").json()) == len(rules)  # not stored twice
    assert {p["rule_id"] for p in again} == {r["id"] for r in rules}


def _rule(pattern_type, value, category="media_cache") -> int:
    with session_scope() as session:
        rule = LearnedRule(pattern_type=pattern_type, pattern_value=value, suggested_category=category,
                           confidence_score=Decimal("0.90"), based_on_approvals=9, based_on_rejections=1,
                           sample_paths="[]", status="pending")
        session.add(rule)
        session.flush()
        return rule.id


def test_approved_rules_classify_later_scans(storage_client, storage_root):
    put(storage_root / "proj" / "renders" / "frame1.exr", b"r" * 10)
    age(storage_root / "proj" / "renders")
    put(storage_root / "proj" / "clip.mov", b"m" * 20)
    folder_rule, type_rule = _rule("path_pattern", "*/renders/*"), _rule("file_type", "*.mov", "videos")
    assert candidates(storage_client, scan(storage_client, storage_root)["id"]) == []  # pending rules do nothing

    missing = storage_client.post("/storage/learned-rules/999999/approve?approved_by=ops")
    assert missing.status_code == 404  # the reference answered 500
    assert storage_client.post(f"/storage/learned-rules/{folder_rule}/approve").status_code == 422  # approved_by
    approved = storage_client.post(f"/storage/learned-rules/{folder_rule}/approve?approved_by=ops").json()
    assert approved["status"] == "approved" and approved["reviewed_by"] == "ops" and approved["reviewed_at"]
    storage_client.post(f"/storage/learned-rules/{type_rule}/approve?approved_by=ops")

    found = {c["path"]: c for c in candidates(storage_client, scan(storage_client, storage_root)["id"])}
    renders = found[str(storage_root / "proj" / "renders")]
    assert renders["category"] == "media_cache" and renders["is_folder"] is True
    assert renders["reason"].startswith(f"Matched learned rule #{folder_rule} (path_pattern */renders/*)")
    assert found[str(storage_root / "proj" / "clip.mov")]["category"] == "videos"

    rejected = storage_client.post(f"/storage/learned-rules/{type_rule}/reject?rejected_by=ops&notes=no").json()
    assert rejected["status"] == "rejected" and rejected["notes"] == "no"
    assert [r["id"] for r in storage_client.get("/storage/learned-rules?status=approved").json()] == [folder_rule]
    later = {c["path"] for c in candidates(storage_client, scan(storage_client, storage_root)["id"])}
    assert str(storage_root / "proj" / "clip.mov") not in later


def test_recommendations(storage_client, storage_root):
    empty = storage_client.get("/storage/recommendations").json()
    assert [r["type"] for r in empty["recommendations"]] == ["insufficient_data"]
    assert empty["recommendations"][0]["priority"] == "low"
    assert empty["scan_statistics"] == {"scan_count": 0, "date_range_days": 0, "total_candidates": 0,
                                        "total_potential_savings_gb": 0.0}
    put(storage_root / "a" / "big.log", b"x" * 1000)
    for _ in range(3):
        scan(storage_client, storage_root)
    body = storage_client.get("/storage/recommendations").json()
    kinds = [r["type"] for r in body["recommendations"]]
    assert kinds[0] == "top_consumers" and "recurring_waste" in kinds
    top = body["recommendations"][0]
    assert top["priority"] == "high" and top["potential_savings_bytes"] == 600
    assert body["scan_statistics"]["scan_count"] == 3 and body["scan_statistics"]["total_candidates"] == 3
    assert storage_client.get("/storage/recommendations?max_recommendations=1").json()["recommendations"] == [top]
