"""audit ledger: a keyed seal on every chain head

Revision ID: 0010
Revises: 0003
"""

from __future__ import annotations

import hashlib
import hmac

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0003"
branch_labels = None
depends_on = None

# Frozen copies of autopack.audit.chain's seal (migrations must not change when the code does).
_SEAL_PURPOSE = "audit-ledger-head-seal"
_ENCODING_VERSION = 1


def _seal(key: bytes, chain: str, seq: int, digest: str) -> str:
    message = f"{_ENCODING_VERSION}|{chain}|{seq}|{digest}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def upgrade() -> None:
    op.add_column("audit_chain_heads", sa.Column("seal", sa.String(length=64), nullable=True))
    conn = op.get_bind()
    heads = conn.execute(sa.text("SELECT chain_key, last_seq, last_hash FROM audit_chain_heads")).all()
    if not heads:
        return
    # Existing heads are sealed with this installation's server secret (the one the app will use).
    from autopack.core.secrets import derive_key

    key = derive_key(_SEAL_PURPOSE)
    for chain, seq, digest in heads:
        conn.execute(sa.text("UPDATE audit_chain_heads SET seal = :seal WHERE chain_key = :chain"),
                     {"seal": _seal(key, chain, seq, digest), "chain": chain})


def downgrade() -> None:
    with op.batch_alter_table("audit_chain_heads") as batch:
        batch.drop_column("seal")
