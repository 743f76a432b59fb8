"""Tenant-scoped queries on autopilot actions: every query starts from `of_tenant()`."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, bindparam, func, select, tuple_
from sqlalchemy.orm import Session

from autopack.db.models import AutopilotAction
from autopack.db.scope import TENANT, scoped


def of_tenant(tenant_id: int, *columns) -> Select:
    """SELECT actions (or `columns` of them) of one tenant: the only way in."""
    stmt = select(*columns) if columns else select(AutopilotAction)
    return scoped(stmt.select_from(AutopilotAction), tenant_id)


_BY_ID = of_tenant(TENANT).where(AutopilotAction.id == bindparam("action_id"))  # built once: read on every decision


def get(session: Session, tenant_id: int, action_id: str) -> AutopilotAction | None:
    """One action of the tenant, or None (another tenant's id is simply not found)."""
    return session.scalars(_BY_ID, {"tenant_id": tenant_id, "action_id": action_id}).one_or_none()


def page(session: Session, tenant_id: int, *, on_date: date | None, status: str | None,
         platform: str | None, limit: int, after: tuple[datetime, str] | None) -> list[AutopilotAction]:
    """Newest first by (created_at, id), keyset after `after`: no OFFSET, no COUNT."""
    stmt = of_tenant(tenant_id)
    if on_date is not None:  # `date` is created_at's UTC day: the range keeps to the (tenant, created_at) index
        start = datetime.combine(on_date, time.min, tzinfo=UTC)
        stmt = stmt.where(AutopilotAction.created_at >= start, AutopilotAction.created_at < start + timedelta(days=1),
                          AutopilotAction.date == on_date)
    if status is not None:
        stmt = stmt.where(AutopilotAction.status == status)
    if platform is not None:
        stmt = stmt.where(AutopilotAction.platform == platform)
    if after is not None:
        stmt = stmt.where(tuple_(AutopilotAction.created_at, AutopilotAction.id) < tuple_(*after))
    stmt = stmt.order_by(AutopilotAction.created_at.desc(), AutopilotAction.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def count_queued(session: Session, tenant_id: int) -> int:
    """Queued actions waiting for a person (index on tenant_id, status)."""
    stmt = of_tenant(tenant_id, func.count()).where(AutopilotAction.status == "queued",
                                                     AutopilotAction.requires_approval.is_(True))
    return int(session.scalar(stmt) or 0)


def approved_by_platform(session: Session, tenant_id: int) -> dict[str, int]:
    """Approved actions not yet claimed by the execution worker, counted per platform."""
    rows = session.execute(of_tenant(tenant_id, AutopilotAction.platform, func.count())
                           .where(AutopilotAction.status == "approved").group_by(AutopilotAction.platform))
    return {platform: int(count) for platform, count in rows}


def counts_since(session: Session, tenant_id: int, since: datetime) -> tuple[dict, dict, int]:
    """(by status, by type, queued needing approval) for actions created at or after `since`."""
    window = AutopilotAction.created_at >= since
    by_status = dict(session.execute(of_tenant(tenant_id, AutopilotAction.status, func.count()).where(window)
                                     .group_by(AutopilotAction.status)).all())
    by_type = dict(session.execute(of_tenant(tenant_id, AutopilotAction.action_type, func.count()).where(window)
                                   .group_by(AutopilotAction.action_type)).all())
    pending = session.scalar(of_tenant(tenant_id, func.count()).where(
        window, AutopilotAction.status == "queued", AutopilotAction.requires_approval.is_(True)))
    return by_status, by_type, int(pending or 0)


def statuses(session: Session, tenant_id: int, ids: list[str]) -> dict[str, str]:
    """id → status for those of `ids` that belong to the tenant."""
    if not ids:
        return {}
    rows = session.execute(of_tenant(tenant_id, AutopilotAction.id, AutopilotAction.status)
                           .where(AutopilotAction.id.in_(ids)))
    return dict(rows.all())
