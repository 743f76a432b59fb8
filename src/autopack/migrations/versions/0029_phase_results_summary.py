"""runs: each phase keeps a summary of its latest builder and auditor result (GET /runs/{run_id})

The run document is the executor's hot read, so the summary lives in the phase row, written by the
transaction that stores each result, instead of a query over the result tables on every read; it is
kept small (the latest builder result's counts, the latest auditor verdict): every byte of it is in
every phase of every GET /runs/{run_id}. Existing rows are filled from `builder_results` and
`auditor_results` (the latest by id).

Revision ID: 0029
Revises: 0023
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0023"
branch_labels = None
depends_on = None

COLUMNS = (
    sa.Column("last_builder_status", sa.String(64), nullable=True),
    sa.Column("last_builder_files_changed", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("last_builder_lines_added", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("last_builder_lines_removed", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("last_builder_tokens", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("last_auditor_verdict", sa.String(64), nullable=True),
)
_MATCH = "r.run_id = phases.run_id AND r.phase_id = phases.phase_id"
_LATEST = f"(SELECT {{expr}} FROM {{table}} AS r WHERE {_MATCH} ORDER BY r.id DESC LIMIT 1)"
# files_changed is a JSON list of paths: its length, in each database's own words (0 for anything else).
_FILE_COUNT = {"sqlite": "coalesce(json_array_length(r.files_changed), 0)",
               "postgresql": "CASE WHEN jsonb_typeof(r.files_changed) = 'array' "
                             "THEN jsonb_array_length(r.files_changed) ELSE 0 END"}


def _backfill(dialect: str) -> None:
    builder = {
        "last_builder_status": _LATEST.format(expr="r.status", table="builder_results"),
        "last_builder_files_changed": _LATEST.format(expr=_FILE_COUNT[dialect], table="builder_results"),
        "last_builder_lines_added": _LATEST.format(expr="r.lines_added", table="builder_results"),
        "last_builder_lines_removed": _LATEST.format(expr="r.lines_removed", table="builder_results"),
        "last_builder_tokens": _LATEST.format(expr="r.tokens_used", table="builder_results"),
    }
    auditor = {"last_auditor_verdict": _LATEST.format(expr="r.recommendation", table="auditor_results")}
    # Only the phases that have results: the rest keep the server defaults.
    for table, sets in (("builder_results", builder), ("auditor_results", auditor)):
        assignments = ", ".join(f"{name} = {expr}" for name, expr in sets.items())
        op.execute(f"UPDATE phases SET {assignments} "
                   f"WHERE EXISTS (SELECT 1 FROM {table} AS r WHERE {_MATCH})")


def upgrade() -> None:
    with op.batch_alter_table("phases") as batch:
        for column in COLUMNS:
            batch.add_column(column.copy())
    _backfill(op.get_bind().dialect.name)


def downgrade() -> None:
    with op.batch_alter_table("phases") as batch:
        for column in reversed(COLUMNS):
            batch.drop_column(column.name)
