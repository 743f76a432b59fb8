"""`GET /metrics` in the Prometheus text format: open in development, a key or token in production
unless `AUTOPACK_METRICS_PUBLIC=1`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from autopack.auth.deps import Credentials, Principal, verify_production_read
from autopack.core.database import ReadSession
from autopack.metrics import service

router = APIRouter(tags=["metrics"])


def metrics_reader(request: Request, _: None = Credentials) -> Principal | None:
    """Who may scrape: anyone when AUTOPACK_METRICS_PUBLIC=1, else like the operator reads."""
    if service.metrics_public():
        return None
    return verify_production_read(request)


@router.get("/metrics", response_class=Response, dependencies=[Depends(metrics_reader)],
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"}})
def metrics(session: ReadSession) -> Response:
    """Request counts and latencies per route, workers, rate limits, pool use and database gauges."""
    return Response(service.exposition(session), media_type=CONTENT_TYPE_LATEST)
