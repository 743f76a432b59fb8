"""Instance-wide roles granted to users (beside the per-tenant roles)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from autopack.db.base import Base, utcnow

# approver: decides approval and governance requests; runner: an executor that starts runs and posts
# their results. Checked in code (grant), not by the database, so a new role needs no table rebuild.
INSTANCE_ROLES = ("approver", "runner")


class UserRole(Base):
    """One instance-level role held by one user (granted and revoked with the CLI, audited)."""

    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    granted_by: Mapped[str] = mapped_column(String(255), nullable=False)
    granted_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
