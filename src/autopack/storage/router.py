"""/storage: scans, decisions, execution and restore, Steam games, learned rules, recommendations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool

from autopack.auth.deps import (
    Principal,
    actor_of,
    verify_production_read,
    verify_read_access,
    verify_write_access,
)
from autopack.auth.privileges import require_decider
from autopack.core.database import ReadSession, WriteSession
from autopack.core.responses import json_response
from autopack.storage import decisions, patterns, recommendations, service, steam
from autopack.storage.schemas import (
    ApprovalRequest,
    ApprovalResponse,
    BatchExecutionResponse,
    ExecutionRequest,
    LearnedRuleResponse,
    PatternResponse,
    RecommendationsListResponse,
    RestoreRequest,
    SteamGamesListResponse,
    StorageScanDetailResponse,
    StorageScanRequest,
    StorageScanResponse,
)

router = APIRouter(prefix="/storage", tags=["storage"])
Decider = Annotated[Principal | None, Depends(require_decider)]
Reader = Depends(verify_read_access)
OpenRead = Depends(verify_production_read)


@router.post("/scan", response_model=StorageScanResponse,
             responses={202: {"model": StorageScanResponse, "description": "queued for the background worker"}})
def start_scan(body: StorageScanRequest, session: WriteSession, principal: Decider):
    """Scan a directory under AUTOPACK_STORAGE_ROOTS (inline when small, else in the background: 202)."""
    document, status = service.create_scan(session, body, actor_of(principal))
    return json_response(document, status_code=status)


@router.get("/scans", response_model=list[StorageScanResponse], dependencies=[Reader])
def list_scans(session: ReadSession, limit: int = 50, offset: int = 0,
               since_days: Annotated[int | None, Query(ge=0, le=36500)] = None,
               scan_type: Annotated[str | None, Query(max_length=20)] = None,
               scan_target: Annotated[str | None, Query(max_length=4096)] = None):
    """Scans, newest first (limit capped at 200)."""
    limit, offset = min(max(limit, 1), 200), min(max(offset, 0), 2**31 - 1)
    return json_response(service.list_scans(session, limit=limit, offset=offset, since_days=since_days,
                                            scan_type=scan_type, scan_target=scan_target))


@router.get("/scans/{scan_id}", response_model=StorageScanDetailResponse, dependencies=[Reader])
def scan_detail(scan_id: int, session: ReadSession, limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
                offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0):
    """The scan (its progress while it runs), its candidates by size, stats by category."""
    return json_response(service.scan_detail(session, scan_id, limit, offset))


@router.post("/scans/{scan_id}/cancel", response_model=StorageScanResponse)
def cancel_scan(scan_id: int, session: WriteSession, principal: Decider):
    """Cancel a queued or running scan."""
    return json_response(service.cancel_scan(session, scan_id))


@router.post("/scans/{scan_id}/approve", response_model=ApprovalResponse)
def approve(scan_id: int, body: ApprovalRequest, session: WriteSession, principal: Decider):
    """Approve, reject or defer candidates of the scan (audited)."""
    return json_response(decisions.decide(session, scan_id, body, actor_of(principal)))


@router.post("/scans/{scan_id}/execute", response_model=BatchExecutionResponse)
def execute(scan_id: int, session: WriteSession, principal: Decider, body: ExecutionRequest | None = None):
    """Move approved candidates to the restorable trash (a dry run unless dry_run is false; audited)."""
    return json_response(decisions.execute(session, scan_id, body or ExecutionRequest(), actor_of(principal)))


@router.post("/scans/{scan_id}/restore", response_model=BatchExecutionResponse)
def restore(scan_id: int, session: WriteSession, principal: Decider, body: RestoreRequest | None = None):
    """Put executed candidates back where they were (audited)."""
    ids = body.candidate_ids if body is not None else None
    return json_response(decisions.restore(session, scan_id, ids, actor_of(principal)))


@router.get("/steam/games", response_model=SteamGamesListResponse, dependencies=[OpenRead])
async def steam_games(min_size_gb: Annotated[float, Query(ge=0, le=1_000_000)] = 10.0,
                      min_age_days: Annotated[int, Query(ge=0, le=36500)] = 180, include_all: bool = False,
                      limit: Annotated[int, Query(ge=1, le=5000)] = 500,
                      offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0):
    """Installed Steam games by size and age (steam_available false when there is no install)."""
    return json_response(await run_in_threadpool(steam.steam_report, min_size_gb, min_age_days, include_all,
                                                 limit, offset))


@router.post("/patterns/analyze", response_model=list[PatternResponse])
def analyze_patterns(session: WriteSession, principal: Annotated[Principal | None, Depends(verify_write_access)],
                     category: Annotated[str | None, Query(max_length=50)] = None,
                     max_patterns: Annotated[int, Query(ge=1, le=1000)] = 10, save_rules: bool = False):
    """Patterns in the decisions so far; save_rules=true stores new ones as pending learned rules."""
    found = patterns.analyze(session, category, max_patterns)
    if save_rules:
        patterns.save_rules(session, found)
    return json_response(found)


@router.get("/learned-rules", response_model=list[LearnedRuleResponse], dependencies=[OpenRead])
def learned_rules(session: ReadSession, status: Annotated[str | None, Query(max_length=20)] = None,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                  offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0):
    """Learned rules by confidence."""
    return json_response(patterns.list_rules(session, status, limit, offset))


@router.post("/learned-rules/{rule_id}/approve", response_model=LearnedRuleResponse)
def approve_rule(rule_id: int, session: WriteSession, principal: Decider,
                 approved_by: Annotated[str, Query(min_length=1, max_length=255)]):
    """Approve a rule: later scans classify with it (404 for an unknown rule; audited)."""
    return json_response(patterns.review_rule(session, rule_id, approved_by, "approved", actor_of(principal)))


@router.post("/learned-rules/{rule_id}/reject", response_model=LearnedRuleResponse)
def reject_rule(rule_id: int, session: WriteSession, principal: Decider,
                rejected_by: Annotated[str, Query(min_length=1, max_length=255)],
                notes: Annotated[str | None, Query(max_length=2000)] = None):
    """Reject a rule (404 for an unknown rule; audited)."""
    return json_response(patterns.review_rule(session, rule_id, rejected_by, "rejected", actor_of(principal), notes))


@router.get("/recommendations", response_model=RecommendationsListResponse, dependencies=[OpenRead])
def storage_recommendations(session: ReadSession, max_recommendations: Annotated[int, Query(ge=1, le=100)] = 10,
                            lookback_days: Annotated[int, Query(ge=1, le=3650)] = 90):
    """Recommendations from the scans of the last `lookback_days`."""
    return json_response(recommendations.recommendations(session, max_recommendations, lookback_days))
