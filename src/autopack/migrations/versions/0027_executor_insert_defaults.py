"""identity: server defaults for the user columns the reference never had (see 0028 for the others)

Operators following the reference insert users straight through SQL (it has no endpoint for a
superuser), naming only the reference's columns. The columns Autopack added get a value from the
database then: a random `token_key`, and `username_key` from the username (lower-cased; PostgreSQL
by a BEFORE INSERT trigger, SQLite by an AFTER INSERT trigger over a '' default).

Revision ID: 0027
Revises: 0013
"""

from __future__ import annotations

import importlib

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0013"
branch_labels = None
depends_on = None

_rebuild_users = importlib.import_module("autopack.migrations.versions.0013_user_ids_never_reused")

_PG_TOKEN_KEY = sa.text("replace(gen_random_uuid()::text, '-', '')")
_SQLITE_TOKEN_KEY = sa.text("(lower(hex(randomblob(16))))")
_PG_USERNAME_KEY = """
CREATE FUNCTION users_username_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.username_key IS NULL OR NEW.username_key = '' THEN
    NEW.username_key := lower(NEW.username);
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER users_username_key BEFORE INSERT ON users
  FOR EACH ROW EXECUTE FUNCTION users_username_key();
"""
_SQLITE_USERNAME_KEY = """
CREATE TRIGGER users_username_key AFTER INSERT ON users
  WHEN NEW.username_key = ''
BEGIN
  UPDATE users SET username_key = lower(NEW.username) WHERE id = NEW.id;
END
"""


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    if not sqlite:
        op.alter_column("users", "token_key", existing_type=sa.String(32), existing_nullable=False,
                        server_default=_PG_TOKEN_KEY)
        bind.exec_driver_sql(_PG_USERNAME_KEY)
        return

    def alter() -> None:
        with op.batch_alter_table("users", recreate="always", table_kwargs={"sqlite_autoincrement": True}) as batch:
            batch.alter_column("token_key", existing_type=sa.String(32), existing_nullable=False,
                               server_default=_SQLITE_TOKEN_KEY)
            batch.alter_column("username_key", existing_type=sa.String(50), existing_nullable=False,
                               server_default=sa.text("''"))

    _rebuild_users._sqlite_rebuild_users(bind, alter)
    bind.exec_driver_sql(_SQLITE_USERNAME_KEY)


def downgrade() -> None:
    # Only the trigger goes (so 0013 can be downgraded below this); on SQLite the defaults stay,
    # since removing one would rebuild the table for no gain. Downgrades are not promised.
    bind = op.get_bind()
    bind.exec_driver_sql("DROP TRIGGER IF EXISTS users_username_key" + ("" if bind.dialect.name == "sqlite" else " ON users"))
    if bind.dialect.name != "sqlite":
        bind.exec_driver_sql("DROP FUNCTION IF EXISTS users_username_key()")
        op.alter_column("users", "token_key", existing_type=sa.String(32), server_default=None)
