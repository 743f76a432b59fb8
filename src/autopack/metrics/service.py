"""What `GET /metrics` exposes: the process metrics (summed over worker processes in multiprocess mode)
and gauges counted in the database at scrape time.

The database gauges are a handful of GROUP BY counts over small label sets (states, statuses, modes),
so a scrape costs a few indexed queries whatever the traffic. They count across every tenant: only
totals leave the database, never a tenant's rows, so no tenant scope applies.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from prometheus_client import REGISTRY, CollectorRegistry, Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from autopack.core.instruments import multiprocess_dir
from autopack.db.models import (
    ApprovalRequest,
    AutopilotAction,
    EnforcementAuditLog,
    GovernanceRequest,
    Phase,
    Run,
)

PUBLIC_ENV = "AUTOPACK_METRICS_PUBLIC"
NONE_LABEL = "none"

EVENT_STREAM_SUBSCRIBERS = Gauge(
    "autopack_event_stream_subscribers", "Event streams (server-sent events) open now.",
    multiprocess_mode="livesum")


def subscriber_opened() -> None:
    """An event stream started sending (pair with `subscriber_closed()` in a finally)."""
    EVENT_STREAM_SUBSCRIBERS.inc()


def subscriber_closed() -> None:
    """An event stream ended (client gone, server stopping or an error)."""
    EVENT_STREAM_SUBSCRIBERS.dec()


def metrics_public() -> bool:
    """`AUTOPACK_METRICS_PUBLIC=1` (exactly) opens /metrics in production; read on every request."""
    return os.environ.get(PUBLIC_ENV, "0") == "1"


def _by_label(name: str, doc: str, label: str, rows: Iterable[tuple[str | None, int]]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=[label])
    for value, count in rows:
        family.add_metric([value if value is not None else NONE_LABEL], int(count))
    return family


class DatabaseGauges:
    """A collector counting runs, phases, pending requests, actions and interventions when scraped."""

    def __init__(self, session: Session):
        self.session = session

    def _grouped(self, column) -> list[tuple[str | None, int]]:  # noqa: ANN001 - a mapped column
        return [tuple(row) for row in self.session.execute(
            select(column, func.count()).group_by(column).order_by(column)).all()]

    def _count(self, model, *where) -> int:  # noqa: ANN001 - a mapped class
        return int(self.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    def collect(self) -> Iterator[Metric]:
        """The database gauges, counted now."""
        yield _by_label("autopack_runs", "Runs by state.", "state", self._grouped(Run.state))
        yield _by_label("autopack_phases", "Phases by state.", "state", self._grouped(Phase.state))
        yield GaugeMetricFamily("autopack_approval_requests_pending", "Approval requests waiting for a human.",
                                value=self._count(ApprovalRequest, ApprovalRequest.status == "pending"))
        yield GaugeMetricFamily("autopack_governance_requests_pending", "Governance requests not yet decided.",
                                value=self._count(GovernanceRequest, GovernanceRequest.approved.is_(None)))
        yield _by_label("autopack_autopilot_actions", "Autopilot actions by status (every tenant).", "status",
                        self._grouped(AutopilotAction.status))
        interventions = GaugeMetricFamily(
            "autopack_enforcement_interventions",
            "Stored enforcement interventions (every decision but `allowed`) by mode and action.",
            labels=["mode", "action"])
        mode, action = EnforcementAuditLog.enforcement_mode, EnforcementAuditLog.intervention_action
        for row_mode, row_action, count in self.session.execute(
                select(mode, action, func.count()).where(action != "allowed")
                .group_by(mode, action).order_by(mode, action)).all():
            interventions.add_metric([row_mode or NONE_LABEL, row_action], int(count))
        yield interventions


class _ThisProcess:
    """The default registry's metrics (this process's, and the Python process collectors)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def exposition(session: Session) -> bytes:
    """The Prometheus text format: process metrics (every worker's, when multiprocess) and database gauges."""
    registry = CollectorRegistry(auto_describe=False)
    folder = multiprocess_dir()
    if folder:
        MultiProcessCollector(registry, path=folder)
    else:
        registry.register(_ThisProcess())
    registry.register(DatabaseGauges(session))
    return generate_latest(registry)
