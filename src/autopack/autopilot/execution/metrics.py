"""Daily campaign performance: recorded per entity and day, averaged over a lookback window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from autopack.db.base import utcnow
from autopack.db.models.campaigns import CampaignMetricsDaily
from autopack.db.scope import scoped


@dataclass(frozen=True)
class MetricsAverage:
    """Totals and spend-weighted ratios over a window (None where undefined)."""

    days_with_data: int
    spend: float
    revenue: float
    conversions: float
    roas: float | None
    cpa: float | None


def record_metrics(session: Session, tenant_id: int, platform: str, entity_id: str, day: date, *,
                   spend: float, revenue: float, conversions: float) -> CampaignMetricsDaily:
    """Insert or replace one day's figures; ROAS and CPA are derived (None on zero spend/conversions)."""
    row = session.scalar(scoped(select(CampaignMetricsDaily).where(
        CampaignMetricsDaily.platform == platform, CampaignMetricsDaily.entity_id == entity_id,
        CampaignMetricsDaily.day == day), tenant_id))
    if row is None:
        row = CampaignMetricsDaily(tenant_id=tenant_id, platform=platform, entity_id=entity_id, day=day)
        session.add(row)
    row.spend, row.revenue, row.conversions = float(spend), float(revenue), float(conversions)
    row.roas = round(revenue / spend, 4) if spend else None
    row.cpa = round(spend / conversions, 4) if conversions else None
    row.updated_at = utcnow()
    session.flush()
    return row


def average_metrics(session: Session, tenant_id: int, platform: str | None, entity_id: str,
                    days: int) -> MetricsAverage | None:
    """The entity's figures over the last `days` days (today included); None without data."""
    since = utcnow().date() - timedelta(days=max(1, days) - 1)
    conditions = [CampaignMetricsDaily.entity_id == entity_id, CampaignMetricsDaily.day >= since]
    if platform is not None:
        conditions.append(CampaignMetricsDaily.platform == platform)
    count, spend, revenue, conversions = session.execute(scoped(
        select(func.count(), func.sum(CampaignMetricsDaily.spend), func.sum(CampaignMetricsDaily.revenue),
               func.sum(CampaignMetricsDaily.conversions)).where(*conditions), tenant_id)).one()
    if not count:
        return None
    spend, revenue, conversions = float(spend or 0), float(revenue or 0), float(conversions or 0)
    return MetricsAverage(days_with_data=int(count), spend=spend, revenue=revenue, conversions=conversions,
                          roas=round(revenue / spend, 4) if spend else None,
                          cpa=round(spend / conversions, 4) if conversions else None)
