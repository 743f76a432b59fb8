"""One-row reads outside the ORM: the same values as a session's, on both databases."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import bindparam, select

from autopack.core import rowread
from autopack.core.database import session_scope
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
