"""Usage (tokens per provider and model, as an SVG chart against the cap) and the audit ledger."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from autopack.audit import service as audit
from autopack.auth.deps import require_superuser
from autopack.core.database import ReadSession
from autopack.core.settings import get_settings
from autopack.dashboard import metrics
from autopack.web.chrome import chrome
from autopack.web.deps import PageRoute, SignedIn
from autopack.web.present import LABEL_WIDTH, bar_chart
from autopack.web.render import render

router = APIRouter(route_class=PageRoute)
Period = Literal["day", "week", "month"]
SHOWN = 100
EVENTS_SHOWN = 100


@router.get("/usage")
def usage_page(request: Request, viewer: SignedIn, session: ReadSession, period: Period = "week"):
    """Token use per provider and per model over the period, with the cap (GET /dashboard/usage's service)."""
    data = metrics.usage(session, period, SHOWN, 0)
    cap = data["providers"][0]["cap_tokens"] if data["providers"] else get_settings().run_token_cap
    providers = bar_chart([(p["provider"], p["total_tokens"]) for p in data["providers"]], cap)
    models = bar_chart([(f"{m['provider']} / {m['model']}", m["total_tokens"]) for m in data["models"]], cap)
    return render(request, "usage.html", {"chrome": chrome(session, viewer.principal, viewer.csrf), "period": period,
                                          "periods": ("day", "week", "month"), "providers": data["providers"],
                                          "models": data["models"], "provider_chart": providers,
                                          "model_chart": models, "label_width": LABEL_WIDTH, "cap": cap})


@router.get("/audit")
def audit_page(request: Request, viewer: SignedIn, session: ReadSession,
               cursor: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None):
    """Recent ledger events and the chains' verification (superusers only, as GET /audit/*)."""
    require_superuser(request)
    report = audit.verify_ledger(session)
    page = audit.list_events(session, cursor=cursor, limit=EVENTS_SHOWN, newest_first=True)
    return render(request, "audit.html", {"chrome": chrome(session, viewer.principal, viewer.csrf),
                                          "report": report, "events": page.events, "next_cursor": page.next_cursor})
