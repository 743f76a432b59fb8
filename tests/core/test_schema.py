"""The handwritten migrations build exactly the ORM models, on both databases (every area at once)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from autopack.core.database import get_engine
from autopack.core.migrate import current_revisions, head_revisions
from autopack.db.base import Base

AREAS = {"0014", "0011", "0004", "0028", "0007", "0008", "0009", "0027", "0016", "0029", "0020",
         "0022", "0024", "0025"}  # one head per area (0002 is their base)


def test_migrations_match_models():
    with get_engine().connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diffs == []


def test_every_area_is_a_head_and_applied():
    assert AREAS <= head_revisions()
    assert current_revisions(get_engine()) == head_revisions()
