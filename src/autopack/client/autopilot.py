"""`client.autopilot(tenant_id)`: the tenant-scoped Autopilot API (answers are the envelope's `data`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from autopack.client.calls import Call, Ref, body, next_cursor, query

if TYPE_CHECKING:
    from autopack.autopilot.actions.schemas import (
        ActionDecided,
        ActionOut,
        ActionPage,
        ActionQueued,
        ActionSummary,
        ApproveAllResult,
    )
    from autopack.autopilot.config.schemas import AutopilotStatus, ConfigChanged
    from autopack.autopilot.enforcement.schemas import (
        CheckResult,
        ConfirmationAccepted,
        EnforcementRule,
        InterventionLogPage,
        KillSwitchChanged,
        RuleAdded,
        RuleDeleted,
        SettingsRead,
        SettingsUpdated,
    )
    from autopack.autopilot.signal_health.schemas import DryRunResult, SignalHealth, SignalHealthRecorded


def _actions(name: str) -> Ref:
    return Ref("autopilot.actions", name)


def _config(name: str) -> Ref:
    return Ref("autopilot.config", name)


def _enforcement(name: str) -> Ref:
    return Ref("autopilot.enforcement", name)


def _health(name: str) -> Ref:
    return Ref("autopilot.signal_health", name)


class Autopilot:
    """One tenant's autopilot, through a `Client` or an `AsyncClient` (same methods; async returns awaitables)."""

    def __init__(self, client: Any, tenant_id: int):
        self._client = client
        self.tenant_id = tenant_id
        self.base = f"/api/v1/tenant/{tenant_id}/autopilot"

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._client._send(Call(method, f"{self.base}{path}", envelope=True, **kwargs))

    # status and configuration
    def status(self) -> AutopilotStatus:
        """GET /status: level, caps, pending actions, freeze, and why approved actions are held."""
        return self._call("GET", "/status", model=_config("AutopilotStatus"))

    def update_config(self, **changes: Any) -> ConfigChanged:
        """PUT /config: level, caps, feature flags, trust thresholds (partial; None clears a cap)."""
        return self._call("PUT", "/config", json=body(_config("ConfigUpdate"), changes),
                          model=_config("ConfigChanged"))

    def freeze(self, reason: str) -> ConfigChanged:
        """POST /freeze: stop all approvals and execution for the tenant (admin)."""
        return self._call("POST", "/freeze", json=body(_config("FreezeRequest"), {"reason": reason}),
                          model=_config("ConfigChanged"))

    def unfreeze(self, reason: str | None = None) -> ConfigChanged:
        """POST /unfreeze: let execution resume (admin)."""
        payload = body(_config("UnfreezeRequest"), query(reason=reason))
        return self._call("POST", "/unfreeze", json=payload, model=_config("ConfigChanged"))

    # actions
    def create_action(self, action: Any, confirmation_token: str | None = None) -> ActionQueued:
        """POST /actions: queue an action (enforcement first; 403 Forbidden with the contract's code)."""
        payload = body(_actions("QueueActionRequest"), action,
                       **query(confirmation_token=confirmation_token))
        return self._call("POST", "/actions", json=payload, model=_actions("ActionQueued"))

    def get_action(self, action_id: str) -> ActionOut:
        """GET /actions/{id}."""
        return self._call("GET", f"/actions/{action_id}", model=_actions("ActionRead"),
                          after=lambda answer: answer.action)

    def actions_page(self, *, status: str | None = None, platform: str | None = None, on_date: str | None = None,
                     limit: int = 50, cursor: str | None = None) -> ActionPage:
        """GET /actions: one page (`actions`, `next_cursor`)."""
        return self._client._send(self._page_call(status, platform, on_date, limit, cursor))

    def list_actions(self, *, status: str | None = None, platform: str | None = None,
                     on_date: str | None = None, page_size: int = 50):
        """Every action matching the filters, newest first, page after page."""
        return self._client._iterate(self._page_call(status, platform, on_date, page_size, None),
                                     lambda call, page: (page.actions, next_cursor(call, page)))

    def _page_call(self, status, platform, on_date, limit, cursor) -> Call:
        params = query(status=status, platform=platform, date=on_date, limit=limit, cursor=cursor)
        return Call("GET", f"{self.base}/actions", params=params, envelope=True, model=_actions("ActionPage"))

    def actions_summary(self, days: int = 7) -> ActionSummary:
        """GET /actions/summary: counts by status and type over the last `days` days."""
        return self._call("GET", "/actions/summary", params={"days": days}, model=_actions("ActionSummary"))

    def approve(self, action_id: str) -> ActionDecided:
        """POST /actions/{id}/approve: queued → approved (the execution worker applies it)."""
        return self._call("POST", f"/actions/{action_id}/approve", model=_actions("ActionDecided"))

    def approve_all(self, action_ids: list[str]) -> ApproveAllResult:
        """POST /actions/approve-all: one transaction; unknown or not-queued ids come back in `skipped`."""
        payload = body(_actions("ApproveAllRequest"), {"action_ids": list(action_ids)})
        return self._call("POST", "/actions/approve-all", json=payload, model=_actions("ApproveAllResult"))

    def dismiss(self, action_id: str) -> ActionDecided:
        """POST /actions/{id}/dismiss: queued → dismissed."""
        return self._call("POST", f"/actions/{action_id}/dismiss", model=_actions("ActionDecided"))

    def dry_run(self, action: Any) -> DryRunResult:
        """POST /actions/dry-run: the trust gate's decision, nothing executed."""
        return self._call("POST", "/actions/dry-run", json=body(_actions("CheckedProposal"), action),
                          model=_health("DryRunResult"))

    # enforcement
    def check(self, proposal: Any) -> CheckResult:
        """POST /enforcement/check: allowed? violations, and a confirmation token on a soft block."""
        return self._call("POST", "/enforcement/check", json=body(_enforcement("CheckRequest"), proposal),
                          model=_enforcement("CheckResult"))

    def confirm(self, confirmation_token: str, override_reason: str | None = None) -> ConfirmationAccepted:
        """POST /enforcement/confirm: confirm a soft-blocked action (single use)."""
        payload = body(_enforcement("ConfirmRequest"),
                       query(confirmation_token=confirmation_token, override_reason=override_reason))
        return self._call("POST", "/enforcement/confirm", json=payload, model=_enforcement("ConfirmationAccepted"))

    def settings(self) -> SettingsRead:
        """GET /enforcement/settings: `settings` (with `rules`) and `modes`."""
        return self._call("GET", "/enforcement/settings", model=_enforcement("SettingsRead"))

    def update_settings(self, **changes: Any) -> SettingsUpdated:
        """PUT /enforcement/settings: partial update (admin)."""
        return self._call("PUT", "/enforcement/settings", json=body(_enforcement("SettingsUpdate"), changes),
                          model=_enforcement("SettingsUpdated"))

    def kill_switch(self, enabled: bool, reason: str) -> KillSwitchChanged:
        """POST /enforcement/kill-switch: turn enforcement on or off (admin, audited)."""
        payload = body(_enforcement("KillSwitchRequest"), {"enabled": enabled, "reason": reason})
        return self._call("POST", "/enforcement/kill-switch", json=payload, model=_enforcement("KillSwitchChanged"))

    def audit_log(self, *, days: int = 30, limit: int = 100, cursor: str | None = None,
                  **filters: Any) -> InterventionLogPage:
        """GET /enforcement/audit-log: one page of interventions, newest first (`next_cursor`)."""
        return self._call("GET", "/enforcement/audit-log",
                          params=query(days=days, limit=limit, cursor=cursor, **filters),
                          model=_enforcement("InterventionLogPage"))

    def rules(self) -> list[EnforcementRule]:
        """The tenant's custom rules (from GET /enforcement/settings)."""
        return self._call("GET", "/enforcement/settings", model=_enforcement("SettingsRead"),
                          after=lambda answer: answer.settings.rules)

    def add_rule(self, rule: Any) -> RuleAdded:
        """POST /enforcement/rules: a custom rule (admin; 409 Conflict when the id exists)."""
        return self._call("POST", "/enforcement/rules", json=body(_enforcement("RuleCreate"), rule),
                          model=_enforcement("RuleAdded"))

    def delete_rule(self, rule_id: str) -> RuleDeleted:
        """DELETE /enforcement/rules/{rule_id}."""
        return self._call("DELETE", f"/enforcement/rules/{rule_id}", model=_enforcement("RuleDeleted"))

    # signal health and events
    def post_signal_health(self, readings: list[dict[str, Any]]) -> SignalHealthRecorded:
        """POST /signal-health: readings (one per platform); answers the resulting health."""
        payload = body(_health("ReadingsRequest"), {"readings": readings})
        return self._call("POST", "/signal-health", json=payload, model=_health("SignalHealthRecorded"))

    def signal_health(self, platform: str | None = None) -> SignalHealth:
        """GET /signal-health: overall and per-platform score and status."""
        return self._call("GET", "/signal-health", params=query(platform=platform), model=_health("SignalHealth"))

    def events(self, last_event_id: int | None = None, *, once: bool = False):
        """The tenant's event stream; resumes after a dropped connection (see `Client.events`)."""
        return self._client._stream(f"{self.base}/events", last_event_id, once)

