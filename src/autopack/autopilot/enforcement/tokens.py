"""Confirmation tokens: HS256 JWTs, 15 minutes, single use through the pending_confirmation_tokens store."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import jwt
import orjson
from sqlalchemy.orm import Session

from autopack.autopilot.proposals import ActionProposal
from autopack.core.errors import EnvelopeError
from autopack.core.secrets import derive_key
from autopack.db.base import utcnow
from autopack.db.models.enforcement import PendingConfirmationToken
from autopack.db.scope import get_scoped, scoped_delete, scoped_update

TOKEN_TTL = timedelta(minutes=15)
RETENTION = timedelta(days=1)
ALGORITHM = "HS256"
KEY_PURPOSE = "autopilot-enforcement-confirmation"
TOKEN_TYPE = "enforcement_confirmation"
# Descriptive payload keys that do not change what the action does.
_NOT_VALUES = frozenset({"type", "change_percent", "percentage", "reason", "note", "metrics"})


def values_hash(proposal: ActionProposal) -> str:
    """SHA-256 of what the action would change: a token for 750 does not unlock 900.

    The proposed budget is normalised (`new_budget`/`amount`/`budget`, or derived from a percentage),
    so /check's `proposed_value` and POST /actions' `action_json` bind the same way; the platform is
    left out because /check carries none.
    """
    values = {key: value for key, value in proposal.action_json.items() if key not in _NOT_VALUES}
    for key in ("new_budget", "amount", "budget", "daily_budget"):
        values.pop(key, None)
    budget = proposal.new_budget
    canonical = orjson.dumps(
        {"action_type": proposal.action_type, "entity_type": proposal.entity_type,
         "entity_id": proposal.entity_id, "new_budget": None if budget is None else round(budget, 2),
         "values": values},
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(canonical).hexdigest()


def invalid_token(reason: str) -> EnvelopeError:
    """400 INVALID_CONFIRMATION_TOKEN with the edge-case doc's message and details."""
    return EnvelopeError(400, "INVALID_CONFIRMATION_TOKEN", "Confirmation token is invalid or expired",
                         {"action_required": "re-check_enforcement", "reason": reason})


def issue(session: Session, tenant_id: int, proposal: ActionProposal, violations: list[dict]) -> str:
    """Mint a token for exactly this proposal and store its jti (unused)."""
    now = utcnow()
    jti = secrets.token_hex(16)
    expires = now + TOKEN_TTL
    claims = {"typ": TOKEN_TYPE, "jti": jti, "tid": tenant_id, "act": proposal.action_type,
              "ety": proposal.entity_type, "eid": proposal.entity_id, "vh": values_hash(proposal),
              "iat": int(now.timestamp()), "exp": int(expires.timestamp())}
    # Spent and expired tokens are kept a day (for investigations), then dropped on the next issue.
    session.execute(scoped_delete(PendingConfirmationToken, tenant_id)
                    .where(PendingConfirmationToken.expires_at < now - RETENTION)
                    .execution_options(synchronize_session=False))
    session.add(PendingConfirmationToken(
        jti=jti, tenant_id=tenant_id, action_type=proposal.action_type, entity_type=proposal.entity_type,
        entity_id=proposal.entity_id, values_hash=claims["vh"], violations=violations, created_at=now,
        expires_at=expires))
    session.flush()
    return jwt.encode(claims, derive_key(KEY_PURPOSE), algorithm=ALGORITHM)


def decode(token: str, tenant_id: int) -> dict:
    """Verify signature, expiry, type and tenant; 400 INVALID_CONFIRMATION_TOKEN otherwise."""
    if not isinstance(token, str) or not token or len(token) > 4096:
        raise invalid_token("malformed")
    try:
        claims = jwt.decode(token, derive_key(KEY_PURPOSE), algorithms=[ALGORITHM],
                            options={"require": ["exp", "iat", "jti"]})
    except jwt.ExpiredSignatureError:
        raise invalid_token("expired") from None
    except jwt.PyJWTError:
        raise invalid_token("malformed") from None
    if claims.get("typ") != TOKEN_TYPE or not isinstance(claims.get("jti"), str):
        raise invalid_token("malformed")
    if claims.get("tid") != tenant_id:
        raise invalid_token("foreign_tenant")
    return claims


def check_binding(claims: dict, proposal: ActionProposal) -> None:
    """The token must be for this action type, entity and proposed values."""
    bound = (claims.get("act"), claims.get("ety"), claims.get("eid"), claims.get("vh"))
    if bound != (proposal.action_type, proposal.entity_type, proposal.entity_id, values_hash(proposal)):
        raise invalid_token("different_action")


def _claim(session: Session, claims: dict, tenant_id: int, column: str, now: datetime) -> bool:
    """Conditional UPDATE: of two concurrent callers exactly one changes the row."""
    table = PendingConfirmationToken
    conditions = [table.jti == claims["jti"], table.expires_at > now, table.used_at.is_(None)]
    if column == "confirmed_at":
        conditions.append(table.confirmed_at.is_(None))
    values = {column: now} if column == "confirmed_at" else {"used_at": now}
    result = session.execute(scoped_update(table, tenant_id).where(*conditions).values(**values)
                             .execution_options(synchronize_session=False))
    return result.rowcount == 1


def _why_not(session: Session, tenant_id: int, jti: str) -> str:
    row = get_scoped(session, PendingConfirmationToken, tenant_id, jti, populate_existing=True)
    if row is None:
        return "unknown"
    return "reused" if row.used_at is not None or row.confirmed_at is not None else "expired"


def confirm(session: Session, token: str, tenant_id: int) -> tuple[dict, PendingConfirmationToken]:
    """POST /confirm: mark the token confirmed once; reused/expired/foreign → 400."""
    claims = decode(token, tenant_id)
    if not _claim(session, claims, tenant_id, "confirmed_at", utcnow()):
        raise invalid_token(_why_not(session, tenant_id, claims["jti"]))
    return claims, get_scoped(session, PendingConfirmationToken, tenant_id, claims["jti"], populate_existing=True)


def redeem(session: Session, token: str, tenant_id: int, proposal: ActionProposal) -> dict:
    """Spend the token on this exact proposal (single use), confirmed or not beforehand."""
    claims = decode(token, tenant_id)
    check_binding(claims, proposal)
    if not _claim(session, claims, tenant_id, "used_at", utcnow()):
        raise invalid_token(_why_not(session, tenant_id, claims["jti"]))
    return claims


def verify_only(token: str, tenant_id: int, proposal: ActionProposal) -> dict:
    """Execution-time re-validation: signature, tenant and binding, without touching the store."""
    claims = decode(token, tenant_id)
    check_binding(claims, proposal)
    return claims
