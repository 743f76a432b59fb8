"""Google Ads REST adapter: campaign budgets (micros) and campaign statuses.

Reads with `POST {base}/{version}/customers/{cid}/googleAds:search`; changes with
`campaignBudgets:mutate` (amount_micros) and `campaigns:mutate` (status ENABLED/PAUSED).
`RESOURCE_EXHAUSTED` (HTTP 429) is a rate limit; UNAUTHENTICATED / PERMISSION_DENIED are auth errors.
"""

from __future__ import annotations

from typing import Any

from autopack.autopilot.execution.adapters.base import ApplyResult, EntityRef, PlannedChange, PlatformError
from autopack.autopilot.execution.adapters.http import (
    json_body,
    make_client,
    retry_after_seconds,
    send,
    status_kind,
)
from autopack.autopilot.execution.credentials import PlatformConfig

_STATUS_OUT = {"active": "ENABLED", "paused": "PAUSED"}
_KINDS = {"RESOURCE_EXHAUSTED": "rate_limited", "UNAUTHENTICATED": "auth", "PERMISSION_DENIED": "auth",
          "INVALID_ARGUMENT": "client", "NOT_FOUND": "client", "FAILED_PRECONDITION": "client",
          "INTERNAL": "server", "UNAVAILABLE": "server", "DEADLINE_EXCEEDED": "timeout"}


def _retry_delay(error: dict[str, Any]) -> float | None:
    for detail in error.get("details") or []:
        delay = detail.get("retryDelay") if isinstance(detail, dict) else None
        if isinstance(delay, str) and delay.endswith("s"):
            try:
                return float(delay[:-1])
            except ValueError:
                return None
    return None


class GoogleAdsAdapter:
    """Talks to Google Ads with the tenant's OAuth token and developer token (never logged)."""

    name = "google"
    transactional = False

    def __init__(self, config: PlatformConfig, timeout: float):
        self.config = config
        self.customer = str(config.account_id or "").replace("-", "")
        self.base = f"{config.base_url.rstrip('/')}/{config.api_version or 'v17'}/customers/{self.customer}"
        self._client = make_client(timeout)

    def _headers(self, idempotency_key: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.config.access_token}",
                   "developer-token": self.config.developer_token or ""}
        if self.config.login_customer_id:
            headers["login-customer-id"] = self.config.login_customer_id
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    def _post(self, path: str, payload: dict[str, Any], idempotency_key: str | None = None) -> dict[str, Any]:
        response = send(self._client, "POST", f"{self.base}/{path}", "Google Ads", json=payload,
                        headers=self._headers(idempotency_key))
        body = json_body(response)
        if response.status_code < 400:
            return body
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        status = str(error.get("status") or "")
        kind = _KINDS.get(status) or status_kind(response.status_code)
        message = f"Google Ads API error {status or response.status_code}: {error.get('message') or response.reason_phrase}"
        retry_after = retry_after_seconds(response) or _retry_delay(error)
        # Quota refusals and 4xx are rejected before taking effect; a 5xx may have applied.
        raise PlatformError(kind, message, retry_after=retry_after, safe_to_retry=kind == "rate_limited",
                            status_code=response.status_code)

    def _read(self, entity: EntityRef) -> dict[str, Any]:
        if entity.entity_type != "campaign" or not entity.entity_id.isdigit():
            raise PlatformError("client", f"Google Ads adapter changes campaigns by numeric id only "
                                          f"(got {entity.entity_type} {entity.entity_id})")
        query = ("SELECT campaign.id, campaign.status, campaign_budget.resource_name, "
                 f"campaign_budget.amount_micros FROM campaign WHERE campaign.id = {int(entity.entity_id)}")
        results = self._post("googleAds:search", {"query": query}).get("results") or []
        if not results:
            raise PlatformError("client", f"Google Ads campaign {entity.entity_id} not found")
        return results[0]

    def get_state(self, entity: EntityRef) -> dict[str, Any]:
        """Current budget (major units), status and the budget's resource name."""
        row = self._read(entity)
        budget = row.get("campaignBudget") or {}
        status = str((row.get("campaign") or {}).get("status", "")).upper()
        micros = budget.get("amountMicros")
        return {"daily_budget": round(int(micros) / 1_000_000, 2) if micros is not None else None,
                "status": "active" if status == "ENABLED" else "paused" if status else None, "bid": None,
                "budget_resource": budget.get("resourceName")}

    def apply(self, action: PlannedChange, idempotency_key: str) -> ApplyResult:
        """Mutate the campaign's budget or status, then re-read the state."""
        if action.field == "bid":
            raise PlatformError("client", "Google Ads adapter does not change bids")
        state = self.get_state(action.entity)
        if action.field == "daily_budget":
            micros = str(round(float(action.value) * 1_000_000))
            operation = {"update": {"resourceName": state["budget_resource"], "amountMicros": micros},
                         "updateMask": "amount_micros"}
            body = self._post("campaignBudgets:mutate", {"operations": [operation]}, idempotency_key)
        else:
            resource = f"customers/{self.customer}/campaigns/{action.entity.entity_id}"
            operation = {"update": {"resourceName": resource, "status": _STATUS_OUT[str(action.value)]},
                         "updateMask": "status"}
            body = self._post("campaigns:mutate", {"operations": [operation]}, idempotency_key)
        results = body.get("results") or [{}]
        try:
            after = self.get_state(action.entity)
        except PlatformError:
            after = {action.field: action.value, "verified": False}
        after.pop("budget_resource", None)
        return ApplyResult(after_value=after, platform_reference=results[0].get("resourceName"),
                           response={"results": len(results)})

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()
