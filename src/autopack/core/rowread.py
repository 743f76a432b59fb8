"""One-row reads of prebuilt statements, for the checks made on every request (who calls, their role).

An ORM session costs about a millisecond to open, query and close; these checks read one small row.
On SQLite the statement, compiled once, runs on the thread's own autocommit connection (one call, no
BEGIN or pool checkout); on PostgreSQL on a pooled connection in autocommit (one round trip, no BEGIN
and ROLLBACK around it). Either way one statement sees one consistent snapshot.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.sql import Executable

from autopack.core.database import drop_thread_read_connection, get_engine, thread_read_connection

_compiled: dict[int, tuple] = {}
_lock = threading.Lock()


def _sqlite_form(statement: Executable, dialect: Any) -> tuple[str, tuple[str, ...], dict[str, Any], dict]:
    """The statement's SQLite text, its parameter names in order, the values bound when it was built,
    and the converters of the parameters whose type converts its values (booleans, datetimes)."""
    held = _compiled.get(id(statement))
    if held is not None and held[0] is statement:
        return held[1:]
    compiled = statement.compile(dialect=dialect)
    form = (compiled.string, tuple(compiled.positiontup or ()), dict(compiled.params),
            dict(compiled._bind_processors))  # noqa: SLF001 - what SQLAlchemy applies when it executes
    with _lock:
        _compiled[id(statement)] = (statement, *form)
    return form


def read_row(statement: Executable, params: dict[str, Any]) -> tuple | None:
    """The first row of `statement` run with `params` (values as the driver returns them), or None."""
    engine = get_engine()
    if engine.dialect.name != "sqlite":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            row = conn.execute(statement, params).first()
        return None if row is None else tuple(row)
    sql, names, bound, converters = _sqlite_form(statement, engine.dialect)
    values = []
    for name in names:
        value = params[name] if name in params else bound[name]
        convert = converters.get(name)
        values.append(value if convert is None or value is None else convert(value))
    try:
        return thread_read_connection().execute(sql, values).fetchone()
    except sqlite3.Error as exc:
        drop_thread_read_connection()
        raise OperationalError(sql, values, exc) from exc
