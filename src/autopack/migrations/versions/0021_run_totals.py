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
# PostgreSQL counts once per statement (transition tables): a bulk insert of 100,000 runs updates
# the row once, not 100,000 times.
POSTGRES = [
    """CREATE FUNCTION run_totals_count() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        delta bigint;
    BEGIN
        IF TG_OP = 'INSERT' THEN
            SELECT count(*) INTO delta FROM new_rows;
        ELSE
            SELECT -count(*) INTO delta FROM old_rows;
        END IF;
        IF delta <> 0 THEN
            INSERT INTO run_totals (id, runs) VALUES (1, delta)
            ON CONFLICT (id) DO UPDATE SET runs = run_totals.runs + EXCLUDED.runs;
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER run_totals_insert AFTER INSERT ON runs REFERENCING NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION run_totals_count()""",
    """CREATE TRIGGER run_totals_delete AFTER DELETE ON runs REFERENCING OLD TABLE AS old_rows
       FOR EACH STATEMENT EXECUTE FUNCTION run_totals_count()""",
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
        op.execute("DROP TRIGGER run_totals_insert ON runs")
        op.execute("DROP TRIGGER run_totals_delete ON runs")
        op.execute("DROP FUNCTION run_totals_count()")
    op.drop_table("run_totals")
