"""Helpers shared by the audit ledger tests: seeding events and tampering with rows directly."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from autopack.audit import service
from autopack.core.database import session_scope
from autopack.db.models import AuditChainHead, AuditEvent


def seed(plan: list[str | None]) -> list[int]:
    """Append one event per entry of `plan` (its tenant id, or None), each in its own transaction."""
    ids = []
    for i, tenant in enumerate(plan):
        with session_scope() as session:
            event = service.append_event(session, action="test.event", actor=f"user:u{i}", tenant_id=tenant,
                                         target_type="thing", target_id=str(i), details={"n": i})
            ids.append(event.id)
    return ids


def events() -> list[AuditEvent]:
    """Every event in global order."""
    with session_scope(writer=False) as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.global_seq)))


def head(chain_key: str) -> AuditChainHead | None:
    """The head row of a chain."""
    with session_scope(writer=False) as session:
        return session.get(AuditChainHead, chain_key)


def verify(tenant_id: str | None = None) -> dict:
    """The verification report as a plain dict, without its anchor section (see `verify_report`)."""
    return {k: v for k, v in verify_report(tenant_id).items() if k != "anchor"}


def verify_report(tenant_id: str | None = None, anchor_file=None) -> dict:
    """The whole verification report (chains and anchor) as a plain dict."""
    with session_scope(writer=False) as session:
        return service.verify_ledger(session, tenant_id=tenant_id, anchor_file=anchor_file).model_dump(mode="json")


@contextmanager
def attacker() -> Iterator[Session]:
    """A transaction of someone with SQL access, who turns the PostgreSQL ledger triggers off as anyone can."""
    with session_scope() as session:
        service.allow_ledger_prune(session)
        yield session


def tamper(event_id: int, **values) -> None:
    """Change an event's columns behind the ledger's back."""
    with attacker() as session:
        session.execute(update(AuditEvent).where(AuditEvent.id == event_id).values(**values))


def remove(event_id: int) -> None:
    """Delete an event behind the ledger's back."""
    with attacker() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.id == event_id))


CONTENT = ("occurred_at", "actor", "action", "tenant_id", "target_type", "target_id", "details")
CHAIN = ("global_prev_hash", "global_hash", "tenant_seq", "tenant_prev_hash", "tenant_hash")


def swap(first_id: int, second_id: int, columns: tuple[str, ...]) -> None:
    """Exchange `columns` between two events (ids and global seqs stay where they are)."""
    with attacker() as session:
        rows = {e.id: e for e in session.scalars(select(AuditEvent).where(AuditEvent.id.in_([first_id, second_id])))}
        a = {c: getattr(rows[first_id], c) for c in columns}
        b = {c: getattr(rows[second_id], c) for c in columns}
        session.execute(update(AuditEvent).where(AuditEvent.id == first_id).values(**b))
        session.execute(update(AuditEvent).where(AuditEvent.id == second_id).values(**a))


def wipe_ledger() -> None:
    """Delete every event and every chain head behind the ledger's back."""
    with attacker() as session:
        session.execute(delete(AuditEvent))
        session.execute(delete(AuditChainHead))


def snapshot() -> tuple[list[dict], list[dict]]:
    """Every event row and head row as plain column values (a database backup)."""
    def rows(model) -> list[dict]:
        return [dict(row._mapping) for row in session.execute(select(model.__table__))]

    with session_scope(writer=False) as session:
        return rows(AuditEvent), rows(AuditChainHead)


def restore(saved: tuple[list[dict], list[dict]]) -> None:
    """Replace the whole ledger with a snapshot (a database restored from a backup)."""
    wipe_ledger()
    with attacker() as session:
        session.execute(AuditEvent.__table__.insert(), saved[0])
        session.execute(AuditChainHead.__table__.insert(), saved[1])
