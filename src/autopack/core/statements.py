"""Prebuilt Core statements of the hot write paths, run by the driver on a session's connection.

SQLAlchemy's execution layer costs 30-100 us a statement where sqlite3 takes a few and psycopg a few
more: the statement is compiled once per set of parameter names, and its values are converted, its
Python-side defaults filled and its result rows converted exactly as SQLAlchemy would, in the session's
transaction. Whenever something listens to the engine's statement events (tests counting or reading
statements), the statement goes through SQLAlchemy unchanged.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable

Params = dict[str, Any]

_forms: dict[tuple[int, tuple[str, ...], str], tuple[Executable, _Form | None]] = {}
_lock = threading.Lock()
MAX_FORMS = 4096


class _Unsupported(Exception):
    """The statement needs SQLAlchemy's own execution (expanding IN, SQL-expression defaults)."""


class _Form:
    """One statement compiled for one set of parameter names: SQL, value order and converters."""

    __slots__ = ("sql", "positional", "names", "bound", "binders", "defaults", "keys", "types", "dialect", "readers")

    def __init__(self, statement: Executable, names: tuple[str, ...], dialect: Any) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(names))
        if compiled.literal_execute_params or any(b.expanding for b in compiled.binds.values()):
            raise _Unsupported
        self.sql = compiled.string
        self.positional = compiled.positional  # sqlite3: ?, in order; psycopg: %(name)s
        self.names = tuple(compiled.positiontup or ()) if self.positional else tuple(
            dict.fromkeys(compiled.bind_names.values()))
        self.bound = dict(compiled.params)
        self.binders = dict(compiled._bind_processors)  # noqa: SLF001 - what SQLAlchemy applies on execute
        self.defaults = _prefetch_defaults(compiled)
        columns = compiled._result_columns  # noqa: SLF001 - the result's keys and types, as SQLAlchemy reads them
        self.keys = tuple(c.keyname for c in columns)
        self.types = tuple(c.type for c in columns)
        self.dialect = dialect
        self.readers: tuple | None = None  # from the first result's description (PostgreSQL's type codes)

    def read_with(self, description: Sequence[Sequence[Any]]) -> None:
        """Take the result converters SQLAlchemy would for a result described by `description`."""
        self.readers = tuple(kind._cached_result_processor(self.dialect, column[1])  # noqa: SLF001
                             for kind, column in zip(self.types, description, strict=True))

    def values(self, params: Params) -> list[Any] | dict[str, Any]:
        """The statement's values for `params` (in order, or by name), converted as SQLAlchemy would."""
        if self.defaults:
            params = {**{name: make(None) for name, make in self.defaults.items()}, **params}
        out = []
        for name in self.names:
            value = params[name] if name in params else self.bound[name]
            convert = self.binders.get(name)
            out.append(value if convert is None or value is None else convert(value))
        return out if self.positional else dict(zip(self.names, out, strict=True))

    def run(self, cursor: Any, values: Any, want: str) -> Any:
        """Execute on `cursor`: its rowcount ("rowcount"), or its raw rows ("all"; "one": at most one)."""
        cursor.execute(self.sql, values)
        if want == "rowcount":
            return cursor.rowcount
        if self.readers is None:
            self.read_with(cursor.description)
        if want == "all":
            return cursor.fetchall()
        raw = cursor.fetchone()
        return [] if raw is None else [raw]

    def values_of(self, raw: Sequence[Any]) -> tuple:
        """One result row's values, converted as SQLAlchemy would."""
        return tuple(value if read is None or value is None else read(value)
                     for read, value in zip(self.readers, raw, strict=True))

    def row(self, raw: Sequence[Any]) -> dict[str, Any]:
        """One result row as {key: value}, values converted as SQLAlchemy would."""
        return dict(zip(self.keys, self.values_of(raw), strict=True))


def _prefetch_defaults(compiled: Any) -> dict[str, Callable[[Any], Any]]:
    """Python-side defaults SQLAlchemy would compute before executing (by parameter name)."""
    defaults: dict[str, Callable[[Any], Any]] = {}
    for columns, attribute in ((compiled.insert_prefetch, "default"), (compiled.update_prefetch, "onupdate")):
        for column in columns:
            default = getattr(column, attribute)
            if default.is_scalar:
                defaults[column.key] = lambda _ctx, value=default.arg: value
            elif default.is_callable:
                defaults[column.key] = default.arg  # wrapped by SQLAlchemy to take (and ignore) a context
            else:
                raise _Unsupported
    return defaults


def _form(statement: Executable, names: tuple[str, ...], dialect: Any) -> _Form | None:
    key = (id(statement), names, dialect.name)
    held = _forms.get(key)
    if held is not None and held[0] is statement:
        return held[1]
    try:
        form = _Form(statement, names, dialect)
    except _Unsupported:
        form = None  # remembered too: SQLAlchemy runs it, without compiling it here each time
    with _lock:
        if len(_forms) >= MAX_FORMS:  # a statement built per call, or many column sets: start over
            _forms.clear()
        _forms[key] = (statement, form)
    return form


_DRIVERS = {("sqlite", "pysqlite"), ("postgresql", "psycopg")}


def _driver_form(conn: Connection, statement: Executable, params: Params) -> _Form | None:
    """The compiled form when the driver may run `statement` here, else None."""
    dialect = conn.dialect
    if (dialect.name, dialect.driver) not in _DRIVERS or conn.dispatch.before_cursor_execute \
            or conn.dispatch.after_cursor_execute:
        return None
    return _form(statement, tuple(params), dialect)


def _cursor(conn: Connection) -> Any:
    if not conn.in_transaction():
        conn.begin()  # as SQLAlchemy's autobegin would (on SQLite the writer's turn and BEGIN IMMEDIATE)
    return conn.connection.dbapi_connection.cursor()


def _errors(conn: Connection) -> type[Exception]:
    return conn.dialect.loaded_dbapi.Error


def _raise(conn: Connection, form: _Form, values: Any, exc: Exception) -> None:
    """The driver's error as SQLAlchemy raises it (IntegrityError, OperationalError, ...)."""
    raise DBAPIError.instance(form.sql, values, exc, _errors(conn)) from exc


def _run(conn: Connection, form: _Form, params: Params, want: str) -> Any:
    """`form.run` on a cursor of the session's connection, the driver's errors raised as SQLAlchemy's."""
    values = form.values(params)
    cursor = _cursor(conn)
    try:
        return form.run(cursor, values, want)
    except _errors(conn) as exc:
        _raise(conn, form, values, exc)
    finally:
        cursor.close()


def execute(conn: Connection, statement: Executable, params: Params) -> int:
    """Run `statement` with `params` on `conn`; the number of rows it changed."""
    form = _driver_form(conn, statement, params)
    if form is None:
        return conn.execute(statement, params).rowcount
    return _run(conn, form, params, "rowcount")


def execute_many(conn: Connection, statement: Executable, rows: list[Params]) -> None:
    """Run `statement` once per parameter set in `rows` (all with the same names)."""
    form = _driver_form(conn, statement, rows[0]) if rows else None
    if form is None:
        if rows:
            conn.execute(statement, rows)
        return
    values = [form.values(params) for params in rows]
    cursor = _cursor(conn)
    try:
        cursor.executemany(form.sql, values)
    except _errors(conn) as exc:
        _raise(conn, form, values, exc)
    finally:
        cursor.close()


def rows(conn: Connection, statement: Executable, params: Params) -> list[tuple]:
    """Every row of `statement` (a SELECT, or a write with RETURNING) as tuples."""
    form = _driver_form(conn, statement, params)
    if form is None:
        return [tuple(row) for row in conn.execute(statement, params)]
    return [form.values_of(raw) for raw in _run(conn, form, params, "all")]


def one_row(conn: Connection, statement: Executable, params: Params) -> tuple | None:
    """The first row of `statement` as a tuple, or None."""
    form = _driver_form(conn, statement, params)
    if form is None:
        row = conn.execute(statement, params).first()
        return None if row is None else tuple(row)
    fetched = _run(conn, form, params, "one")
    return form.values_of(fetched[0]) if fetched else None


def first(conn: Connection, statement: Executable, params: Params) -> dict[str, Any] | None:
    """The first row of `statement` as {column key: value}, or None."""
    form = _driver_form(conn, statement, params)
    if form is None:
        row = conn.execute(statement, params).first()
        return None if row is None else dict(row._mapping)
    fetched = _run(conn, form, params, "one")
    return form.row(fetched[0]) if fetched else None


def driver_row(dbapi_connection: Any, dialect: Any, statement: Executable, params: Params) -> tuple | None:
    """The first row of `statement` on a driver connection of its own (autocommit, no session), converted.

    The driver's errors are the caller's to handle (it owns the connection).
    """
    form = _form(statement, tuple(params), dialect)
    if form is None:
        raise ValueError("this statement needs SQLAlchemy's own execution (expanding IN, SQL defaults)")
    cursor = dbapi_connection.cursor()
    try:
        fetched = form.run(cursor, form.values(params), "one")
    finally:
        cursor.close()
    return form.values_of(fetched[0]) if fetched else None
