"""The handwritten migration 0008 matches the enforcement ORM models exactly (both databases)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from autopack.core.database import get_engine
from autopack.core.migrate import head_revisions
from autopack.db.base import Base

TABLES = {"tenant_enforcement_settings", "tenant_enforcement_rules", "enforcement_audit_logs",
          "pending_confirmation_tokens"}


def _mentions_ours(diff) -> bool:
    return any(table in repr(diff) for table in TABLES)


def test_migration_matches_models():
    with get_engine().connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert [d for d in diffs if _mentions_ours(d)] == []


def test_enforcement_branch_is_a_head():
    assert "0008" in head_revisions()
