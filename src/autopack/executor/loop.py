"""The executor's loop (reference §12), as a pure API client: phases in order, builder to auditor."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autopack.client.errors import AutopackError, Conflict, NotFound, ValidationFailed
from autopack.executor.builders import ApproveAll, Auditor, Build, Builder, StepError
from autopack.executor.waiting import wait_for
from autopack.executor.workspace import (
    Snapshot,
    apply_patch,
    diff_counts,
    outside_of_scope,
    run_checks,
    snapshot_file,
)

DONE_PREFIX = "DONE_"
BUDGET_EXHAUSTED = "DONE_FAILED_BUDGET_EXHAUSTED"
NOT_AUTOPACK = "the server at this URL is not an Autopack server (/health is not service: autopack)"
# A phase an interrupted executor left in progress is retried first, then the queued ones.
RUNNABLE = ("EXECUTING", "GATE", "CI_RUNNING", "QUEUED")


class ExecutorError(Exception):
    """The executor cannot drive this run (wrong server, unknown run)."""


@dataclass
class Options:
    """How the executor works a phase."""

    max_attempts: int = 3
    check_timeout: float = 600.0
    default_checks: list[str] = field(default_factory=list)
    max_net_deletion: int = 200  # a patch deleting more lines than it adds beyond this needs an approval
    poll_seconds: float = 2.0
    approval_timeout: float | None = None  # seconds to wait for a human; None: until the server times out


@dataclass
class Outcome:
    """What one executor session did."""

    completed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    stopped_reason: str | None = None
    final_state: str | None = None


class Executor:
    """Drives one run: health check, then each runnable phase until none is left or it must stop."""

    def __init__(self, client, run_id: str, workspace: Path, builder: Builder, auditor: Auditor | None = None,
                 options: Options | None = None, say: Callable[[str], None] = print):
        self.client, self.run_id, self.root = client, run_id, Path(workspace).resolve()
        self.builder, self.auditor = builder, auditor or ApproveAll()
        self.options, self.say = options or Options(), say
        # The server's phase6_metrics kill switch: from /health, then from each phase's metrics answer.
        self.phase6_metrics = False
        self.scope: dict[str, Any] = {}  # the current phase's scope and its first kind of failure
        self.first_failure: str | None = None

    def check_server(self) -> None:
        """Refuse a server that is not Autopack, or is unhealthy, or does not know the run."""
        try:
            health = self.client.health()
        except ValidationFailed as exc:
            if exc.status_code is not None and exc.status_code < 400:  # answered, but not Autopack's document
                raise ExecutorError(NOT_AUTOPACK) from None
            raise ExecutorError(f"health check failed: {exc.message}") from None
        except AutopackError as exc:
            raise ExecutorError(f"health check failed: {exc.message}") from None
        if health.service != "autopack":
            raise ExecutorError(NOT_AUTOPACK)
        if health.status not in ("healthy", "degraded"):
            raise ExecutorError(f"the server is {health.status}")
        self.phase6_metrics = health.kill_switches.phase6_metrics  # phase-6 telemetry is sent only when on
        try:
            self.client.get_run(self.run_id)
        except NotFound:
            raise ExecutorError(f"run {self.run_id} does not exist on this server") from None

    def run(self) -> Outcome:
        """Work phases until the run is done, a budget stop, or Ctrl-C (the current phase is put back)."""
        self.check_server()
        outcome = Outcome()
        while True:
            run = self.client.get_run(self.run_id)
            outcome.final_state = run.state
            if run.state.startswith(DONE_PREFIX):
                if run.state == BUDGET_EXHAUSTED:
                    outcome.stopped_reason = "budget"
                break
            phase = next_phase(run)
            if phase is None:
                break
            try:
                self.client.update_phase_status(self.run_id, phase.phase_id, "EXECUTING")
            except Conflict as exc:
                self.say(f"budget: {exc.message}")
                self.say("not taking more phases; waiting for the decision to extend the budget or stop")
                if not self.wait_for_budget():
                    outcome.stopped_reason = "budget"
                    outcome.final_state = self.client.get_run(self.run_id).state
                    break
                self.say("budget extended: taking phases again")
                continue
            self.say(f"phase {phase.phase_id}: {phase.name}")
            ok = self.work_phase(phase.model_dump(mode="json"))
            (outcome.completed if ok else outcome.failed).append(phase.phase_id)
        return outcome

    def wait_for_budget(self) -> bool:
        """Block until the run's hold is lifted (True) or the run ended (False)."""
        def decided() -> bool | None:
            run = self.client.get_run(self.run_id)
            if run.state.startswith(DONE_PREFIX):
                return False
            return True if run.budget_hold is None else None

        return wait_for(self.client, self.run_id, ("run.", "approval."), decided, self.options.poll_seconds)

    def work_phase(self, phase: dict[str, Any]) -> bool:
        """Builder, apply, checks, auditor with bounded retries; COMPLETE or FAILED (workspace reverted)."""
        phase_id, scope = phase["phase_id"], phase.get("scope") or {}
        allowed = strings(scope.get("paths"))
        ci = scope.get("ci")
        checks = strings(ci.get("commands") if isinstance(ci, dict) else ci) or self.options.default_checks
        feedback, tokens, snapshot = None, 0, None
        self.scope, self.first_failure = scope, None
        saved_at = snapshot_file(self.root, self.run_id, phase_id)
        left = Snapshot.load(self.root, saved_at)
        if left is not None:  # an interrupted executor applied this phase's patch: start clean
            left.restore()
            self.say("  restored the files an interrupted attempt had changed")
        try:
            for attempt in range(1, self.options.max_attempts + 1):
                request = {**phase, "run_id": self.run_id, "attempt": attempt, "feedback": feedback}
                try:
                    build = self.builder.build(request)
                except StepError as exc:
                    feedback = self._failed("builder_failed", f"the builder failed: {exc}")
                    self._builder_result(phase_id, allowed, None, attempt, tokens, "failed", feedback)
                    continue
                tokens += build.tokens
                self._usage(phase_id, build)
                self._builder_result(phase_id, allowed, build.patch, attempt, tokens, "success", "")
                counts = diff_counts(build.patch)
                if counts.removed - counts.added > self.options.max_net_deletion \
                        and not self._deletion_approved(phase_id, build.patch, counts):
                    return self._finish(phase_id, False, "the large deletion was not approved", tokens, attempt)
                outside = outside_of_scope(build.patch, allowed)
                if outside and not self._scope_approved(phase_id, build.patch, outside, allowed):
                    return self._finish(phase_id, False, "the files outside the phase's scope were not approved: "
                                        + ", ".join(outside), tokens, attempt)
                snapshot = Snapshot.of_patch(self.root, build.patch)
                snapshot.save(saved_at)
                problem = self._apply(phase_id, build.patch, allowed + outside)
                if problem == "denied":
                    return self._finish(phase_id, False, "governance denied the protected paths", tokens, attempt)
                if problem:
                    feedback = self._failed("patch_not_applied", f"the patch did not apply: {problem}")
                    self.say(f"  attempt {attempt}: {feedback}")
                    continue
                results = run_checks(self.root, checks, self.options.check_timeout)
                failed = [r for r in results if r.exit_code != 0]
                if failed:
                    snapshot.restore()
                    feedback = self._failed("check_failed", f"check {failed[0].command!r} failed "
                                            f"({failed[0].exit_code}):\n{failed[0].output}")
                    self.say(f"  attempt {attempt}: check {failed[0].command!r} failed")
                    continue
                verdict = self.auditor.audit({**request, "patch": build.patch,
                                              "checks": [r.__dict__ for r in results]})
                self.client.submit_auditor_result(self.run_id, phase_id, {
                    "phase_id": phase_id, "run_id": self.run_id, "review_notes": verdict.notes,
                    "recommendation": verdict.recommendation, "confidence": verdict.confidence,
                    "auditor_attempts": attempt, "tokens_used": verdict.tokens})
                if verdict.recommendation == "approve":
                    return self._finish(phase_id, True, verdict.notes, tokens, attempt)
                snapshot.restore()
                if verdict.recommendation == "escalate":
                    return self._finish(phase_id, False, f"auditor escalated: {verdict.notes}", tokens, attempt)
                feedback = self._failed("auditor_revise", f"the auditor asked for a revision: {verdict.notes}")
            return self._finish(phase_id, False, feedback or "no attempt succeeded", tokens,
                                self.options.max_attempts)
        except KeyboardInterrupt:
            if snapshot is not None:
                snapshot.restore()
            saved_at.unlink(missing_ok=True)
            self.client.update_phase_status(self.run_id, phase_id, "QUEUED")
            self.say(f"interrupted: workspace reverted, phase {phase_id} queued again")
            raise

    def _apply(self, phase_id: str, patch: str, allowed: list[str]) -> str | None:
        """None when applied; "denied" when governance refused; else why it did not apply."""
        result = apply_patch(self.root, patch, allowed)
        if result.violation is not None:
            paths = list(result.violation.paths)
            request = self.client.create_governance_request({
                "run_id": self.run_id, "phase_id": phase_id, "requested_paths": paths,
                "justification": result.violation.justification or f"phase {phase_id} needs {', '.join(paths)}",
                "patch_content": patch, "risk_level": result.violation.risk_level})
            self.say(f"  protected paths {', '.join(paths)}: governance request {request.request_id}; waiting")
            if not self.wait_for_governance(request.request_id):
                return "denied"
            result = apply_patch(self.root, patch, allowed, waived=tuple(paths))
        if result.applied:
            return None
        return result.error or ("the workspace changed under the patch" if result.stale else "not applied")

    def _deletion_approved(self, phase_id: str, patch: str, counts) -> bool:  # noqa: ANN001 - DiffCounts
        """Ask a human about a large net deletion (POST /approval/request) and wait for the answer."""
        net = counts.removed - counts.added
        return self._approved(phase_id, f"deletes {net} lines net", context="deletion", deletion_info={
            "net_deletion": net, "lines_removed": counts.removed, "lines_added": counts.added,
            "files": list(counts.files), "threshold": self.options.max_net_deletion}, patch_preview=patch[:4000])

    def _scope_approved(self, phase_id: str, patch: str, outside: list[str], allowed: list[str]) -> bool:
        """Ask a human about files outside the phase's scope paths and wait for the answer."""
        listed = ", ".join(outside)
        return self._approved(phase_id, f"files outside the phase's scope ({listed})", context="scope",
                              decision_info={
                                  "description": f"Phase {phase_id} changes files outside its scope "
                                                 f"({', '.join(allowed)}): {listed}",
                                  "files_outside_scope": outside, "allowed_paths": allowed,
                                  "risk_level": "medium"}, patch_preview=patch[:4000])

    def _approved(self, phase_id: str, what: str, **request) -> bool:  # noqa: ANN003 - POST /approval/request fields
        """Raise an approval request and wait for it: True only when approved (rejected or timed out: False)."""
        answer = self.client.request_approval(self.run_id, phase_id, **request)
        if answer.status == "approved":
            return True
        self.say(f"  {what}: approval request {answer.approval_id}; waiting")

        def decided() -> bool | None:
            status = self.client.approval_status(answer.approval_id).status
            return None if status == "pending" else status == "approved"

        approved = wait_for(self.client, self.run_id, ("approval.",), decided, self.options.poll_seconds,
                            timeout=self.options.approval_timeout)
        if approved is None:
            self.say(f"  approval request {answer.approval_id}: no answer in {self.options.approval_timeout:g}s")
        return approved is True

    def wait_for_governance(self, request_id: str) -> bool:
        """Block until the governance request is decided: True when approved."""
        def decided() -> bool | None:
            return self.client.governance_request(request_id).approved

        return wait_for(self.client, self.run_id, ("governance.",), decided, self.options.poll_seconds)

    def _builder_result(self, phase_id: str, allowed: list[str], patch: str | None, attempt: int,
                        tokens: int, status: str, notes: str) -> None:
        counts = diff_counts(patch or "")
        self.client.submit_builder_result(self.run_id, phase_id, {
            "phase_id": phase_id, "run_id": self.run_id, "allowed_paths": allowed, "patch_content": patch,
            "files_changed": list(counts.files), "lines_added": counts.added, "lines_removed": counts.removed,
            "builder_attempts": attempt, "tokens_used": tokens, "status": status, "notes": notes[:2000]})

    def _usage(self, phase_id: str, build: Build) -> None:
        if build.tokens:
            self.client.record_usage(self.run_id, [{
                "provider": build.provider, "model": build.model, "role": "builder", "phase_id": phase_id,
                "total_tokens": build.tokens, "prompt_tokens": build.prompt_tokens,
                "completion_tokens": build.completion_tokens}])

    def _failed(self, kind: str, feedback: str) -> str:
        """Remember the phase's first kind of failure (phase-6 telemetry); the feedback unchanged."""
        self.first_failure = self.first_failure or kind
        return feedback

    def _finish(self, phase_id: str, ok: bool, why: str, tokens: int, attempts: int) -> bool:
        state = "COMPLETE" if ok else "FAILED"
        snapshot_file(self.root, self.run_id, phase_id).unlink(missing_ok=True)
        self.client.update_phase_status(self.run_id, phase_id, state, builder_attempts=attempts,
                                        tokens_used=tokens)
        # Context is chosen by the phase's scope paths (lexical), and the phase spent `tokens` of it.
        metrics: dict[str, Any] = {"token_efficiency": {
            "budget_mode": "lexical", "budget_used": tokens, "phase_outcome": state}}
        if self.phase6_metrics:
            metrics["phase6"] = self._phase6(ok)
        answer = self.client.record_phase_metrics(self.run_id, phase_id, metrics)
        self.phase6_metrics = answer.phase6_enabled  # the switch as the server reads it now, for the next phase
        self.say(f"  {state}" + ("" if ok else f": {why.splitlines()[0][:300]}"))
        return ok

    def _phase6(self, ok: bool) -> dict[str, Any]:
        """Phase-6 figures the executor knows: the retry loop (failure hardening) and the plan's scope."""
        deliverables = self.scope.get("deliverables")
        return {"failure_hardening_triggered": self.first_failure is not None,
                "failure_pattern_detected": self.first_failure,
                "failure_hardening_mitigated": ok and self.first_failure is not None,
                "plan_deliverables_count": len(deliverables) if isinstance(deliverables, list | dict) else 0,
                "plan_scope_size_bytes": len(json.dumps(self.scope, default=str).encode())}


def next_phase(run):  # noqa: ANN001, ANN201 - a RunResponse in, a PhaseResponse or None out
    """The first runnable phase in (tier_index, phase_index) order."""
    tier_index = {t.id: t.tier_index for t in run.tiers}
    ordered = sorted(run.phases, key=lambda p: (tier_index.get(p.tier_id, 0), p.phase_index))
    for state in RUNNABLE:
        for phase in ordered:
            if phase.state == state:
                return phase
    return None


def strings(value: Any) -> list[str]:
    """A plan field that may be one string or a list of them, as a list of non-empty strings."""
    items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return [str(item) for item in items if isinstance(item, str | int | float) and str(item).strip()]
