"""One-row reads outside the ORM: the same values as a session's, on both databases."""

from __future__ import annotations

import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import bindparam, select
from sqlalchemy.exc import OperationalError

from autopack.core import rowread
from autopack.core.database import get_engine, session_scope
from autopack.db.models import Tenant, TenantMembership, User
from autopack.db.scope import TENANT, scoped
from tests.auth.helpers import make_user

_USER = select(User.id, User.username, User.is_active).where(User.id == bindparam("user_id"))
_ROLE = scoped(select(TenantMembership.role).where(TenantMembership.user_id == bindparam("user_id")), TENANT)


def _tenant_with(user_id: int, role: str) -> int:
    with session_scope() as session:
        tenant = Tenant(slug=f"rr-{user_id}-{role}", name="row read")
        session.add(tenant)
        session.flush()
        session.add(TenantMembership(tenant_id=tenant.id, user_id=user_id, role=role))
        return tenant.id


def test_a_row_is_read_as_the_session_reads_it(client):
    user_id = make_user()[0]
    user_id_, username, active = rowread.read_row(_USER, {"user_id": user_id})
    with session_scope(writer=False) as session:
        user = session.get(User, user_id)
        assert (user_id_, username, bool(active)) == (user.id, user.username, user.is_active)
    assert rowread.read_row(_USER, {"user_id": user_id + 1000}) is None


def test_a_tenant_scoped_statement_reads_only_the_tenant_given(client):
    user_id = make_user()[0]
    first, second = _tenant_with(user_id, "viewer"), _tenant_with(user_id, "admin")
    assert rowread.read_row(_ROLE, {"tenant_id": first, "user_id": user_id}) == ("viewer",)
    assert rowread.read_row(_ROLE, {"tenant_id": second, "user_id": user_id}) == ("admin",)
    assert rowread.read_row(_ROLE, {"tenant_id": second + 1, "user_id": user_id}) is None


def test_a_value_bound_when_the_statement_was_built_is_kept(client):
    user_id = make_user()[0]
    fixed = select(User.username).where(User.id == user_id, User.is_active == bindparam("active"))
    assert rowread.read_row(fixed, {"active": True}) is not None
    assert rowread.read_row(fixed, {"active": False}) is None


def test_values_are_converted_as_the_session_converts_them(client):
    user_id = make_user()[0]
    with session_scope(writer=False) as session:
        created = session.get(User, user_id).created_at
    since = select(User.id).where(User.id == user_id, User.created_at >= bindparam("since", type_=User.created_at.type))
    assert rowread.read_row(since, {"since": created}) == (user_id,)
    assert rowread.read_row(since, {"since": created + timedelta(microseconds=1)}) is None


def test_postgresql_reads_keep_a_few_connections_and_replace_a_dropped_one(client):
    engine = get_engine()
    if engine.dialect.name != "postgresql":
        assert rowread._kept == []  # SQLite reads on the thread's own connection
        return
    user_id = make_user()[0]
    assert rowread.read_row(_USER, {"user_id": user_id})[0] == user_id
    (owner, conn), = rowread._kept
    assert owner is engine and conn.autocommit
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
    assert rowread.read_row(_USER, {"user_id": user_id})[0] == user_id  # once more on a fresh connection
    assert rowread._kept[-1][1] is not conn and conn.closed

    with ThreadPoolExecutor(8) as pool:
        rows = list(pool.map(lambda _: rowread.read_row(_USER, {"user_id": user_id}), range(200)))
    assert {row[0] for row in rows} == {user_id}
    assert 1 <= len(rowread._kept) <= rowread.MAX_KEPT


def test_an_outage_is_an_operational_error(client, monkeypatch):
    engine = get_engine()
    if engine.dialect.name == "postgresql":
        monkeypatch.setattr(rowread, "_kept", [])
        monkeypatch.setattr(engine, "raw_connection", _refused(psycopg.OperationalError))
    else:
        monkeypatch.setattr(rowread, "thread_read_connection", _refused_connection(sqlite3.OperationalError))
    with pytest.raises(OperationalError):
        rowread.read_row(_USER, {"user_id": 1})


def _refused(error: type[Exception]):
    def connect():  # as the engine's pool raises it
        raise OperationalError("connect", None, error("connection refused"))
    return connect


def _refused_connection(error: type[Exception]):
    class Refusing:
        def cursor(self):
            raise error("disk I/O error")
    return lambda: Refusing()
