"""The adapter interface every ad platform implements, and the errors it may raise."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

ErrorKind = Literal["rate_limited", "timeout", "server", "client", "auth"]


@dataclass(frozen=True)
class EntityRef:
    """The platform object an action changes; `seed` is the action's before_value (sandbox only)."""

    platform: str
    entity_type: str
    entity_id: str
    name: str | None = None
    seed: dict[str, Any] | None = None


@dataclass(frozen=True)
class PlannedChange:
    """What the platform is asked to do: absolute targets, so a repeated request cannot compound."""

    entity: EntityRef
    action_type: str
    field: Literal["daily_budget", "status", "bid"]
    value: float | str

    def as_dict(self) -> dict[str, Any]:
        """The request as stored in the ledger (no secrets)."""
        return {"entity_type": self.entity.entity_type, "entity_id": self.entity.entity_id,
                "action_type": self.action_type, "field": self.field, "value": self.value}


@dataclass
class ApplyResult:
    """A confirmed change: the state after it and the platform's reference for the request."""

    after_value: dict[str, Any]
    platform_reference: str | None = None
    response: dict[str, Any] = field(default_factory=dict)


class PlatformError(Exception):
    """A platform refused or failed a request.

    `safe_to_retry` is True only when the platform certainly did not apply the change (the request
    was rejected before it took effect, or never left the process).
    """

    def __init__(self, kind: ErrorKind, message: str, *, retry_after: float | None = None,
                 safe_to_retry: bool = False, status_code: int | None = None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retry_after = retry_after
        self.safe_to_retry = safe_to_retry
        self.status_code = status_code

    def summary(self) -> dict[str, Any]:
        """What the ledger keeps about the failure."""
        return {"kind": self.kind, "message": self.message[:500], "retry_after": self.retry_after,
                "safe_to_retry": self.safe_to_retry, "status_code": self.status_code}


class PlatformAdapter(Protocol):
    """Reads and changes campaign state on one platform for one tenant."""

    name: str
    # True when apply() writes through the caller's database session: the change, the ledger row
    # and the action's outcome then commit together, so a crash can never leave it half-done.
    transactional: bool

    def get_state(self, entity: EntityRef) -> dict[str, Any]:
        """The entity's current `daily_budget` (major units), `status` (active/paused) and `bid`."""
        ...

    def apply(self, action: PlannedChange, idempotency_key: str) -> ApplyResult:
        """Make the change; raise PlatformError when the platform refuses or fails."""
        ...


def matches(state: dict[str, Any], change: PlannedChange) -> bool:
    """True when `state` already shows the change's target (used to reconcile an uncertain send)."""
    current = state.get(change.field)
    if isinstance(change.value, str):
        return current == change.value
    return isinstance(current, (int, float)) and abs(float(current) - float(change.value)) < 0.005
