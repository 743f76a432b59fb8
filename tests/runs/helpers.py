"""Small helpers shared by the run lifecycle tests."""

from __future__ import annotations

from sqlalchemy import func, select

from autopack.core.database import session_scope


def count(model, **where) -> int:
    """Rows of `model` matching `where`."""
    with session_scope(writer=False) as session:
        stmt = select(func.count()).select_from(model)
        for key, value in where.items():
            stmt = stmt.where(getattr(model, key) == value)
        return session.scalar(stmt)


def rows(model, **where) -> list:
    """ORM rows of `model` matching `where`, in id order."""
    with session_scope(writer=False) as session:
        stmt = select(model).filter_by(**where).order_by(model.id)
        return list(session.scalars(stmt))


def set_state(client, run_id: str, phase_id: str, state: str, **extra):
    """POST update_status and return the response."""
    return client.post(f"/runs/{run_id}/phases/{phase_id}/update_status", json={"state": state, **extra})
