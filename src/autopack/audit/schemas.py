"""Audit ledger API shapes: verification reports and event pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

BreakReason = Literal["hash_mismatch", "prev_hash_mismatch", "sequence_gap", "head_mismatch", "head_seal_mismatch",
                      "anchor_mismatch"]
AnchorStatus = Literal["ok", "missing", "invalid", "mismatch"]


class ChainBreak(BaseModel):
    """The first broken link found: which chain, where, and why."""

    chain: str
    seq: int
    event_id: int | None
    reason: BreakReason


class AnchorReport(BaseModel):
    """How the ledger compares with a sealed anchor of its chain heads kept outside the database.

    `missing`: no anchor yet (not a failure); `invalid`: unreadable or its seal does not match;
    `mismatch`: the ledger no longer holds an anchored head (erased, truncated, rolled back, rewritten).
    """

    status: AnchorStatus
    source: Literal["data_dir", "file"]
    written_at: str | None = None
    chains_compared: int = 0
    detail: str | None = None


class VerifyReport(BaseModel):
    """The result of re-checking the ledger's hash chains (and, from verify_ledger, its anchor)."""

    ok: bool
    chains_checked: int
    events_checked: int
    first_break: ChainBreak | None = None
    anchor: AnchorReport | None = None


class AuditEventOut(BaseModel):
    """One ledger event with its chain links."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    occurred_at: datetime
    actor: str
    action: str
    tenant_id: str | None
    target_type: str | None
    target_id: str | None
    details: dict[str, Any]
    global_seq: int
    global_prev_hash: str
    global_hash: str
    tenant_seq: int | None
    tenant_prev_hash: str | None
    tenant_hash: str | None


class AuditEventPage(BaseModel):
    """A page of events in global order; pass `next_cursor` as `cursor` for the next page."""

    events: list[AuditEventOut]
    next_cursor: int | None
