"""Signal health: readings per platform and the composite score (DECISIONS §4.10), fail closed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.orm import Session

from autopack.autopilot.actions.policy import fmt
from autopack.autopilot.proposals import PLATFORMS
from autopack.autopilot.settings import get_autopilot_settings
from autopack.db.base import utcnow
from autopack.db.models import SignalHealthReading
from autopack.db.scope import scoped

WEIGHTS = {"emq": Decimal("0.40"), "freshness": Decimal("0.25"), "variance": Decimal("0.20"),
           "anomaly": Decimal("0.15")}
MAX_AGE = timedelta(hours=48)


@dataclass
class HealthSnapshot:
    """The trust gate's view of a tenant (or one platform): score, status, components and why."""

    score: float | None
    status: str  # healthy | degraded | critical | no_data
    components: dict[str, float]
    healthy_threshold: float
    degraded_threshold: float
    reasons: list[str] = field(default_factory=list)
    platform: str | None = None
    recorded_at: Any = None

    def view(self) -> dict[str, Any]:
        """As the API shows it."""
        return {"score": self.score, "status": self.status, "components": self.components,
                "healthy_threshold": self.healthy_threshold, "degraded_threshold": self.degraded_threshold,
                "reasons": self.reasons, "platform": self.platform, "recorded_at": self.recorded_at}


def composite_score(components: dict[str, float]) -> float:
    """EMQ 40% + freshness 25% + variance 20% + anomaly 15%, rounded half-up to one decimal."""
    total = sum(Decimal(str(components[key])) * weight for key, weight in WEIGHTS.items())
    return float(total.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def classify(score: float, healthy: float, degraded: float) -> tuple[str, list[str]]:
    """The status band of `score` and the reason when it is not healthy."""
    if score >= healthy:
        return "healthy", []
    if score >= degraded:
        return "degraded", [f"EMQ score {fmt(score)}% is below healthy threshold ({fmt(healthy)}%)"]
    return "critical", [f"EMQ score {fmt(score)}% is below degraded threshold ({fmt(degraded)}%)"]


def record_readings(session: Session, tenant_id: int, readings: list[dict[str, Any]], actor: str) -> list:
    """Store one reading per entry (platform + four components 0–100); flushes."""
    get_autopilot_settings(session, tenant_id)  # the tenant must exist (404 otherwise)
    now = utcnow()
    rows = [SignalHealthReading(tenant_id=tenant_id, recorded_at=now, recorded_by=actor, **reading)
            for reading in readings]
    session.add_all(rows)
    session.flush()
    return rows


def _latest(session: Session, tenant_id: int, platform: str, since) -> SignalHealthReading | None:
    stmt = (scoped(SignalHealthReading, tenant_id)
            .where(SignalHealthReading.platform == platform, SignalHealthReading.recorded_at >= since)
            .order_by(SignalHealthReading.recorded_at.desc(), SignalHealthReading.id.desc()).limit(1))
    return session.scalars(stmt).first()


def _snapshot(reading: SignalHealthReading | None, platform: str | None, healthy: float,
              degraded: float) -> HealthSnapshot:
    if reading is None:
        where = f" for {platform}" if platform else ""
        return HealthSnapshot(None, "no_data", {}, healthy, degraded,
                              [f"No signal-health reading{where} in the last 48 hours (fail closed)"], platform)
    components = {key: getattr(reading, key) for key in WEIGHTS}
    score = composite_score(components)
    status, reasons = classify(score, healthy, degraded)
    return HealthSnapshot(score, status, components, healthy, degraded, reasons, platform, reading.recorded_at)


def platform_health(session: Session, tenant_id: int) -> dict[str, HealthSnapshot]:
    """Every platform's current snapshot (no_data where nothing recent was recorded)."""
    settings = get_autopilot_settings(session, tenant_id)
    since = utcnow() - MAX_AGE
    return {p: _snapshot(_latest(session, tenant_id, p, since), p, settings.healthy_threshold,
                         settings.degraded_threshold) for p in PLATFORMS}


def current_health(session: Session, tenant_id: int, platform: str | None = None) -> HealthSnapshot:
    """One platform's snapshot, or overall: the worst platform with recent data (no data → no_data)."""
    if platform is not None:
        settings = get_autopilot_settings(session, tenant_id)
        reading = _latest(session, tenant_id, platform, utcnow() - MAX_AGE)
        return _snapshot(reading, platform, settings.healthy_threshold, settings.degraded_threshold)
    snapshots = [s for s in platform_health(session, tenant_id).values() if s.score is not None]
    if not snapshots:
        settings = get_autopilot_settings(session, tenant_id)
        return _snapshot(None, None, settings.healthy_threshold, settings.degraded_threshold)
    worst = min(snapshots, key=lambda s: s.score)
    overall = HealthSnapshot(worst.score, worst.status, worst.components, worst.healthy_threshold,
                             worst.degraded_threshold, [f"{worst.platform}: {r}" for r in worst.reasons],
                             None, worst.recorded_at)
    return overall
