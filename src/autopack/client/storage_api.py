"""Storage management, file uploads and research sessions (the contract's sections 11-13)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from autopack.client.calls import Call, Ref, body, query

if TYPE_CHECKING:
    from autopack.files.schemas import UploadList, UploadResponse
    from autopack.research.schemas import NoteOut, ResearchSession, ResearchSessionDetail
    from autopack.storage.schemas import (
        ApprovalResponse,
        BatchExecutionResponse,
        LearnedRuleResponse,
        PatternResponse,
        RecommendationsListResponse,
        SteamGamesListResponse,
        StorageScanDetailResponse,
        StorageScanResponse,
    )


def _storage(name: str, many: bool = False) -> Ref:
    return Ref("storage", name, many)


def _research(name: str, many: bool = False) -> Ref:
    return Ref("research", name, many)


class StorageApi:
    """Methods defined once for both clients (see `RunsApi`)."""

    def _send(self, call: Call) -> Any:
        raise NotImplementedError

    # storage scans (starting, deciding and executing need a decider)
    def start_storage_scan(self, request: Any) -> StorageScanResponse:
        """POST /storage/scan: scan a directory (200 done, or 202 queued for the background worker)."""
        return self._send(Call("POST", "/storage/scan", json=body(_storage("StorageScanRequest"), request),
                               model=_storage("StorageScanResponse")))

    def storage_scans(self, limit: int = 50, offset: int = 0, since_days: int | None = None,
                      scan_type: str | None = None, scan_target: str | None = None) -> list[StorageScanResponse]:
        """GET /storage/scans."""
        params = query(limit=limit, offset=offset, since_days=since_days, scan_type=scan_type, scan_target=scan_target)
        return self._send(Call("GET", "/storage/scans", params=params, model=_storage("StorageScanResponse", True)))

    def storage_scan(self, scan_id: int, limit: int = 1000, offset: int = 0) -> StorageScanDetailResponse:
        """GET /storage/scans/{id}: the scan with its cleanup candidates."""
        return self._send(Call("GET", f"/storage/scans/{scan_id}", params=query(limit=limit, offset=offset),
                               model=_storage("StorageScanDetailResponse")))

    def cancel_storage_scan(self, scan_id: int) -> StorageScanResponse:
        """POST /storage/scans/{id}/cancel."""
        return self._send(Call("POST", f"/storage/scans/{scan_id}/cancel", model=_storage("StorageScanResponse")))

    def approve_storage_scan(self, scan_id: int, decision: Any) -> ApprovalResponse:
        """POST /storage/scans/{id}/approve: approve or reject cleanup candidates."""
        return self._send(Call("POST", f"/storage/scans/{scan_id}/approve",
                               json=body(_storage("ApprovalRequest"), decision), model=_storage("ApprovalResponse")))

    def execute_storage_scan(self, scan_id: int, request: Any = None) -> BatchExecutionResponse:
        """POST /storage/scans/{id}/execute: a dry run unless `dry_run` is false."""
        return self._send(Call("POST", f"/storage/scans/{scan_id}/execute",
                               json=body(_storage("ExecutionRequest"), request or {}),
                               model=_storage("BatchExecutionResponse")))

    def restore_storage_scan(self, scan_id: int, candidate_ids: list[int] | None = None) -> BatchExecutionResponse:
        """POST /storage/scans/{id}/restore: put moved candidates back."""
        payload = body(_storage("RestoreRequest"), query(candidate_ids=candidate_ids))
        return self._send(Call("POST", f"/storage/scans/{scan_id}/restore", json=payload,
                               model=_storage("BatchExecutionResponse")))

    def steam_games(self, min_size_gb: float = 10.0, min_age_days: int = 180, include_all: bool = False,
                    limit: int = 500, offset: int = 0) -> SteamGamesListResponse:
        """GET /storage/steam/games."""
        params = query(min_size_gb=min_size_gb, min_age_days=min_age_days, include_all=str(include_all).lower(),
                       limit=limit, offset=offset)
        return self._send(Call("GET", "/storage/steam/games", params=params, model=_storage("SteamGamesListResponse")))

    def analyze_patterns(self, category: str | None = None, max_patterns: int = 10,
                         save_rules: bool = False) -> list[PatternResponse]:
        """POST /storage/patterns/analyze."""
        params = query(category=category, max_patterns=max_patterns, save_rules=str(save_rules).lower())
        return self._send(Call("POST", "/storage/patterns/analyze", params=params,
                               model=_storage("PatternResponse", True)))

    def learned_rules(self, status: str | None = None, limit: int = 100, offset: int = 0) -> list[LearnedRuleResponse]:
        """GET /storage/learned-rules."""
        return self._send(Call("GET", "/storage/learned-rules", params=query(status=status, limit=limit, offset=offset),
                               model=_storage("LearnedRuleResponse", True)))

    def approve_learned_rule(self, rule_id: int, approved_by: str) -> LearnedRuleResponse:
        """POST /storage/learned-rules/{id}/approve."""
        return self._send(Call("POST", f"/storage/learned-rules/{rule_id}/approve",
                               params={"approved_by": approved_by}, model=_storage("LearnedRuleResponse")))

    def reject_learned_rule(self, rule_id: int, rejected_by: str, notes: str | None = None) -> LearnedRuleResponse:
        """POST /storage/learned-rules/{id}/reject."""
        return self._send(Call("POST", f"/storage/learned-rules/{rule_id}/reject",
                               params=query(rejected_by=rejected_by, notes=notes),
                               model=_storage("LearnedRuleResponse")))

    def storage_recommendations(self, max_recommendations: int = 10,
                                lookback_days: int = 90) -> RecommendationsListResponse:
        """GET /storage/recommendations."""
        params = {"max_recommendations": max_recommendations, "lookback_days": lookback_days}
        return self._send(Call("GET", "/storage/recommendations", params=params,
                               model=_storage("RecommendationsListResponse")))

    # file uploads
    def upload_file(self, file: str | Path | tuple[str, bytes], run_id: str | None = None) -> UploadResponse:
        """POST /files/upload: a path, or (name, content); kept among the run's artifacts with `run_id`."""
        if isinstance(file, tuple):
            name, content = file
        else:
            name, content = Path(file).name, Path(file).read_bytes()  # bytes: a retry sends them again whole
        return self._send(Call("POST", "/files/upload", params=query(run_id=run_id), files={"file": (name, content)},
                               model=Ref("files", "UploadResponse")))

    def list_files(self, run_id: str | None = None, limit: int = 100, offset: int = 0) -> UploadList:
        """GET /files: uploads, newest first."""
        return self._send(Call("GET", "/files", params=query(run_id=run_id, limit=limit, offset=offset),
                               model=Ref("files", "UploadList")))

    # research sessions
    def research_sessions(self, limit: int = 100, offset: int = 0) -> list[ResearchSession]:
        """GET /research/sessions."""
        return self._send(Call("GET", "/research/sessions", params=query(limit=limit, offset=offset),
                               model=_research("ResearchSession", True)))

    def create_research_session(self, topic: str, description: str) -> ResearchSession:
        """POST /research/sessions."""
        payload = body(_research("SessionCreate"), {"topic": topic, "description": description})
        return self._send(Call("POST", "/research/sessions", json=payload, model=_research("ResearchSession")))

    def research_session(self, session_id: str) -> ResearchSessionDetail:
        """GET /research/sessions/{id}: with its notes and sources."""
        return self._send(Call("GET", f"/research/sessions/{session_id}", model=_research("ResearchSessionDetail")))

    def add_research_note(self, session_id: str, content: str, sources: list[dict] | None = None) -> NoteOut:
        """POST /research/sessions/{id}/notes."""
        payload = body(_research("NoteCreate"), {"content": content, "sources": sources or []})
        return self._send(Call("POST", f"/research/sessions/{session_id}/notes", json=payload,
                               model=_research("NoteOut")))
