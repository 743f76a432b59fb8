"""All Autopilot routes under `/api/v1/tenant/{tenant_id}/autopilot` (one line per sub-router)."""

from __future__ import annotations

from fastapi import APIRouter

from autopack.autopilot.actions.router import router as actions_router
from autopack.autopilot.config.router import router as config_router
from autopack.autopilot.enforcement.router import router as enforcement_router
from autopack.autopilot.signal_health.router import dry_run_router
from autopack.autopilot.signal_health.router import router as signal_health_router

PREFIX = "/api/v1/tenant/{tenant_id}/autopilot"

router = APIRouter(prefix=PREFIX)
router.include_router(config_router)
router.include_router(dry_run_router)  # before the actions router: /actions/dry-run is not an id
router.include_router(actions_router)
router.include_router(signal_health_router)
router.include_router(enforcement_router)
# Further sub-routers (execution) join here with one include_router line each.

# DECISIONS §4.10 names the readings path without /autopilot: serve it there too.
tenant_router = APIRouter(prefix="/api/v1/tenant/{tenant_id}")
tenant_router.include_router(signal_health_router)
