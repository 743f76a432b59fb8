"""identity: user ids never reused (SQLite AUTOINCREMENT), a per-user token key, NFKC username keys

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import logging
import secrets
import unicodedata
from collections import Counter
from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")
_users = sa.table("users", sa.column("id", sa.Integer), sa.column("username", sa.String),
                  sa.column("username_key", sa.String), sa.column("token_key", sa.String))


def _username_key(username: str) -> str:
    # autopack.auth.usernames.username_key as of this revision (a migration must not follow later code)
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())


def _fill(bind) -> None:
    """A random token key for every user; username keys recomputed where that collides with no one."""
    rows = bind.execute(sa.select(_users.c.id, _users.c.username, _users.c.username_key)).all()
    wanted = {row.id: _username_key(row.username) for row in rows}
    shared = {key for key, n in Counter(wanted.values()).items() if n > 1}
    moving = {row.id for row in rows if wanted[row.id] != row.username_key and wanted[row.id] not in shared}
    while True:  # a row that cannot move keeps its key, which may stop another row moving onto it
        kept = {row.username_key for row in rows if row.id not in moving}
        still = {user_id for user_id in moving if wanted[user_id] not in kept}
        if still == moving:
            break
        moving = still
    for row in rows:
        if row.id not in moving and wanted[row.id] != row.username_key:
            log.warning("users.id=%s keeps username key %r: its NFKC form %r is another user's", row.id,
                        row.username_key, wanted[row.id])
    # two passes: a key may move to a value another moving row still holds
    for user_id in moving:
        bind.execute(_users.update().where(_users.c.id == user_id).values(username_key=f"\x01{user_id}"))
    for row in rows:
        values = {"token_key": secrets.token_hex(16)}
        if row.id in moving:
            values["username_key"] = wanted[row.id]
        bind.execute(_users.update().where(_users.c.id == row.id).values(**values))


def _referencing_tables(bind) -> list[str]:
    names = bind.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'").scalars().all()
    return [name for name in names
            if any(fk[2] == "users" for fk in bind.exec_driver_sql(f'PRAGMA foreign_key_list("{name}")'))]


def _sqlite_rebuild_users(bind, alter: Callable[[], None]) -> None:
    """Run `alter` (which recreates `users`) with foreign keys off, then check every reference.

    Recreating a table drops the old one, and with foreign keys on SQLite deletes its rows first:
    ON DELETE CASCADE would empty tenant_memberships and user_roles. `PRAGMA foreign_keys` is ignored
    inside a transaction, so the migration's transaction is committed here (the earlier revisions are
    complete at this point) and a new one is opened for the rest.
    """
    bind.exec_driver_sql("COMMIT")
    bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
    try:
        bind.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            alter()
            for table in _referencing_tables(bind):
                broken = bind.exec_driver_sql(f'PRAGMA foreign_key_check("{table}")').all()
                if broken:
                    raise RuntimeError(f"rebuilding users would orphan rows of {table}: {broken[:5]}")
            bind.exec_driver_sql("COMMIT")
        except BaseException:
            if bind.connection.dbapi_connection.in_transaction:  # some errors end it themselves
                bind.exec_driver_sql("ROLLBACK")
            raise
    finally:
        bind.exec_driver_sql("PRAGMA foreign_keys=ON")
        bind.exec_driver_sql("BEGIN")  # the transaction Alembic records the revision in


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column("users", sa.Column("token_key", sa.String(length=32), nullable=True))
    _fill(bind)
    if bind.dialect.name != "sqlite":
        op.alter_column("users", "token_key", existing_type=sa.String(length=32), nullable=False)
        return

    def alter() -> None:
        with op.batch_alter_table("users", recreate="always",
                                  table_kwargs={"sqlite_autoincrement": True}) as batch:
            batch.alter_column("token_key", existing_type=sa.String(length=32), nullable=False)

    _sqlite_rebuild_users(bind, alter)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.drop_column("users", "token_key")
        return

    def alter() -> None:
        with op.batch_alter_table("users", recreate="always",
                                  table_kwargs={"sqlite_autoincrement": False}) as batch:
            batch.drop_column("token_key")

    _sqlite_rebuild_users(bind, alter)
