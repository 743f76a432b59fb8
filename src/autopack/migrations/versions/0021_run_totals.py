"""runs: run_totals, the number of runs kept by triggers on runs (GET /runs counts without a scan)

Revision ID: 0021
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0019"
branch_labels = None
depends_on = None

# Every writer of runs (the API, bulk seeding, an adopted database) keeps the count; the row is
# created on the first insert, so deleting every row of run_totals (tests do) is harmless.
SQLITE = [
    """CREATE TRIGGER run_totals_insert AFTER INSERT ON runs BEGIN
        INSERT OR IGNORE INTO run_totals (id, runs) VALUES (1, 0);
        UPDATE run_totals SET runs = runs + 1 WHERE id = 1;
    END""",
    """CREATE TRIGGER run_totals_delete AFTER DELETE ON runs BEGIN
        UPDATE run_totals SET runs = runs - 1 WHERE id = 1;
    END""",
]
POSTGRES = [
    """CREATE FUNCTION run_totals_count() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO run_totals (id, runs) VALUES (1, 1)
            ON CONFLICT (id) DO UPDATE SET runs = run_totals.runs + 1;
        ELSE
            UPDATE run_totals SET runs = runs - 1 WHERE id = 1;
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER run_totals_count AFTER INSERT OR DELETE ON runs
       FOR EACH ROW EXECUTE FUNCTION run_totals_count()""",
]


def upgrade() -> None:
    op.create_table(
        "run_totals",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("runs", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_totals")),
    )
    op.execute("INSERT INTO run_totals (id, runs) SELECT 1, count(*) FROM runs")
    for statement in SQLITE if op.get_bind().dialect.name == "sqlite" else POSTGRES:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER run_totals_insert")
        op.execute("DROP TRIGGER run_totals_delete")
    else:
        op.execute("DROP TRIGGER run_totals_count ON runs")
        op.execute("DROP FUNCTION run_totals_count()")
    op.drop_table("run_totals")
