"""approvals, governance: server defaults for the columns the reference never had (merges the two heads)

The reference executor inserts `approval_requests` and `governance_requests` rows straight through
SQL, naming only the reference's columns; every NOT NULL column Autopack added gets a value from the
database then. Such an approval row has `payload_sha256` '' (no payload was hashed). One revision for
both tables (the revision numbers are scarce), so the approvals and governance branches end here.

Revision ID: 0028
Revises: 0006, 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = ("0006", "0015")
branch_labels = None
depends_on = None

_DEFAULTS = {
    "approval_requests": [("payload_sha256", sa.String(64), sa.text("''")),
                          ("notify_state", sa.String(16), sa.text("'skipped'")),
                          ("notify_attempts", sa.Integer(), sa.text("0"))],
    "governance_requests": [("requested_paths", sa.Text(), sa.text("'[]'")),
                            ("applied", sa.Boolean(), sa.false())],
}


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, columns in _DEFAULTS.items():
        # SQLite cannot change a default in place: the table is rebuilt (nothing references these two).
        with op.batch_alter_table(table, recreate="always" if sqlite else "auto") as batch:
            for name, type_, default in columns:
                batch.alter_column(name, existing_type=type_, existing_nullable=False, server_default=default)


def downgrade() -> None:
    # Defaults are harmless to older code; they stay. Downgrades are not promised.
    pass
