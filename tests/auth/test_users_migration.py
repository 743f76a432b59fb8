"""Migration 0013 on a database with users and rows pointing at them: nothing lost, ids never reused."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command

from autopack.core.migrate import alembic_config, upgrade
from autopack.db.base import UTCDateTime

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
TS = UTCDateTime(timezone=True)


def _users(*extra: str) -> sa.TableClause:
    return sa.table("users", *(sa.column(name) for name in (
        "id", "username", "username_key", "email", "hashed_password", "is_active", "is_superuser", *extra)),
        sa.column("created_at", TS), sa.column("updated_at", TS))


users = _users()
tenants = sa.table("tenants", sa.column("id"), sa.column("slug"), sa.column("name"),
                   sa.column("created_at", TS))
memberships = sa.table("tenant_memberships", sa.column("tenant_id"), sa.column("user_id"), sa.column("role"),
                       sa.column("created_at", TS), sa.column("updated_at", TS))
api_keys = sa.table("api_keys", sa.column("name"), sa.column("prefix"), sa.column("key_hash"),
                    sa.column("tenant_id"), sa.column("role"), sa.column("is_superuser"),
                    sa.column("created_by"), sa.column("created_at", TS))
user_roles = sa.table("user_roles", sa.column("user_id"), sa.column("role"), sa.column("granted_by"),
                      sa.column("granted_at", TS))
# (username, username_key as the earlier code wrote it): plain case-folding, no NFKC
PEOPLE = [("root", "root"), ("Ｂｏｂ", "ｂｏｂ"), ("ｒｏｏｔ", "ｒｏｏｔ"), ("carol", "carol")]


@pytest.fixture
def engine(scratch_engine):
    """A database of its own (the session's database is already at the newest revision)."""
    return scratch_engine


def _seed(engine) -> dict[str, int]:
    with engine.begin() as conn:
        ids = {}
        for name, key in PEOPLE:
            ids[name] = conn.execute(users.insert().values(
                username=name, username_key=key, email=f"{secrets.token_hex(3)}@example.com",
                hashed_password="x", is_active=True, is_superuser=False, created_at=NOW, updated_at=NOW,
            ).returning(users.c.id)).scalar_one()
        tenant = conn.execute(tenants.insert().values(slug="acme", name="Acme", created_at=NOW)
                              .returning(tenants.c.id)).scalar_one()
        for name in ("root", "carol"):
            conn.execute(memberships.insert().values(tenant_id=tenant, user_id=ids[name], role="admin",
                                                     created_at=NOW, updated_at=NOW))
            conn.execute(user_roles.insert().values(user_id=ids[name], role="approver", granted_by="cli",
                                                    granted_at=NOW))
        conn.execute(api_keys.insert().values(name="ci", prefix="autopack_sk_ab", key_hash="h" * 64,
                                              tenant_id=tenant, role="operator", is_superuser=False,
                                              created_by="cli", created_at=NOW))
    return ids


def _snapshot(conn) -> dict[str, list]:
    return {table: sorted(tuple(row) for row in conn.execute(sa.text(f"SELECT * FROM {table}")))
            for table in ("tenants", "tenant_memberships", "user_roles", "api_keys")}


def test_upgrade_keeps_every_referencing_row(engine):
    upgrade(engine, "0012")
    ids = _seed(engine)
    with engine.connect() as conn:
        before = _snapshot(conn)
    assert len(before["tenant_memberships"]) == 2 and len(before["user_roles"]) == 2

    upgrade(engine, "heads")

    with engine.connect() as conn:
        assert _snapshot(conn) == before
        rows = {r.username: r for r in conn.execute(sa.text("SELECT id, username, username_key, token_key "
                                                             "FROM users"))}
        if engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # switched back on
            assert "AUTOINCREMENT" in conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'users'").scalar()
    assert {name: r.id for name, r in rows.items()} == ids
    assert len({r.token_key for r in rows.values()}) == 4
    assert all(len(r.token_key) == 32 for r in rows.values())
    assert rows["Ｂｏｂ"].username_key == "bob"  # recomputed with NFKC
    assert rows["ｒｏｏｔ"].username_key == "ｒｏｏｔ"  # NFKC says "root", which is taken: left alone

    # the newest user deleted, then a new one: its id is never handed out again
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM users WHERE id = :id"), {"id": ids["carol"]})
        memberships_left = conn.execute(sa.text("SELECT count(*) FROM tenant_memberships")).scalar()
        assert memberships_left == 1  # deleting a user still cascades
        new_id = conn.execute(_users("token_key").insert().values(
            username="dave", username_key="dave", email="dave@example.com", hashed_password="x",
            is_active=True, is_superuser=False, token_key="k" * 32, created_at=NOW, updated_at=NOW,
        ).returning(sa.column("id"))).scalar_one()
    assert new_id > ids["carol"]


def test_downgrade_keeps_every_referencing_row(engine):
    upgrade(engine, "0012")
    _seed(engine)
    upgrade(engine, "heads")
    with engine.connect() as conn:
        before = _snapshot(conn)
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0013@0012")
    with engine.connect() as conn:
        assert _snapshot(conn) == before
        columns = {c["name"] for c in sa.inspect(conn).get_columns("users")}
    assert "token_key" not in columns
