"""The executor's endpoints: runs, phases, results, usage, issues, error reports, approvals, governance."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from autopack.client.calls import Call, Ref, body, next_offset, query

if TYPE_CHECKING:  # the answers' types; imported on first use at run time (calls.Ref)
    from autopack.approvals.schemas import ApprovalRequestResponse, ApprovalStatus, PendingList
    from autopack.error_reports.schemas import ErrorListResponse, ErrorSummaryResponse
    from autopack.governance.schemas import (
        DecisionResponse,
        GovernanceRequestDetail,
        GovernanceRequestOut,
        PendingPage,
    )
    from autopack.issues.schemas import ProjectBacklogResponse, RecordIssueResponse, RunIssueIndexResponse
    from autopack.operator.schemas import RunListResponse, RunProgressResponse
    from autopack.phases.schemas import BuilderResultResponse, MessageResponse
    from autopack.runs.schemas import PhaseStatusResponse, RunResponse
    from autopack.usage.schemas import PhaseMetricsResponse, UsageBatchResponse


def _phase(run_id: str, phase_id: str, what: str) -> str:
    return f"/runs/{run_id}/phases/{phase_id}/{what}"


class RunsApi:
    """Methods defined once for both clients: each returns `self._send(call)` (a value, or an awaitable)."""

    def _send(self, call: Call) -> Any:
        raise NotImplementedError

    def _iterate(self, call: Call, pager) -> Any:
        raise NotImplementedError

    # runs and phases
    def start_run(self, run: Any) -> RunResponse:
        """POST /runs/start: a `RunStartRequest` (or dict) with the run, its tiers and phases."""
        return self._send(Call("POST", "/runs/start", json=body(Ref("runs", "RunStartRequest"), run),
                               model=Ref("runs", "RunResponse")))

    def get_run(self, run_id: str) -> RunResponse:
        """GET /runs/{run_id}: the run with its tiers and phases."""
        return self._send(Call("GET", f"/runs/{run_id}", model=Ref("runs", "RunResponse")))

    def list_runs(self, limit: int = 20, offset: int = 0) -> RunListResponse:
        """GET /runs: one page of runs, newest first."""
        return self._send(_runs_page(limit, offset))

    def iter_runs(self, page_size: int = 100):
        """Every run, page after page."""
        return self._iterate(_runs_page(page_size, 0), lambda call, page: (page.runs, next_offset(call, page, "runs")))

    def run_progress(self, run_id: str) -> RunProgressResponse:
        """GET /runs/{run_id}/progress: phase-by-phase progress."""
        return self._send(Call("GET", f"/runs/{run_id}/progress", model=Ref("operator", "RunProgressResponse")))

    def update_phase_status(self, run_id: str, phase_id: str, state: str, **fields: Any) -> PhaseStatusResponse:
        """POST .../update_status: the phase's new state and counters (`tokens_used`, `builder_attempts`...)."""
        payload = body(Ref("runs", "PhaseStatusUpdate"), fields, state=state)
        return self._send(Call("POST", _phase(run_id, phase_id, "update_status"), json=payload,
                               model=Ref("runs", "PhaseStatusResponse")))

    def submit_builder_result(self, run_id: str, phase_id: str, result: Any) -> BuilderResultResponse:
        """POST .../builder_result: a `BuilderResult` (a maintenance run's patch is applied by the server)."""
        return self._send(Call("POST", _phase(run_id, phase_id, "builder_result"),
                               json=body(Ref("phases", "BuilderResult"), result),
                               model=Ref("phases", "BuilderResultResponse")))

    def submit_auditor_result(self, run_id: str, phase_id: str, result: Any) -> MessageResponse:
        """POST .../auditor_result: an `AuditorResult` (notes, recommendation, issues, patches)."""
        return self._send(Call("POST", _phase(run_id, phase_id, "auditor_result"),
                               json=body(Ref("phases", "AuditorResult"), result),
                               model=Ref("phases", "MessageResponse")))

    def phase_results(self, run_id: str, phase_id: str, page_size: int = 100, full: bool = False):
        """Every builder and auditor result of a phase, oldest first, page after page (`full`: patch texts
        and probe outputs, for a caller with operator read access)."""
        call = Call("GET", _phase(run_id, phase_id, "results"),
                    params=query(limit=page_size, offset=0, full="true" if full else None),
                    model=Ref("phases", "PhaseResultsPage"))
        return self._iterate(call, lambda call, page: (page.results, next_offset(call, page, "results")))

    def record_issue(self, run_id: str, phase_id: str, issue_key: str, *, severity: str, source: str,
                     category: str, task_category: str | None = None, complexity: str | None = None,
                     evidence_refs: list[str] | None = None) -> RecordIssueResponse:
        """POST .../record_issue: an issue seen in a phase."""
        params = query(issue_key=issue_key, severity=severity, source=source, category=category,
                       task_category=task_category, complexity=complexity)
        return self._send(Call("POST", _phase(run_id, phase_id, "record_issue"), params=params,
                               json=evidence_refs, model=Ref("issues", "RecordIssueResponse")))

    def record_usage(self, run_id: str, events: list[Any]) -> UsageBatchResponse:
        """POST /runs/{run_id}/usage: a batch of LLM usage events (1..1000)."""
        return self._send(Call("POST", f"/runs/{run_id}/usage", json=body(Ref("usage", "UsageBatch"),
                                                                          {"events": events}),
                               model=Ref("usage", "UsageBatchResponse")))

    def record_phase_metrics(self, run_id: str, phase_id: str, metrics: Any) -> PhaseMetricsResponse:
        """POST .../metrics: token-efficiency and phase-6 metrics of a phase."""
        return self._send(Call("POST", _phase(run_id, phase_id, "metrics"),
                               json=body(Ref("usage", "PhaseMetricsIn"), metrics),
                               model=Ref("usage", "PhaseMetricsResponse")))

    def run_issue_index(self, run_id: str, limit: int = 1000, offset: int = 0) -> RunIssueIndexResponse:
        """GET /runs/{run_id}/issues/index."""
        return self._send(Call("GET", f"/runs/{run_id}/issues/index", params=query(limit=limit, offset=offset),
                               model=Ref("issues", "RunIssueIndexResponse")))

    def project_backlog(self, limit: int = 1000, offset: int = 0) -> ProjectBacklogResponse:
        """GET /project/issues/backlog."""
        return self._send(Call("GET", "/project/issues/backlog", params=query(limit=limit, offset=offset),
                               model=Ref("issues", "ProjectBacklogResponse")))

    def run_errors(self, run_id: str, limit: int = 100, offset: int = 0) -> ErrorListResponse:
        """GET /runs/{run_id}/errors: stored error reports of the run."""
        return self._send(Call("GET", f"/runs/{run_id}/errors", params=query(limit=limit, offset=offset),
                               model=Ref("error_reports", "ErrorListResponse")))

    def run_errors_summary(self, run_id: str) -> ErrorSummaryResponse:
        """GET /runs/{run_id}/errors/summary."""
        return self._send(Call("GET", f"/runs/{run_id}/errors/summary",
                               model=Ref("error_reports", "ErrorSummaryResponse")))

    # approvals
    def request_approval(self, run_id: str, phase_id: str, *, context: str = "unknown",
                         decision_info: dict | None = None, deletion_info: dict | None = None,
                         patch_preview: str | None = None, **fields: Any) -> ApprovalRequestResponse:
        """POST /approval/request: ask a human to approve a risky decision."""
        payload = body(Ref("approvals", "ApprovalRequestIn"), fields, run_id=run_id, phase_id=phase_id,
                       context=context, **query(decision_info=decision_info, deletion_info=deletion_info,
                                                patch_preview=patch_preview))
        return self._send(Call("POST", "/approval/request", json=payload,
                               model=Ref("approvals", "ApprovalRequestResponse")))

    def approval_status(self, approval_id: int) -> ApprovalStatus:
        """GET /approval/status/{id}: `pending`, `approved`, `rejected` or `timeout` (never approved)."""
        return self._send(Call("GET", f"/approval/status/{approval_id}", model=Ref("approvals", "ApprovalStatus")))

    def pending_approvals(self, limit: int = 100, offset: int = 0) -> PendingList:
        """GET /approval/pending: one page of pending requests."""
        return self._send(_approvals_page(limit, offset))

    def iter_pending_approvals(self, page_size: int = 100):
        """Every pending approval request."""
        return self._iterate(_approvals_page(page_size, 0),
                             lambda call, page: (page.requests, next_offset(call, page, "requests", "count")))

    def decide_approval(self, approval_id: int, approve: bool, reason: str | None = None,
                        amount: int | None = None) -> ApprovalStatus:
        """POST /approval/{id}/approve or /reject (a decider's credential; never the raiser's)."""
        payload = body(Ref("approvals", "ApprovalDecisionIn"), query(reason=reason, amount=amount))
        verb = "approve" if approve else "reject"
        return self._send(Call("POST", f"/approval/{approval_id}/{verb}", json=payload,
                               model=Ref("approvals", "ApprovalStatus")))

    # governance
    def governance_pending(self, limit: int = 100, offset: int = 0) -> PendingPage:
        """GET /governance/pending: one page of pending governance requests."""
        return self._send(_governance_page(limit, offset))

    def iter_governance_pending(self, page_size: int = 100):
        """Every pending governance request."""
        return self._iterate(_governance_page(page_size, 0),
                             lambda call, page: (page.pending_requests,
                                                 next_offset(call, page, "pending_requests")))

    def governance_request(self, request_id: str) -> GovernanceRequestDetail:
        """GET /governance/request/{id}: one request with its patch."""
        return self._send(Call("GET", f"/governance/request/{request_id}",
                               model=Ref("governance", "GovernanceRequestDetail")))

    def create_governance_request(self, request: Any) -> GovernanceRequestOut:
        """POST /governance/request: ask to touch protected paths."""
        return self._send(Call("POST", "/governance/request",
                               json=body(Ref("governance", "GovernanceRequestCreate"), request),
                               model=Ref("governance", "GovernanceRequestOut")))

    def decide_governance(self, request_id: str, approve: bool, reason: str | None = None) -> DecisionResponse:
        """POST /governance/approve/{id}?approved=...: approve (the server applies the patch) or deny."""
        params = query(approved="true" if approve else "false", reason=reason)
        return self._send(Call("POST", f"/governance/approve/{request_id}", params=params,
                               model=Ref("governance", "DecisionResponse")))


def _runs_page(limit: int, offset: int) -> Call:
    return Call("GET", "/runs", params={"limit": limit, "offset": offset}, model=Ref("operator", "RunListResponse"))


def _approvals_page(limit: int, offset: int) -> Call:
    return Call("GET", "/approval/pending", params={"limit": limit, "offset": offset},
                model=Ref("approvals", "PendingList"))


def _governance_page(limit: int, offset: int) -> Call:
    return Call("GET", "/governance/pending", params={"limit": limit, "offset": offset},
                model=Ref("governance", "PendingPage"))
