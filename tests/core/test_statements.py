"""Hot statements run by the driver: the same rows and values as SQLAlchemy's own execution."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, event, insert, select, update
from sqlalchemy.exc import IntegrityError

from autopack.core import statements
from autopack.core.database import get_engine, session_scope
from autopack.db.models import Event, Run, Tenant
from autopack.runs.service import _LOAD_FOR_CHANGE

_INSERT_EVENT = insert(Event)
_INSERT_TENANT = insert(Tenant)
_RENAME = update(Tenant).where(Tenant.slug == bindparam("old")).values(name=bindparam("new"))
_EVENTS = select(Event.type, Event.run_id, Event.tenant_id, Event.payload, Event.created_at).order_by(Event.id)


def _event(kind: str, at: datetime | None = None) -> dict:
    row = {"type": kind, "run_id": None, "tenant_id": 7, "payload": {"n": 1, "text": "é\"'", "list": [1, None]}}
    return row if at is None else {**row, "created_at": at}


def test_inserts_write_what_sqlalchemy_writes_defaults_included(client):
    at = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
    with session_scope() as session:
        conn = session.connection()
        conn.execute(_INSERT_EVENT, _event("st.core", at))
        statements.execute(conn, _INSERT_EVENT, _event("st.driver", at))
        statements.execute_many(conn, _INSERT_EVENT, [_event("st.many-1"), _event("st.many-2")])
    with session_scope(writer=False) as session:
        rows = [r for r in session.execute(_EVENTS).all() if r.type.startswith("st.")]
    assert [r.type for r in rows] == ["st.core", "st.driver", "st.many-1", "st.many-2"]
    assert rows[0][1:] == rows[1][1:]  # JSON and the datetime stored alike, read back alike
    assert rows[2].payload == rows[0].payload and rows[2].created_at.tzinfo is not None  # default filled
    assert abs((rows[3].created_at - datetime.now(UTC)).total_seconds()) < 60


def test_updates_count_their_rows_and_first_reads_as_sqlalchemy_reads(client, started_run):
    with session_scope() as session:
        conn = session.connection()
        statements.execute(conn, _INSERT_TENANT, {"slug": "st-a", "name": "a"})
        assert statements.execute(conn, _RENAME, {"old": "st-a", "new": "b"}) == 1
        assert statements.execute(conn, _RENAME, {"old": "st-missing", "new": "b"}) == 0
        params = {"run_id": started_run, "phase_id": "F1.1"}
        mine = statements.first(conn, _LOAD_FOR_CHANGE, params)
        theirs = dict(conn.execute(_LOAD_FOR_CHANGE, params).first()._mapping)
        conn.execute(update(Run).where(Run.id == started_run).values(completed_at=datetime.now(UTC)))
        assert statements.first(conn, _LOAD_FOR_CHANGE, params)["run__completed_at"].tzinfo is UTC
        assert statements.first(conn, _LOAD_FOR_CHANGE, {**params, "phase_id": "nope"}) is None
    assert mine == theirs
    assert {type(v) for k, v in mine.items() if k.endswith("created_at")} == {datetime}
    assert all(v.tzinfo is not None for k, v in mine.items() if k.endswith("_at") and v is not None)
    with session_scope(writer=False) as session:
        assert session.scalar(select(Tenant.name).where(Tenant.slug == "st-a")) == "b"


def test_a_constraint_broken_is_sqlalchemys_integrity_error(client):
    with pytest.raises(IntegrityError), session_scope() as session:
        conn = session.connection()
        statements.execute(conn, _INSERT_TENANT, {"slug": "st-dup", "name": "one"})
        statements.execute(conn, _INSERT_TENANT, {"slug": "st-dup", "name": "two"})
    with session_scope(writer=False) as session:
        assert session.scalar(select(Tenant.id).where(Tenant.slug == "st-dup")) is None  # all rolled back


def test_statement_listeners_see_every_statement(client, started_run):
    seen: list[str] = []
    engine = get_engine()

    def capture(_conn, _cursor, statement, *_rest):
        seen.append(" ".join(statement.split()).lower())

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with session_scope() as session:
            conn = session.connection()
            statements.execute(conn, _INSERT_TENANT, {"slug": "st-seen", "name": "x"})
            statements.first(conn, select(Run.id).where(Run.id == bindparam("id")), {"id": started_run})
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert any(s.startswith("insert into tenants") for s in seen)
    assert any(s.startswith("select runs.id") for s in seen)
