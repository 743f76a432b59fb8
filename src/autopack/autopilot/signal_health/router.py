"""Signal-health endpoints (readings in, current health out) and the dry-run."""

from __future__ import annotations

from fastapi import APIRouter

from autopack.autopilot.actions.schemas import CheckedProposal
from autopack.autopilot.api import OperatorDryRun, OperatorWrite, ViewerRead, ok
from autopack.autopilot.proposals import Platform
from autopack.autopilot.signal_health import service
from autopack.autopilot.signal_health.schemas import (
    DryRunResult,
    ReadingsRequest,
    SignalHealth,
    SignalHealthRecorded,
)
from autopack.autopilot.signal_health.trust_gate import dry_run
from autopack.core.answers import Envelope, documented
from autopack.core.database import ReadSession, WriteSession

router = APIRouter(tags=["autopilot"])  # signal-health routes; also mounted at /api/v1/tenant/{id}
dry_run_router = APIRouter(tags=["autopilot"])


def _health(session, tenant_id: int, platform: str | None) -> dict:
    overall = service.current_health(session, tenant_id)
    platforms = service.platform_health(session, tenant_id)
    data = {"overall": overall.view(), "platforms": {p: s.view() for p, s in platforms.items()}}
    if platform is not None:
        data["platform"] = platforms[platform].view()
    return data


@router.post("/signal-health", status_code=201, responses=documented(Envelope[SignalHealthRecorded], 201))
def record_signal_health(body: ReadingsRequest, ctx: OperatorWrite, session: WriteSession):
    """Record readings (one per platform) and answer the resulting health."""
    rows = service.record_readings(session, ctx.tenant_id, [r.model_dump() for r in body.readings], ctx.actor)
    recorded = [{"id": r.id, "platform": r.platform, "recorded_at": r.recorded_at} for r in rows]
    return ok({"recorded": recorded, **_health(session, ctx.tenant_id, None)}, 201)


@router.get("/signal-health", responses=documented(Envelope[SignalHealth]))
def get_signal_health(ctx: ViewerRead, session: ReadSession, platform: Platform | None = None):
    """Current score, status and components: overall and per platform."""
    return ok(_health(session, ctx.tenant_id, platform))


@dry_run_router.post("/actions/dry-run", responses=documented(Envelope[DryRunResult]))
def dry_run_action(body: CheckedProposal, ctx: OperatorDryRun, session: WriteSession):
    """Simulate an action through the trust gate; writes only an audit row."""
    return ok(dry_run(session, ctx.tenant_id, body.proposal(), ctx.actor))
