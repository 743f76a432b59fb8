"""The facts rules look at, read from other areas' tables: applied actions, budgets, stored metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, bindparam, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from autopack.autopilot.enforcement.rules import EnforcementContext
from autopack.autopilot.proposals import ActionProposal, first_number
from autopack.core import statements
from autopack.db.base import UTCDateTime
from autopack.db.models.autopilot import AutopilotAction
from autopack.db.models.campaigns import CampaignMetricsDaily, SandboxCampaign
from autopack.db.scope import TENANT, scoped

BUDGET_TYPES = ("budget_increase", "budget_decrease", "set_budget")

# The fact queries, built once (building a statement cost more than running it); parameters by name.
_ENTITY_ID, _ENTITY_TYPE = bindparam("entity_id"), bindparam("entity_type")
_LOOKBACK = scoped(
    select(func.sum(CampaignMetricsDaily.spend), func.sum(CampaignMetricsDaily.revenue),
           func.sum(CampaignMetricsDaily.conversions), func.avg(CampaignMetricsDaily.roas),
           func.avg(CampaignMetricsDaily.cpa))
    .where(CampaignMetricsDaily.entity_id == _ENTITY_ID, CampaignMetricsDaily.day >= bindparam("since")), TENANT)
_OTHERS_TOTAL = scoped(
    select(func.coalesce(func.sum(SandboxCampaign.daily_budget), 0.0))
    .where(SandboxCampaign.entity_type == _ENTITY_TYPE, SandboxCampaign.status == "active",
           SandboxCampaign.entity_id != _ENTITY_ID), TENANT)
_APPLIED_AT = AutopilotAction.applied_at
# Not IN (...): a list bound at build time is expanded by SQLAlchemy on each execution (core/statements.py).
_IS_BUDGET = or_(*(AutopilotAction.action_type == kind for kind in BUDGET_TYPES))
_TODAY = _APPLIED_AT >= bindparam("midnight", type_=UTCDateTime())
_FREQUENCY = scoped(
    select(func.count().filter(and_(_IS_BUDGET, _TODAY)), func.count().filter(_TODAY),
           type_coerce(func.max(_APPLIED_AT).filter(_IS_BUDGET), UTCDateTime()))
    .where(AutopilotAction.entity_type == _ENTITY_TYPE, AutopilotAction.entity_id == _ENTITY_ID,
           AutopilotAction.status == "applied"), TENANT)


def lookback_metrics(session: Session, tenant_id: int, entity_id: str, days: int,
                     now: datetime) -> tuple[float | None, float | None]:
    """Spend-weighted ROAS and CPA of the entity over the last `days` days of campaign_metrics_daily."""
    since = (now - timedelta(days=days)).date()
    row = statements.one_row(session.connection(), _LOOKBACK, {"tenant_id": tenant_id, "entity_id": entity_id,
                                                                "since": since})
    spend, revenue, conversions, avg_roas, avg_cpa = row
    roas = revenue / spend if spend else (float(avg_roas) if avg_roas is not None else None)
    cpa = spend / conversions if spend and conversions else (float(avg_cpa) if avg_cpa is not None else None)
    return roas, cpa


def tenant_total_after(session: Session, tenant_id: int, proposal: ActionProposal) -> float | None:
    """The tenant's total daily budget after the change.

    Sums the active sandbox entities of the proposal's entity type, with this entity's budget replaced by
    the proposed one. A tenant with no sandbox state (real platforms) is known only through the request:
    the total is then the proposed budget itself.
    """
    new = proposal.new_budget
    if new is None:
        return None
    others = statements.one_row(session.connection(), _OTHERS_TOTAL, {
        "tenant_id": tenant_id, "entity_type": proposal.entity_type, "entity_id": proposal.entity_id})[0]
    return float(others or 0.0) + new


def frequency(session: Session, tenant_id: int, proposal: ActionProposal,
              now: datetime) -> tuple[int, int, float | None]:
    """(budget changes today, changes today, hours since the last budget change): *applied* actions only."""
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    budget_today, all_today, last = statements.one_row(session.connection(), _FREQUENCY, {
        "tenant_id": tenant_id, "entity_type": proposal.entity_type, "entity_id": proposal.entity_id,
        "midnight": midnight})
    hours = None if last is None else max(0.0, (now - last).total_seconds() / 3600)
    return int(budget_today or 0), int(all_today or 0), hours


def build_context(session: Session, tenant_id: int, proposal: ActionProposal, metrics: dict | None,
                  facts: frozenset[str], lookback_days: int, now: datetime) -> EnforcementContext:
    """Gather only the facts the rules declared they need, then freeze them into a context."""
    roas, cpa = first_number(metrics or {}, "roas"), first_number(metrics or {}, "cpa")
    source = "request" if roas is not None or cpa is not None else "none"
    if "metrics" in facts and (roas is None or cpa is None):
        stored_roas, stored_cpa = lookback_metrics(session, tenant_id, proposal.entity_id, lookback_days, now)
        if (roas is None and stored_roas is not None) or (cpa is None and stored_cpa is not None):
            source = "lookback" if source == "none" else "request+lookback"
        roas = roas if roas is not None else stored_roas
        cpa = cpa if cpa is not None else stored_cpa
    total = tenant_total_after(session, tenant_id, proposal) if "spend" in facts else None
    budget_today, all_today, hours = (frequency(session, tenant_id, proposal, now) if "frequency" in facts
                                      else (0, 0, None))
    return EnforcementContext(
        action_type=proposal.action_type, entity_type=proposal.entity_type, entity_id=proposal.entity_id,
        new_budget=proposal.new_budget, current_budget=proposal.current_budget,
        change_percent=proposal.change_percent, roas=roas, cpa=cpa, metrics_source=source,
        tenant_total_after=total, budget_changes_today=budget_today, changes_today=all_today,
        hours_since_last_budget_change=hours, evaluated_at=now)
