"""Learning from the operator: patterns in decisions, learned rules, and recommendations.

A pattern needs at least MIN_SAMPLES approved candidates and a confidence (approvals / decisions)
of at least MIN_CONFIDENCE, as the reference's analyser. Four detectors: the folders a path sits in
(`*/<name>/*`, `*/<parent>/<name>/*`, keywords such as cache or tmp), the file type (`*.ext`), an
age threshold (20th percentile in 30-day steps, >= 30) and a size threshold (20th percentile in
100 MB steps, >= 100 MB). An approved rule classifies later scans (path and file-type rules add
candidates, an age rule lowers its category's retention); a size rule is advice only.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from autopack.audit.service import append_event
from autopack.core.errors import BadRequest, NotFound
from autopack.db.base import utcnow
from autopack.db.models import CleanupCandidate, LearnedRule

MIN_SAMPLES = 5
MIN_CONFIDENCE = 0.75
KEYWORDS = ("node_modules", "cache", "temp", "tmp", "build", "dist")
MB = 1024**2
RULE_STATUSES = ("pending", "approved", "rejected", "applied")


def _keys(path: str, is_folder: bool) -> list[str]:
    """The path_pattern values a decided path votes for."""
    parts = [p for p in path.replace("\\", "/").split("/") if p]
    folders = parts if is_folder else parts[:-1]
    keys = []
    if folders:
        keys.append(f"*/{folders[-1]}/*")
    if len(folders) >= 2:
        keys.append(f"*/{folders[-2]}/{folders[-1]}/*")
    lowered = "/".join(folders).lower()
    keys += [f"*{kw}*" for kw in KEYWORDS if kw in lowered]
    return keys


def _percentile20(values: list[int]) -> int:
    ordered = sorted(values)
    return ordered[int(len(ordered) * 0.2)] if ordered else 0


def analyze(session: Session, category: str | None, max_patterns: int) -> list[dict[str, Any]]:
    """Patterns in approved vs rejected candidates, best first (nothing is stored)."""
    query = select(CleanupCandidate.path, CleanupCandidate.is_folder, CleanupCandidate.category,
                   CleanupCandidate.approval_status, CleanupCandidate.age_days, CleanupCandidate.size_bytes
                   ).where(CleanupCandidate.approval_status.in_(("approved", "rejected")))
    if category:
        query = query.where(CleanupCandidate.category == category)
    votes: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    samples: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    decided: dict[str, list[tuple[bool, int, int]]] = defaultdict(list)
    for path, folder, cat, status, age, size in session.execute(query.limit(200_000)):
        approved = status == "approved"
        keys = [("path_pattern", k) for k in _keys(path, folder)]
        ext = os.path.splitext(path)[1].lower() if not folder else ""
        if ext:
            keys.append(("file_type", f"*{ext}"))
        for kind, value in keys:
            tally = votes[(kind, value, cat)]
            tally[0 if approved else 1] += 1
            if approved and len(samples[(kind, value, cat)]) < 5:
                samples[(kind, value, cat)].append(path)
        decided[cat].append((approved, age or 0, size))
    patterns = [_pattern(kind, value, cat, a, r, samples[(kind, value, cat)])
                for (kind, value, cat), (a, r) in votes.items()]
    for cat, rows in decided.items():
        patterns += _thresholds(cat, rows)
    found = [p for p in patterns if p is not None]
    found.sort(key=lambda p: (-p["confidence"], -p["approvals"], p["pattern_type"], p["pattern_value"]))
    return found[:max_patterns]


def _pattern(kind: str, value: str, cat: str, approvals: int, rejections: int,
             sample_paths: list[str], description: str | None = None) -> dict[str, Any] | None:
    confidence = approvals / (approvals + rejections) if approvals + rejections else 0.0
    if approvals < MIN_SAMPLES or confidence < MIN_CONFIDENCE:
        return None
    return {"pattern_type": kind, "pattern_value": value, "category": cat, "approvals": approvals,
            "rejections": rejections, "confidence": round(confidence, 2), "sample_paths": sample_paths,
            "description": description or f"{approvals} of {approvals + rejections} decisions on paths matching "
                                          f"{value} approved cleanup as {cat}", "rule_id": None}


def _thresholds(cat: str, rows: list[tuple[bool, int, int]]) -> list[dict[str, Any] | None]:
    approved = [r for r in rows if r[0]]
    if len(approved) < MIN_SAMPLES:
        return []
    out = []
    days = _percentile20([age for _, age, _ in approved]) // 30 * 30
    if days >= 30:
        a, r = sum(ok for ok, age, _ in rows if age >= days), sum(not ok for ok, age, _ in rows if age >= days)
        out.append(_pattern("age_threshold", str(days), cat, a, r, [],
                            f"Candidates in {cat} older than {days} days are approved {a} of {a + r} times"))
    size = _percentile20([s for _, _, s in approved]) // (100 * MB) * (100 * MB)
    if size >= 100 * MB:
        a, r = sum(ok for ok, _, s in rows if s >= size), sum(not ok for ok, _, s in rows if s >= size)
        out.append(_pattern("size_threshold", str(size), cat, a, r, [],
                            f"Candidates in {cat} of {size // MB} MB or more are approved {a} of {a + r} times"))
    return out


def save_rules(session: Session, patterns: list[dict[str, Any]]) -> None:
    """Store each pattern not yet a rule as a pending learned rule (its id goes into the pattern)."""
    for p in patterns:
        existing = session.scalar(select(LearnedRule.id).where(
            LearnedRule.pattern_type == p["pattern_type"], LearnedRule.pattern_value == p["pattern_value"],
            LearnedRule.suggested_category == p["category"]).limit(1))
        if existing is None:
            rule = LearnedRule(created_at=utcnow(), pattern_type=p["pattern_type"], pattern_value=p["pattern_value"],
                               suggested_category=p["category"], confidence_score=Decimal(str(p["confidence"])),
                               based_on_approvals=p["approvals"], based_on_rejections=p["rejections"],
                               sample_paths=json.dumps(p["sample_paths"]), status="pending",
                               description=p["description"])
            session.add(rule)
            session.flush()
            existing = rule.id
        p["rule_id"] = existing


def rule_dict(r: LearnedRule) -> dict[str, Any]:
    """LearnedRuleResponse (ISO strings and a JSON text of sample paths, as the reference)."""
    return {"id": r.id, "created_at": r.created_at.isoformat(), "pattern_type": r.pattern_type,
            "pattern_value": r.pattern_value, "suggested_category": r.suggested_category,
            "confidence_score": float(r.confidence_score), "based_on_approvals": r.based_on_approvals,
            "based_on_rejections": r.based_on_rejections, "sample_paths": r.sample_paths, "status": r.status,
            "reviewed_by": r.reviewed_by, "reviewed_at": r.reviewed_at.isoformat() if r.reviewed_at else None,
            "description": r.description, "notes": r.notes}


def list_rules(session: Session, status: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
    """By confidence, then newest first."""
    query = select(LearnedRule)
    if status:
        query = query.where(LearnedRule.status == status)
    rows = session.scalars(query.order_by(LearnedRule.confidence_score.desc(), LearnedRule.created_at.desc(),
                                          LearnedRule.id.desc()).limit(limit).offset(offset))
    return [rule_dict(r) for r in rows]


def review_rule(session: Session, rule_id: int, reviewer: str, status: str, actor: str,
                notes: str | None = None) -> dict[str, Any]:
    """Approve or reject a rule (404 for an unknown id, where the reference answered 500)."""
    rule = session.get(LearnedRule, rule_id, with_for_update=True) if 0 < rule_id < 2**31 else None
    if rule is None:
        raise NotFound(f"Learned rule {rule_id} not found")
    if not reviewer.strip():
        raise BadRequest("approved_by must not be empty")
    rule.status, rule.reviewed_by, rule.reviewed_at = status, reviewer, utcnow()
    if notes is not None:
        rule.notes = notes
    session.flush()
    append_event(session, action=f"storage.rule_{status}", actor=actor, target_type="learned_rule",
                 target_id=rule_id, details={"reviewed_by": reviewer, "pattern_type": rule.pattern_type,
                                             "pattern_value": rule.pattern_value,
                                             "category": rule.suggested_category})
    return rule_dict(rule)
