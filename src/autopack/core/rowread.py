"""One-row reads of prebuilt statements, for the checks made on every request (who calls, their role).

An ORM session costs about a millisecond to open, query and close; these checks read one small row.
The statement, compiled once (`core.statements`), runs on a driver connection in autocommit mode, so it
sees one consistent snapshot with no BEGIN, ROLLBACK or pool checkout around it: on SQLite the thread's
own connection; on PostgreSQL one of a few kept connections (one round trip, no pre-ping: a kept
connection that fails is dropped and the read made once more on a fresh one).
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable

from autopack.core.database import drop_thread_read_connection, get_engine, thread_read_connection
from autopack.core.statements import driver_row

# PostgreSQL connections kept for these reads, newest last; more are opened while all are in use.
MAX_KEPT = 4
_kept: list[tuple[Engine, Any]] = []
_lock = threading.Lock()


def read_row(statement: Executable, params: dict[str, Any]) -> tuple | None:
    """The first row of `statement` run with `params` (values converted as SQLAlchemy would), or None."""
    engine = get_engine()
    dbapi = engine.dialect.loaded_dbapi
    if engine.dialect.name == "sqlite":
        try:
            return driver_row(thread_read_connection(), engine.dialect, statement, params)
        except dbapi.Error as exc:
            drop_thread_read_connection()
            raise DBAPIError.instance(str(statement), params, exc, dbapi.Error) from exc
    for last_try in (False, True):
        conn, kept = _checkout(engine)
        try:
            row = driver_row(conn, engine.dialect, statement, params)
        except dbapi.Error as exc:
            _close(conn)
            if kept and not last_try and isinstance(exc, dbapi.OperationalError):
                continue  # the server may have restarted since the connection was kept
            raise DBAPIError.instance(str(statement), params, exc, dbapi.Error) from exc
        _checkin(engine, conn)
        return row
    raise AssertionError("unreachable")  # pragma: no cover


def _checkout(engine: Engine) -> tuple[Any, bool]:
    """A kept connection of `engine` (True), else a fresh one in autocommit (False)."""
    with _lock:
        while _kept:
            owner, conn = _kept.pop()
            if owner is engine:
                return conn, True
            _close(conn)
    fairy = engine.raw_connection()  # configured by the engine's connect hooks; pre-pinged by the pool
    fairy.detach()  # ours from now on, not the pool's
    conn = fairy.dbapi_connection
    conn.rollback()  # the pre-ping may have begun a transaction
    conn.autocommit = True
    return conn, False


def _checkin(engine: Engine, conn: Any) -> None:
    with _lock:
        if len(_kept) < MAX_KEPT:
            _kept.append((engine, conn))
            return
    _close(conn)


def _close(conn: Any) -> None:
    try:
        conn.close()
    except Exception:  # noqa: BLE001 - a broken connection is being thrown away anyway
        pass
