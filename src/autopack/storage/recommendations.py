"""Recommendations from scan history (the reference's four kinds), and the statistics behind them."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from autopack.db.base import utcnow
from autopack.db.models import CleanupCandidate, StorageScan

GB = 1024**3
MB = 1024**2
PRIORITY = {"high": 0, "medium": 1, "low": 2}
MAX_SCANS = 1000
_DIGITS = re.compile(r"\d+")


def _gb(value: float | None) -> float | None:
    return round(value / GB, 2) if value else None


def _item(kind: str, priority: str, title: str, description: str, evidence: dict, action: str,
          savings: float | None) -> dict[str, Any]:
    savings = int(savings) if savings else None
    return {"type": kind, "priority": priority, "title": title, "description": description, "evidence": evidence,
            "action": action, "potential_savings_bytes": savings, "potential_savings_gb": _gb(savings)}


def recommendations(session: Session, max_recommendations: int, lookback_days: int) -> dict[str, Any]:
    """{recommendations, scan_statistics} over completed scans of the last `lookback_days`."""
    since = utcnow() - timedelta(days=lookback_days)
    scans = session.scalars(select(StorageScan).where(StorageScan.status == "completed",
                                                      StorageScan.timestamp >= since)
                            .order_by(StorageScan.timestamp.desc(), StorageScan.id.desc()).limit(MAX_SCANS)).all()
    scans.reverse()
    stats = _statistics(scans)
    if len(scans) < 2:
        item = _item("insufficient_data", "low", "Not enough scan history",
                     f"Recommendations need at least 2 scans in the last {lookback_days} days; found {len(scans)}.",
                     {"scan_count": len(scans), "required": 2}, "Run POST /storage/scan regularly.", None)
        return {"recommendations": [item], "scan_statistics": stats}
    ids = [s.id for s in scans]
    per_cat: dict[int, dict[str, int]] = defaultdict(dict)
    for scan_id, cat, size in session.execute(
            select(CleanupCandidate.scan_id, CleanupCandidate.category, func.sum(CleanupCandidate.size_bytes))
            .where(CleanupCandidate.scan_id.in_(ids)).group_by(CleanupCandidate.scan_id, CleanupCandidate.category)):
        per_cat[scan_id][cat] = int(size or 0)
    found = _growth(scans, per_cat) + _recurring(session, ids) + _policy(session) + _top(scans[-1], per_cat)
    found.sort(key=lambda r: (PRIORITY[r["priority"]], -(r["potential_savings_bytes"] or 0), r["title"]))
    return {"recommendations": found[:max_recommendations], "scan_statistics": stats}


def _statistics(scans: list[StorageScan]) -> dict[str, Any]:
    if not scans:
        return {"scan_count": 0, "date_range_days": 0, "total_candidates": 0, "total_potential_savings_gb": 0.0}
    candidates = sum(s.cleanup_candidates_count for s in scans)
    savings = sum(s.potential_savings_bytes for s in scans)
    return {"scan_count": len(scans), "date_range_days": (scans[-1].timestamp - scans[0].timestamp).days,
            "earliest_scan": scans[0].timestamp.isoformat(), "latest_scan": scans[-1].timestamp.isoformat(),
            "total_candidates": candidates, "total_potential_savings_gb": round(savings / GB, 2),
            "avg_candidates_per_scan": round(candidates / len(scans), 1),
            "avg_savings_per_scan_gb": round(savings / GB / len(scans), 2)}


def _growth(scans: list[StorageScan], per_cat: dict[int, dict[str, int]]) -> list[dict[str, Any]]:
    if len(scans) < 3:
        return []
    days = max((scans[-1].timestamp - scans[0].timestamp).total_seconds() / 86400, 1 / 24)
    out = []
    for cat in sorted(set(per_cat[scans[0].id]) | set(per_cat[scans[-1].id])):
        per_day = (per_cat[scans[-1].id].get(cat, 0) - per_cat[scans[0].id].get(cat, 0)) / days
        if per_day > 100 * MB:
            monthly = per_day * 30
            out.append(_item("growth_alert", "high" if monthly > 10 * GB else "medium",
                             f"{cat} is growing fast", f"{cat} grows by about {per_day / MB:.0f} MB per day.",
                             {"category": cat, "growth_bytes_per_day": int(per_day), "scans": len(scans)},
                             f"Schedule a regular cleanup of {cat}.", monthly * 0.7))
    return out


def _recurring(session: Session, ids: list[int]) -> list[dict[str, Any]]:
    seen: dict[str, set[int]] = defaultdict(set)
    sizes: dict[str, list[int]] = defaultdict(list)
    rows = session.execute(select(CleanupCandidate.scan_id, CleanupCandidate.path, CleanupCandidate.size_bytes)
                           .where(CleanupCandidate.scan_id.in_(ids)).limit(200_000))
    for scan_id, path, size in rows:
        key = _DIGITS.sub("#", path)
        seen[key].add(scan_id)
        sizes[key].append(size)
    needed = max(2, min(3, len(ids) // 2))
    out = []
    for key, scan_ids in seen.items():
        if len(scan_ids) >= needed:
            avg = sum(sizes[key]) / len(sizes[key])
            out.append(_item("recurring_waste", "medium", f"Recurring waste: {key}",
                             f"{key} came back in {len(scan_ids)} scans.",
                             {"path": key, "occurrences": len(scan_ids), "avg_size_bytes": int(avg)},
                             "Add a rule or fix the process that recreates it.", avg * 12))
    out.sort(key=lambda r: -(r["potential_savings_bytes"] or 0))
    return out[:20]


def _policy(session: Session) -> list[dict[str, Any]]:
    rejected = CleanupCandidate.approval_status == "rejected"
    rows = session.execute(select(CleanupCandidate.category, func.count(), func.sum(case((rejected, 1), else_=0)))
                           .where(CleanupCandidate.approval_status.in_(("approved", "rejected")))
                           .group_by(CleanupCandidate.category))
    out = []
    for cat, total, rejections in rows:
        rate = (rejections or 0) / total
        if total >= 5 and rate > 0.8:
            out.append(_item("policy_adjustment", "low", f"Operators keep rejecting {cat}",
                             f"{rate:.0%} of {total} decisions on {cat} were rejections.",
                             {"category": cat, "decisions": total, "rejection_rate": round(rate, 2)},
                             f"Narrow the {cat} category or lengthen its retention.", None))
    return out


def _top(latest: StorageScan, per_cat: dict[int, dict[str, int]]) -> list[dict[str, Any]]:
    sizes = sorted(per_cat[latest.id].items(), key=lambda kv: -kv[1])
    total = sum(size for _, size in sizes)
    if not total:
        return []
    chosen, running = [], 0
    for cat, size in sizes:
        chosen.append((cat, size))
        running += size
        if running >= total * 0.8:
            break
    if len(chosen) > 3:
        return []
    names = ", ".join(cat for cat, _ in chosen)
    return [_item("top_consumers", "high", f"Most reclaimable space: {names}",
                  f"{names} hold {running / total:.0%} of the latest scan's reclaimable bytes.",
                  {"categories": {cat: size for cat, size in chosen}, "scan_id": latest.id},
                  f"Review and approve the {names} candidates of scan {latest.id}.", running * 0.6)]
