"""Assembles the Autopack application: `PYTHONPATH=src uvicorn autopack.main:app`."""

from __future__ import annotations

import gc
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from autopack import __version__
from autopack.approvals import telegram_actions as approval_buttons
from autopack.approvals.router import router as approvals_router
from autopack.approvals.timeouts import start_approval_worker
from autopack.audit.router import router as audit_router
from autopack.auth.deps import KEY_REQUIRED_IN_PRODUCTION
from autopack.auth.router import router as auth_router
from autopack.autopilot.actions.router import approve_action, dismiss_action, queue_action
from autopack.autopilot.actions.router import router as autopilot_actions_router
from autopack.autopilot.enforcement.router import check as enforcement_check
from autopack.autopilot.enforcement.router import router as enforcement_router
from autopack.autopilot.execution.worker import start_execution_worker
from autopack.autopilot.router import router as autopilot_router
from autopack.autopilot.router import tenant_router as autopilot_tenant_router
from autopack.budget import service as budget
from autopack.core import mirror
from autopack.core.database import check_schema_current
from autopack.core.fastpath import OwnResponse, RouteFastPath, declared_route, served_route
from autopack.core.handlers import install_handlers
from autopack.core.logging import configure_logging, get_logger
from autopack.core.middleware import RequestContextMiddleware, RequestGuardMiddleware
from autopack.core.request_metrics import RequestMetricsMiddleware
from autopack.core.settings import get_settings
from autopack.core.startup import StartupRefusals
from autopack.dashboard.router import router as dashboard_router
from autopack.dashboard.router import run_status as dashboard_run_status
from autopack.error_reports.reporter import request_report, save_report
from autopack.error_reports.router import router as errors_router
from autopack.events.router import router as events_router
from autopack.files.router import router as files_router
from autopack.governance import telegram_actions as governance_buttons
from autopack.governance.router import router as governance_router
from autopack.health.router import router as health_router
from autopack.issues.router import router as issues_router
from autopack.metrics.router import router as metrics_router
from autopack.oauth.router import router as oauth_router
from autopack.oauth.worker import start_refresh_worker
from autopack.operator.router import list_runs, run_progress
from autopack.operator.router import router as operator_router
from autopack.phases import router as phase_endpoints
from autopack.phases.governance import decide_request
from autopack.phases.router import router as phases_router
from autopack.research.router import router as research_router
from autopack.runs.router import get_run
from autopack.runs.router import router as runs_router
from autopack.storage.router import router as storage_router
from autopack.storage.worker import start_storage_worker
from autopack.telegram.router import router as telegram_router
from autopack.tenants.router import router as tenants_router
from autopack.usage.router import record_usage
from autopack.usage.router import router as usage_router
from autopack.web.router import router as web_router


def check_startup() -> None:
    """Refuse to start unsafe (production without a key) or on an un-migrated database."""
    settings = get_settings()
    if settings.is_production and settings.api_key is None:
        raise RuntimeError(KEY_REQUIRED_IN_PRODUCTION)
    check_schema_current()


@asynccontextmanager
async def lifespan(app: FastAPI):
    """Start-up checks; background workers join here as they are built."""
    check_startup()
    get_logger(__name__).info("autopack_started", version=__version__,
                              env=get_settings().autopack_env)
    oauth_refresh_worker = start_refresh_worker()
    approval_worker = start_approval_worker()
    execution_worker = start_execution_worker()
    storage_worker = start_storage_worker()
    gc.freeze()  # start-up objects (metadata, routes) leave the collector's work: fewer long pauses
    try:
        yield
    finally:
        mirror.flush()
        if storage_worker is not None:
            storage_worker.stop()
        if execution_worker is not None:
            execution_worker.stop()
        if approval_worker is not None:
            approval_worker.stop()
        if oauth_refresh_worker is not None:
            oauth_refresh_worker.stop()


def fast_routes() -> tuple:
    """The routes answered before routing: what executors, consoles and the autopilot's callers send most."""
    return (declared_route(runs_router, get_run), declared_route(operator_router, list_runs),
            declared_route(operator_router, run_progress),
            declared_route(dashboard_router, dashboard_run_status),
            declared_route(phases_router, phase_endpoints.update_status),
            declared_route(phases_router, phase_endpoints.builder_result),
            declared_route(phases_router, phase_endpoints.auditor_result),
            declared_route(usage_router, record_usage),
            # The autopilot's hot writes: their endpoints answer with the envelope's own Response.
            *(OwnResponse(served_route(autopilot_router, declaring, endpoint)) for declaring, endpoint in (
                (enforcement_router, enforcement_check), (autopilot_actions_router, queue_action),
                (autopilot_actions_router, approve_action), (autopilot_actions_router, dismiss_action))))


def create_app() -> FastAPI:
    """Build the application from settings."""
    settings = get_settings()
    configure_logging(production=settings.is_production, level=settings.log_level)
    docs_public = settings.docs_public if settings.docs_public is not None else not settings.is_production
    app = FastAPI(
        title="Autopack",
        version=__version__,
        description="Control plane for governed autonomy: runs, tiers and phases driven by an executor.",
        lifespan=lifespan,
        # The API map helps an attacker as much as a user: off in production unless asked for.
        openapi_url="/openapi.json" if docs_public else None,
        docs_url="/docs" if docs_public else None,
        redoc_url="/redoc" if docs_public else None,
    )
    install_handlers(app, build_report=request_report, save_report=save_report)
    if settings.cors_allowed_origins.strip():
        app.add_middleware(
            CORSMiddleware,
            allow_origins=[o.strip() for o in settings.cors_allowed_origins.split(",") if o.strip()],
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
            allow_headers=["*"],
            max_age=600,
        )
    # Innermost of ours (inside the guard and the request ids): the hot routes skip the routing.
    app.add_middleware(RouteFastPath, routes=fast_routes())
    # Uploads stream to disk under their own limit (AUTOPACK_UPLOAD_MAX_BYTES), never buffered whole.
    app.add_middleware(RequestGuardMiddleware, max_bytes=settings.max_body_bytes, streamed_paths=("/files/upload",))
    app.add_middleware(RequestContextMiddleware, access_log=settings.access_log)
    app.add_middleware(RequestMetricsMiddleware)  # outermost of ours: refused heads are counted too
    app.add_middleware(StartupRefusals)  # a refused start-up (un-migrated database) is one line, no traceback
    # Telegram buttons decide through the same functions as the web endpoints.
    approval_buttons.register()
    governance_buttons.register(decide_request)
    budget.register()  # budget requests decided through approvals; time budgets checked by its worker
    for router in (
        health_router,
        metrics_router,
        runs_router,
        phases_router,
        operator_router,
        usage_router,
        dashboard_router,
        issues_router,
        errors_router,
        governance_router,
        approvals_router,
        telegram_router,
        audit_router,
        auth_router,
        oauth_router,
        tenants_router,
        autopilot_router,
        autopilot_tenant_router,
        events_router,
        storage_router,
        files_router,
        research_router,
        web_router,
    ):
        app.include_router(router)
    return app


app = create_app()
