"""Re-check the ledger's hash chains link by link and report the first broken one."""

from __future__ import annotations

from collections.abc import Callable
from itertools import groupby
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from autopack.audit.chain import GENESIS_HASH, GLOBAL_CHAIN, link_hash, seal_matches, tenant_chain
from autopack.audit.schemas import BreakReason, ChainBreak, VerifyReport
from autopack.db.models.audit import AuditChainHead, AuditEvent
from autopack.db.scope import scoped

Head = tuple[int, str, str | None]  # (last_seq, last_hash, seal)
_STREAM = {"yield_per": 1000}
_PAYLOAD = (AuditEvent.id, AuditEvent.occurred_at, AuditEvent.actor, AuditEvent.action,
            AuditEvent.tenant_id, AuditEvent.target_type, AuditEvent.target_id, AuditEvent.details)


class ChainWalker:
    """Checks one chain's links in seq order, then compares the end of the chain with its head row."""

    def __init__(self, chain: str, head: Head | None, check_seal: bool = True):
        self.chain = chain
        self.check_seal = check_seal
        self.head_seq, self.head_hash, self.head_seal = head or (0, GENESIS_HASH, None)
        self.has_head = head is not None
        self.expected_seq = 1
        self.prev_hash = GENESIS_HASH
        self.last_event_id: int | None = None
        self.checked = 0
        self.beyond: tuple[int, int] | None = None  # (seq, event id) of the first row past the head
        self.broken: ChainBreak | None = None

    def _break(self, seq: int, event_id: int | None, reason: BreakReason) -> None:
        self.broken = ChainBreak(chain=self.chain, seq=seq, event_id=event_id, reason=reason)

    def feed(self, event_id: int, seq: int, prev_hash: str, stored_hash: str, fields: dict[str, Any]) -> None:
        """Check the next link (rows must arrive in seq order)."""
        if self.broken is not None:
            return
        if seq > self.head_seq:
            # Committed after the head was read, or forged past it: finish() tells which.
            self.beyond = self.beyond or (seq, event_id)
            return
        if seq != self.expected_seq:
            return self._break(seq, event_id, "sequence_gap")
        if prev_hash != self.prev_hash:
            return self._break(seq, event_id, "prev_hash_mismatch")
        try:
            recomputed = link_hash(chain=self.chain, seq=seq, prev_hash=prev_hash, **fields)
        except (TypeError, ValueError, AttributeError):  # a tampered value of the wrong kind
            recomputed = None
        if recomputed != stored_hash:
            return self._break(seq, event_id, "hash_mismatch")
        self.checked += 1
        self.expected_seq += 1
        self.prev_hash = stored_hash  # the next link must point at what is stored, edited or not
        self.last_event_id = event_id

    def finish(self, reread_head: Callable[[], Head | None]) -> ChainBreak | None:
        """The first break of this chain, including a head that the rows do not reach (or overshoot)."""
        if self.broken is not None:
            return self.broken
        reached = self.expected_seq - 1
        if reached != self.head_seq or self.prev_hash != self.head_hash:
            event_id = self.last_event_id if reached == self.head_seq else None
            self._break(self.head_seq, event_id, "head_mismatch")
        elif self.beyond is not None:
            head = reread_head()  # a concurrent append moves the head too; a forged row does not
            if head is None or head[0] < self.beyond[0]:
                self._break(self.beyond[0], self.beyond[1], "head_mismatch")
        if (self.broken is None and self.has_head and self.check_seal
                and not seal_matches(self.chain, self.head_seq, self.head_hash, self.head_seal)):
            # links and head agree, but not with the key: rewritten without the server secret
            self._break(self.head_seq, self.last_event_id, "head_seal_mismatch")
        return self.broken


def _fields(row: Any) -> dict[str, Any]:
    return {"occurred_at": row.occurred_at, "actor": row.actor, "action": row.action,
            "tenant_id": row.tenant_id, "target_type": row.target_type, "target_id": row.target_id,
            "details": row.details}


def read_heads(session: Session, keys: list[str] | None = None) -> dict[str, Head]:
    """Every chain head row (or those of `keys`) as (last_seq, last_hash, seal)."""
    stmt = select(AuditChainHead.chain_key, AuditChainHead.last_seq, AuditChainHead.last_hash,
                  AuditChainHead.seal)
    if keys is not None:
        stmt = stmt.where(AuditChainHead.chain_key.in_(keys))
    return {key: (seq, digest, seal) for key, seq, digest, seal in session.execute(stmt)}


def _rereader(session: Session, chain: str) -> Callable[[], Head | None]:
    return lambda: read_heads(session, [chain]).get(chain)


def _walk_global(session: Session, head: Head | None, check_seals: bool) -> ChainWalker:
    walker = ChainWalker(GLOBAL_CHAIN, head, check_seals)
    stmt = select(*_PAYLOAD, AuditEvent.global_seq, AuditEvent.global_prev_hash, AuditEvent.global_hash)
    result = session.execute(stmt.order_by(AuditEvent.global_seq), execution_options=_STREAM)
    try:
        for row in result:
            walker.feed(row.id, row.global_seq, row.global_prev_hash, row.global_hash, _fields(row))
            if walker.broken is not None:
                break
    finally:
        result.close()  # a stream left open on a break would hold a server-side cursor
    walker.finish(_rereader(session, GLOBAL_CHAIN))
    return walker


def _walk_tenants(session: Session, heads: dict[str, Head], tenant_id: str | None,
                  check_seals: bool) -> list[ChainWalker]:
    """Walk tenant chains in one ordered stream; the list ends at the first broken chain."""
    stmt = select(*_PAYLOAD, AuditEvent.tenant_seq, AuditEvent.tenant_prev_hash, AuditEvent.tenant_hash)
    stmt = stmt.where(AuditEvent.tenant_id.is_not(None)) if tenant_id is None else scoped(stmt, tenant_id)
    result = session.execute(stmt.order_by(AuditEvent.tenant_id, AuditEvent.tenant_seq),
                             execution_options=_STREAM)
    walkers: list[ChainWalker] = []
    pending = {key for key in heads if key.startswith("tenant:")}
    try:
        for tid, group in groupby(result, key=lambda row: row.tenant_id):
            chain = tenant_chain(tid)
            pending.discard(chain)
            walker = ChainWalker(chain, heads.get(chain), check_seals)
            for row in group:
                walker.feed(row.id, row.tenant_seq, row.tenant_prev_hash, row.tenant_hash, _fields(row))
            walkers.append(walker)
            if walker.finish(_rereader(session, chain)) is not None:
                return walkers
    finally:
        result.close()
    for chain in sorted(pending):  # a head whose rows are all gone
        walker = ChainWalker(chain, heads[chain], check_seals)
        walkers.append(walker)
        if walker.finish(_rereader(session, chain)) is not None:
            break
    return walkers


def verify_chains(session: Session, tenant_id: str | None = None, *, check_seals: bool = True) -> VerifyReport:
    """Verify the global chain and every tenant chain, or only `tenant_id`'s; stop at the first break.

    `check_seals=False` checks the links only (before re-sealing the heads under a new server secret).
    """
    # Heads are read before the rows: every link a head covers is committed by then (READ COMMITTED).
    heads = read_heads(session, None if tenant_id is None else [tenant_chain(tenant_id)])
    walkers: list[ChainWalker] = []
    if tenant_id is None:
        walkers.append(_walk_global(session, heads.get(GLOBAL_CHAIN), check_seals))
    if not any(w.broken for w in walkers):
        walkers.extend(_walk_tenants(session, heads, tenant_id, check_seals))
    first_break = next((w.broken for w in walkers if w.broken is not None), None)
    # Every event is in the global chain, so it alone counts distinct events when it was checked.
    events = walkers[0].checked if tenant_id is None else sum(w.checked for w in walkers)
    return VerifyReport(ok=first_break is None, chains_checked=len(walkers), events_checked=events,
                        first_break=first_break)
