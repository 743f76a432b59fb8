"""`client.autopilot(tenant_id)`: the tenant-scoped Autopilot API (answers are the envelope's `data`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from autopack.client.calls import Call, Ref, body, next_cursor, query

if TYPE_CHECKING:
    from autopack.autopilot.actions.schemas import ActionDecided, ActionOut, ActionQueued, ApproveAllResult


def _actions(name: str) -> Ref:
    return Ref("autopilot.actions", name)


class Autopilot:
    """One tenant's autopilot, through a `Client` or an `AsyncClient` (same methods; async returns awaitables)."""

    def __init__(self, client: Any, tenant_id: int):
        self._client = client
        self.tenant_id = tenant_id
        self.base = f"/api/v1/tenant/{tenant_id}/autopilot"

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._client._send(Call(method, f"{self.base}{path}", envelope=True, **kwargs))

    # status and configuration
    def status(self) -> dict[str, Any]:
        """GET /status: level, caps, pending actions, freeze, and why approved actions are held."""
        return self._call("GET", "/status")

    def update_config(self, **changes: Any) -> dict[str, Any]:
        """PUT /config: level, caps, feature flags, trust thresholds (partial; None clears a cap)."""
        return self._call("PUT", "/config", json=body(Ref("autopilot.config", "ConfigUpdate"), changes))

    def freeze(self, reason: str) -> dict[str, Any]:
        """POST /freeze: stop all approvals and execution for the tenant (admin)."""
        return self._call("POST", "/freeze", json=body(Ref("autopilot.config", "FreezeRequest"), {"reason": reason}))

    def unfreeze(self, reason: str | None = None) -> dict[str, Any]:
        """POST /unfreeze: let execution resume (admin)."""
        payload = body(Ref("autopilot.config", "UnfreezeRequest"), query(reason=reason))
        return self._call("POST", "/unfreeze", json=payload)

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
                     limit: int = 50, cursor: str | None = None):
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

    def actions_summary(self, days: int = 7) -> dict[str, Any]:
        """GET /actions/summary: counts by status and type over the last `days` days."""
        return self._call("GET", "/actions/summary", params={"days": days})

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

    def dry_run(self, action: Any) -> dict[str, Any]:
        """POST /actions/dry-run: the trust gate's decision, nothing executed."""
        return self._call("POST", "/actions/dry-run", json=body(_actions("CheckedProposal"), action))

    # enforcement
    def check(self, proposal: Any) -> dict[str, Any]:
        """POST /enforcement/check: allowed? violations, and a confirmation token on a soft block."""
        return self._call("POST", "/enforcement/check",
                          json=body(Ref("autopilot.enforcement", "CheckRequest"), proposal))

    def confirm(self, confirmation_token: str, override_reason: str | None = None) -> dict[str, Any]:
        """POST /enforcement/confirm: confirm a soft-blocked action (single use)."""
        payload = body(Ref("autopilot.enforcement", "ConfirmRequest"),
                       query(confirmation_token=confirmation_token, override_reason=override_reason))
        return self._call("POST", "/enforcement/confirm", json=payload)

    def settings(self) -> dict[str, Any]:
        """GET /enforcement/settings: `settings` (with `rules`) and `modes`."""
        return self._call("GET", "/enforcement/settings")

    def update_settings(self, **changes: Any) -> dict[str, Any]:
        """PUT /enforcement/settings: partial update (admin)."""
        return self._call("PUT", "/enforcement/settings",
                          json=body(Ref("autopilot.enforcement", "SettingsUpdate"), changes))

    def kill_switch(self, enabled: bool, reason: str) -> dict[str, Any]:
        """POST /enforcement/kill-switch: turn enforcement on or off (admin, audited)."""
        payload = body(Ref("autopilot.enforcement", "KillSwitchRequest"), {"enabled": enabled, "reason": reason})
        return self._call("POST", "/enforcement/kill-switch", json=payload)

    def audit_log(self, *, days: int = 30, limit: int = 100, cursor: str | None = None, **filters: Any):
        """GET /enforcement/audit-log: one page of interventions, newest first (`next_cursor`)."""
        return self._call("GET", "/enforcement/audit-log",
                          params=query(days=days, limit=limit, cursor=cursor, **filters))

    def rules(self) -> list[dict[str, Any]]:
        """The tenant's custom rules (from GET /enforcement/settings)."""
        return self._client._send(Call("GET", f"{self.base}/enforcement/settings", envelope=True,
                                       after=lambda data: data["settings"]["rules"]))

    def add_rule(self, rule: Any) -> dict[str, Any]:
        """POST /enforcement/rules: a custom rule (admin; 409 Conflict when the id exists)."""
        return self._call("POST", "/enforcement/rules", json=body(Ref("autopilot.enforcement", "RuleCreate"), rule))

    def delete_rule(self, rule_id: str) -> dict[str, Any]:
        """DELETE /enforcement/rules/{rule_id}."""
        return self._call("DELETE", f"/enforcement/rules/{rule_id}")

    # signal health and events
    def post_signal_health(self, readings: list[dict[str, Any]]) -> dict[str, Any]:
        """POST /signal-health: readings (one per platform); answers the resulting health."""
        payload = body(Ref("autopilot.signal_health", "ReadingsRequest"), {"readings": readings})
        return self._call("POST", "/signal-health", json=payload)

    def signal_health(self, platform: str | None = None) -> dict[str, Any]:
        """GET /signal-health: overall and per-platform score and status."""
        return self._call("GET", "/signal-health", params=query(platform=platform))

    def events(self, last_event_id: int | None = None, *, once: bool = False):
        """The tenant's event stream; resumes after a dropped connection (see `Client.events`)."""
        return self._client._stream(f"{self.base}/events", last_event_id, once)

