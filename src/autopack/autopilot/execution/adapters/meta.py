"""Meta Marketing API (Graph) adapter: campaigns and ad sets, budgets in minor units.

Reads `GET {base}/{version}/{id}?fields=...`; changes `POST {base}/{version}/{id}` with
`daily_budget` (cents), `status` (ACTIVE/PAUSED) or `bid_amount` (cents). Graph error codes 4, 17,
32, 613 and 80000-80014 are rate limits; 190 (and HTTP 401/403) are authentication failures.
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

RATE_LIMIT_CODES = frozenset({4, 17, 32, 613}) | frozenset(range(80000, 80015))
AUTH_CODES = frozenset({190, 102, 10, 200})
_STATUS_OUT = {"active": "ACTIVE", "paused": "PAUSED"}


def _minor(value: Any) -> float | None:
    try:
        return round(int(value) / 100, 2)
    except (TypeError, ValueError):
        return None


class MetaAdapter:
    """Talks to the Graph API with the tenant's access token (sent as a Bearer header, never logged)."""

    name = "meta"
    transactional = False

    def __init__(self, config: PlatformConfig, timeout: float):
        self.config = config
        self.base = f"{config.base_url.rstrip('/')}/{config.api_version or 'v19.0'}"
        self._client = make_client(timeout)

    def _headers(self, idempotency_key: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.config.access_token}"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    def _check(self, response) -> dict[str, Any]:
        body = json_body(response)
        if response.status_code < 400 and "error" not in body:
            return body
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        code = error.get("code")
        message = f"Meta API Error {code or response.status_code}: {error.get('message') or response.reason_phrase}"
        if code in RATE_LIMIT_CODES or response.status_code == 429:
            raise PlatformError("rate_limited", message, retry_after=retry_after_seconds(response),
                                safe_to_retry=True, status_code=response.status_code)
        kind = "auth" if code in AUTH_CODES else status_kind(response.status_code)
        # A 4xx is a refusal (nothing applied); a 5xx may or may not have taken effect.
        raise PlatformError(kind, message, safe_to_retry=False, status_code=response.status_code)

    def get_state(self, entity: EntityRef) -> dict[str, Any]:
        """Current daily budget, status and bid of a campaign or ad set."""
        response = send(self._client, "GET", f"{self.base}/{entity.entity_id}", "Meta",
                        params={"fields": "id,status,daily_budget,bid_amount"}, headers=self._headers())
        body = self._check(response)
        status = str(body.get("status", "")).upper()
        return {"daily_budget": _minor(body.get("daily_budget")), "bid": _minor(body.get("bid_amount")),
                "status": "active" if status == "ACTIVE" else "paused" if status else None}

    def apply(self, action: PlannedChange, idempotency_key: str) -> ApplyResult:
        """POST the one changed field; the state is re-read for a true after_value."""
        if action.entity.entity_type not in ("campaign", "adset"):
            raise PlatformError("client", f"Meta adapter cannot change a {action.entity.entity_type}")
        if action.field == "status":
            data = {"status": _STATUS_OUT[str(action.value)]}
        else:
            key = "daily_budget" if action.field == "daily_budget" else "bid_amount"
            data = {key: str(round(float(action.value) * 100))}
        response = send(self._client, "POST", f"{self.base}/{action.entity.entity_id}", "Meta",
                        data=data, headers=self._headers(idempotency_key))
        body = self._check(response)
        try:
            after = self.get_state(action.entity)
        except PlatformError:
            after = {action.field: action.value, "verified": False}
        return ApplyResult(after_value=after, platform_reference=str(body.get("id") or action.entity.entity_id),
                           response={"success": bool(body.get("success", True))})

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()
