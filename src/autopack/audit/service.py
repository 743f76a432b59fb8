"""The audit ledger: append events to hash chains, verify the chains, page through events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from autopack.audit.anchor import check_anchor, load_anchor, refresh_after_commit, refresh_anchor
from autopack.audit.chain import (
    GENESIS_HASH,
    GLOBAL_CHAIN,
    head_seal,
    link_hash,
    normalize_details,
    tenant_chain,
)
from autopack.audit.schemas import AuditEventOut, AuditEventPage, VerifyReport
from autopack.audit.verify import verify_chains
from autopack.core import statements
from autopack.core.database import on_commit
from autopack.db.base import utcnow
from autopack.db.models.audit import AuditChainHead, AuditEvent
from autopack.db.scope import scoped

MAX_PAGE = 500
PRUNE_SETTING = "autopack.ledger_prune"  # checked by the PostgreSQL ledger triggers (migration 0014)
_HEAD_INSERT_ATTEMPTS = 5
_MAX_LENGTH = {"actor": 255, "action": 128, "tenant_id": 64, "target_type": 64, "target_id": 255}


class NotAWriterSession(RuntimeError):
    """append_event was called on a SQLite session that did not begin with BEGIN IMMEDIATE."""


def _text(name: str, value: Any, *, required: bool = False) -> str | None:
    # Checked here because SQLite would silently store what PostgreSQL rejects.
    if value is None:
        if required:
            raise ValueError(f"audit {name} is required")
        return None
    text = str(value)
    if required and not text.strip():
        raise ValueError(f"audit {name} may not be empty")
    if len(text) > _MAX_LENGTH[name] or "\x00" in text:
        raise ValueError(f"audit {name} is longer than {_MAX_LENGTH[name]} characters or contains NUL")
    return text


def _require_writer(session: Session) -> None:
    # A deferred SQLite transaction could read a head another writer is about to move; the write
    # would then fail with SQLITE_BUSY. Demand the write lock up front instead of failing late.
    connection = session.connection()
    if connection.dialect.name == "sqlite" and not connection.get_execution_options().get("autopack_writer"):
        raise NotAWriterSession("append_event needs a writer session (session_scope() or WriteSession)")


_HEADS = AuditChainHead.__table__
_EVENTS = AuditEvent.__table__
_LOCK_HEAD = (select(_HEADS.c.last_seq, _HEADS.c.last_hash)
              .where(_HEADS.c.chain_key == bindparam("key")).with_for_update())
_MOVE_HEAD = (update(_HEADS).where(_HEADS.c.chain_key == bindparam("key"))
              .values(last_seq=bindparam("seq"), last_hash=bindparam("digest"), seal=bindparam("sealed"),
                      updated_at=bindparam("now")))
_INSERT_EVENT = insert(_EVENTS).returning(_EVENTS.c.id)


@dataclass(frozen=True)
class Link:
    """Where one chain stands: its last sequence number and hash."""

    seq: int
    digest: str


@dataclass(frozen=True)
class Appended:
    """The ledger event just written: its id and its places in the chains."""

    id: int
    global_seq: int
    tenant_seq: int | None


def _lock_head(session: Session, chain_key: str) -> Link:
    """Lock a chain's head row (created on first use) until the caller's transaction ends."""
    for _ in range(_HEAD_INSERT_ATTEMPTS):
        row = statements.one_row(session.connection(), _LOCK_HEAD, {"key": chain_key})
        if row is not None:
            return Link(*row)
        try:
            with session.begin_nested():
                session.execute(insert(_HEADS).values(chain_key=chain_key, last_seq=0, last_hash=GENESIS_HASH,
                                                      updated_at=utcnow()))
        except IntegrityError:
            continue  # another writer created this head first: lock theirs on the next pass
        return Link(0, GENESIS_HASH)  # our uncommitted insert: nobody else can see or lock it until we commit
    raise RuntimeError(f"could not create or lock the audit chain head {chain_key!r}")


def _extend(conn: Connection, head: Link, chain: str, fields: dict[str, Any]) -> tuple[int, str, str]:
    """The next link of `chain` for `fields`; moves the head to it."""
    seq = head.seq + 1
    digest = link_hash(chain=chain, seq=seq, prev_hash=head.digest, **fields)
    statements.execute(conn, _MOVE_HEAD, {"key": chain, "seq": seq, "digest": digest,
                                          "sealed": head_seal(chain, seq, digest), "now": utcnow()})
    return seq, head.digest, digest


def append_event(session: Session, *, action: str, actor: str, tenant_id: str | int | None = None,
                 target_type: str | None = None, target_id: str | int | None = None,
                 details: Mapping[str, Any] | None = None) -> Appended:
    """Record one event (details already redacted: never secrets) in its chains; never commits.

    Core statements, no unit of work: lock the heads, write the event, move the heads.
    """
    # The heads stay locked until the caller's transaction ends, serialising every appender behind
    # it: append as the last step of the transaction that makes the change.
    tid = _text("tenant_id", tenant_id)
    fields: dict[str, Any] = {
        "actor": _text("actor", actor, required=True),
        "action": _text("action", action, required=True),
        "tenant_id": tid,
        "target_type": _text("target_type", target_type),
        "target_id": _text("target_id", target_id),
        "details": normalize_details(details),
    }
    _require_writer(session)
    # Always the global head first, then the tenant's: one lock order, so appenders cannot deadlock.
    global_head = _lock_head(session, GLOBAL_CHAIN)
    tenant_head = _lock_head(session, tenant_chain(tid)) if tid is not None else None
    fields["occurred_at"] = utcnow()  # stamped under the lock, so time follows the global order
    row = dict(fields)
    conn = session.connection()  # the session's own; Connection.execute skips the ORM's layer (half the cost)
    row["global_seq"], row["global_prev_hash"], row["global_hash"] = _extend(
        conn, global_head, GLOBAL_CHAIN, fields)
    if tenant_head is not None:
        row["tenant_seq"], row["tenant_prev_hash"], row["tenant_hash"] = _extend(
            conn, tenant_head, tenant_chain(tid), fields)
    event_id = statements.one_row(conn, _INSERT_EVENT, row)[0]
    refresh_after_commit(session)
    return Appended(event_id, row["global_seq"], row.get("tenant_seq"))


def verify_ledger(session: Session, tenant_id: str | int | None = None,
                  anchor_file: Path | None = None) -> VerifyReport:
    """Re-check every chain (or one tenant's), its sealed head and the anchor; report the first break.

    The anchor is the stored one in the data directory, or the operator's copy at `anchor_file`.
    """
    tid = None if tenant_id is None else str(tenant_id)
    loaded = load_anchor(anchor_file)  # before the session's first read (see load_anchor)
    report = verify_chains(session, tid)
    anchor, breaks = check_anchor(session, loaded, tid)
    first_break = report.first_break or next(iter(breaks), None)
    return report.model_copy(update={"ok": first_break is None and anchor.status != "invalid",
                                     "first_break": first_break, "anchor": anchor})


def reseal_heads(session: Session, actor: str) -> VerifyReport:
    """Re-seal every chain head and the anchor under the current server secret, if the ledger is intact.

    For after a change of AUTOPACK_SECRET_KEY (every seal then fails). Checks the links and the
    stored anchor's heads first (seals ignored) and changes nothing when either is broken; the
    re-seal itself is recorded in the ledger, and the anchor is re-sealed once it has committed.
    """
    _require_writer(session)
    loaded = load_anchor(check_seal=False)
    report = verify_chains(session, check_seals=False)
    if not report.ok:
        return report
    anchor, breaks = check_anchor(session, loaded)
    if anchor.status in ("invalid", "mismatch"):
        return report.model_copy(update={"ok": False, "first_break": next(iter(breaks), None), "anchor": anchor})
    _lock_head(session, GLOBAL_CHAIN)  # the global head first, as every appender does
    heads = session.execute(select(_HEADS.c.chain_key, _HEADS.c.last_seq, _HEADS.c.last_hash)
                            .order_by(_HEADS.c.chain_key != GLOBAL_CHAIN, _HEADS.c.chain_key)
                            .with_for_update()).all()
    for key, seq, digest in heads:
        session.execute(update(_HEADS).where(_HEADS.c.chain_key == key)
                        .values(seal=head_seal(key, seq, digest), updated_at=utcnow()))
    on_commit(session, lambda: refresh_anchor(reseal=True))  # before append_event's refresh, which needs it
    append_event(session, action="audit.heads_resealed", actor=actor,
                 details={"chains": len(heads), "events_checked": report.events_checked})
    return report


def allow_ledger_prune(bind: Session | Connection) -> None:
    """Let this transaction delete or rewind ledger rows on PostgreSQL: the one documented prune path.

    The ledger triggers refuse UPDATE and DELETE of events, DELETE of heads, a head moving back and
    TRUNCATE unless `autopack.ledger_prune` is 'on' for the transaction (SET LOCAL ends with it).
    For retention migrations and the test suite's reset only; verification will report what was pruned.
    """
    connection = bind.connection() if isinstance(bind, Session) else bind
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SET LOCAL {PRUNE_SETTING} = 'on'")


def list_events(session: Session, *, tenant_id: str | int | None = None, action: str | None = None,
                cursor: int | None = None, limit: int = 100, newest_first: bool = False) -> AuditEventPage:
    """A page of events in global order after (or, newest first, before) `cursor`, at most 500."""
    limit = max(1, min(limit, MAX_PAGE))
    stmt = select(AuditEvent)
    if tenant_id is not None:
        stmt = scoped(stmt, tenant_id)
    if action is not None:
        stmt = stmt.where(AuditEvent.action == action)
    if cursor is not None:
        stmt = stmt.where(AuditEvent.global_seq < cursor if newest_first else AuditEvent.global_seq > cursor)
    order = AuditEvent.global_seq.desc() if newest_first else AuditEvent.global_seq.asc()
    rows = list(session.scalars(stmt.order_by(order).limit(limit + 1)))
    next_cursor = rows[limit - 1].global_seq if len(rows) > limit else None
    return AuditEventPage(events=[AuditEventOut.model_validate(row) for row in rows[:limit]],
                          next_cursor=next_cursor)
