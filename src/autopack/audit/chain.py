"""The canonical encoding and SHA-256 link hash of an audit event in one chain."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from autopack.core.canonical import canonical_numbers
from autopack.core.secrets import derive_key

GENESIS_HASH = "0" * 64
SEAL_PURPOSE = "audit-ledger-head-seal"
GLOBAL_CHAIN = "global"
ENCODING_VERSION = 1


def tenant_chain(tenant_id: str) -> str:
    """The chain key of a tenant's chain."""
    return f"tenant:{tenant_id}"


def format_timestamp(value: datetime) -> str:
    """ISO 8601 in UTC with microseconds and offset, the one form both databases round-trip."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"audit details must be JSON data, not {type(value).__name__}")


def _check_text(value: Any) -> None:
    # PostgreSQL text and JSONB refuse NUL; refusing it everywhere keeps SQLite in lockstep.
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("audit fields may not contain NUL characters")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_text(item)
    elif isinstance(value, list):
        for item in value:
            _check_text(item)


def normalize_details(details: Mapping[str, Any] | None) -> dict[str, Any]:
    """Details as plain JSON data (what the database will hand back), or ValueError."""
    if details is None:
        return {}
    if not isinstance(details, Mapping):
        raise TypeError("audit details must be a mapping")
    try:
        text = json.dumps(dict(details), default=_json_default, allow_nan=False, ensure_ascii=False)
        text.encode("utf-8")  # lone surrogates cannot be stored
    except (TypeError, ValueError, UnicodeEncodeError) as exc:
        raise ValueError(f"audit details are not storable JSON: {exc}") from exc
    data = json.loads(text)
    _check_text(data)
    return data


def canonical_bytes(*, chain: str, seq: int, prev_hash: str, occurred_at: datetime, actor: str,
                    action: str, tenant_id: str | None, target_type: str | None, target_id: str | None,
                    details: Mapping[str, Any]) -> bytes:
    """JSON with sorted keys, no whitespace, UTF-8: the exact bytes a link's hash covers."""
    payload = {
        "v": ENCODING_VERSION,
        "chain": chain,
        "seq": seq,
        "prev_hash": prev_hash,
        "occurred_at": format_timestamp(occurred_at),
        "actor": actor,
        "action": action,
        "tenant_id": tenant_id,
        "target_type": target_type,
        "target_id": target_id,
        "details": canonical_numbers(dict(details)),
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def link_hash(**fields: Any) -> str:
    """SHA-256 (hex) of the canonical encoding of one event in one chain."""
    return hashlib.sha256(canonical_bytes(**fields)).hexdigest()


def head_seal(chain: str, seq: int, digest: str) -> str:
    """HMAC-SHA256 (hex) of a chain head under a key derived from the server secret.

    The hash chain shows any edit that is not carried through to the head; the seal makes carrying
    it through (rewriting the rest of the chain and the head) need the server secret too.
    """
    message = f"{ENCODING_VERSION}|{chain}|{seq}|{digest}".encode()
    return hmac.new(derive_key(SEAL_PURPOSE), message, hashlib.sha256).hexdigest()


def seal_matches(chain: str, seq: int, digest: str, seal: str | None) -> bool:
    """Constant-time check of a head's seal (a missing seal never matches)."""
    return seal is not None and hmac.compare_digest(head_seal(chain, seq, digest), seal)


def anchor_seal(written_at: str, chains: Mapping[str, tuple[int, str]]) -> str:
    """HMAC-SHA256 (hex) of an anchor (every chain's seq and hash) under the head-seal key.

    The "anchor" field keeps these messages apart from head seals, whose second field is a chain key.
    """
    body = json.dumps({"written_at": written_at, "chains": {k: [seq, h] for k, (seq, h) in chains.items()}},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    message = f"{ENCODING_VERSION}|anchor|{body}".encode()
    return hmac.new(derive_key(SEAL_PURPOSE), message, hashlib.sha256).hexdigest()


def anchor_seal_matches(written_at: str, chains: Mapping[str, tuple[int, str]], seal: str) -> bool:
    """Constant-time check of an anchor's seal."""
    return hmac.compare_digest(anchor_seal(written_at, chains), seal)
