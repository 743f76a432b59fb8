"""The RunResponse document of `GET /runs/{run_id}`, rendered as JSON bytes: one document, two renderings.

`read_run_document` is the one function the endpoint calls; its docstring says which database takes
which rendering. `service.serialize_run` stays the definition of the document (PostgreSQL renders it,
and so does the 201 answer of `POST /runs/start`); a test renders every run shape both ways and
compares them.
"""

from __future__ import annotations

import sqlite3

import orjson
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.types import JSON

from autopack.core.database import (
    drop_sqlite_read_connection,
    is_sqlite,
    session_scope,
    sqlite_read_connection,
)
from autopack.core.errors import NotFound
from autopack.db.base import UTCDateTime
from autopack.runs import service


def json_value_sql(attribute, alias: str) -> str:  # noqa: ANN001 - an ORM column attribute
    """SQL for one column's JSON value, matching what orjson makes of the ORM's Python value."""
    column = attribute.expression
    ref = f"{alias}.{column.name}"
    if isinstance(column.type, UTCDateTime):
        # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC; orjson writes aware datetimes as
        # 'YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00' (no fraction when it is zero).
        return (f"CASE WHEN {ref} IS NULL THEN NULL ELSE "
                f"replace(replace({ref}, ' ', 'T'), '.000000', '') || '+00:00' END")
    if isinstance(column.type, JSON):
        return f"json({ref})"
    return ref


def _pairs(items, alias: str) -> str:  # noqa: ANN001 - (key, ORM column attribute) pairs
    return ", ".join(f"'{key}', {json_value_sql(c, alias)}" for key, c in items)


def _object(columns, alias: str) -> str:
    return f"json_object({_pairs(((c.key, c) for c in columns), alias)})"


def _phase_object(alias: str) -> str:
    """A phase's object: its response columns, then its `results_summary` object, null while nothing
    was reported (json_object nests a json_object's result as JSON, through CASE too, not as a string)."""
    phase = _pairs(((c.key, c) for c in service.RESPONSE_PHASE_COLUMNS), alias)
    summary = _pairs(service.RESULTS_SUMMARY_COLUMNS, alias)
    present = " OR ".join(f"{alias}.{c.expression.name} IS NOT NULL" for c in service.SUMMARY_PRESENT)
    return f"json_object({phase}, 'results_summary', CASE WHEN {present} THEN json_object({summary}) END)"


def _array(subquery: str) -> str:
    """A JSON array of the `doc` texts `subquery` yields, in its order."""
    return f"'[' || coalesce((SELECT group_concat(doc, ',') FROM ({subquery})), '') || ']'"


def _with_lists(obj: str, lists: str) -> str:
    """`obj` (a JSON object text) with `lists` (`,"key":[...]` texts) added before its closing brace."""
    return f"substr({obj}, 1, length({obj}) - 1) || {lists} || '}}'"


def _sqlite_statement() -> str:
    """One statement, one row: the finished document.

    Objects come from json_object; lists are joined as text, so nothing is parsed twice (json() or
    json_group_array over json_object results re-parse each piece). The phase objects are built once
    (MATERIALIZED) and used for the tiers' lists and the flat list. Aggregates follow the ORDER BY of
    their sub-query: SQLite never flattens an ordered sub-query into an aggregate.
    """
    phase = _phase_object("ph")
    tier = _object(service.TIER_COLUMNS, "t")
    run = _object(service.RUN_COLUMNS, "r")
    tier_phases = _array("SELECT doc FROM p WHERE p.tier_pk = t.id ORDER BY p.phase_index, p.id")
    tier_doc = _with_lists("obj", """',"phases":' || phases""")
    tiers = _array(f"SELECT {tier_doc} AS doc FROM tier_docs ORDER BY tier_index, id")
    phases = _array("SELECT doc FROM p ORDER BY phase_index, id")
    run_doc = _with_lists("run_obj", f"""',"tiers":' || {tiers} || ',"phases":' || {phases}""")
    return (
        "WITH p AS MATERIALIZED (SELECT ph.id AS id, ph.phase_index AS phase_index, "
        f"ph.tier_id AS tier_pk, {phase} AS doc FROM phases AS ph WHERE ph.run_id = :run_id), "
        f"tier_docs AS (SELECT t.id AS id, t.tier_index AS tier_index, {tier} AS obj, "
        f"{tier_phases} AS phases FROM tiers AS t WHERE t.run_id = :run_id) "
        f"SELECT {run_doc} FROM (SELECT {run} AS run_obj FROM runs AS r WHERE r.id = :run_id)"
    )


_SQLITE_DOCUMENT = _sqlite_statement()
# JSON functions are built in from SQLite 3.38 (MATERIALIZED needs 3.35); older libraries take the
# Python serializer.
SQLITE_RENDERS = sqlite3.sqlite_version_info >= (3, 38, 0)


def read_run_document(run_id: str) -> bytes:
    """The run as JSON bytes, for a read thread; NotFound when there is no such run.

    SQLite (3.38 or later): one SQL statement builds the whole document (SQLite's JSON functions) on
    the thread's own connection. Python's sqlite3 module gives up and takes back the GIL on every row it
    steps through, so fetching 60 rows from a worker thread while the event loop runs costs far more in
    GIL hand-offs than the query itself; one row holding the finished JSON costs one.
    PostgreSQL (and older SQLite): the Python serializer, `service.serialize_run`, three queries in one
    REPEATABLE READ snapshot; psycopg fetches a result in one piece, so there is no per-row cost to
    save, and the statement above is SQLite's own dialect.
    """
    if not _renders_in_sql():
        with session_scope(writer=False) as session:
            if session.get_bind().dialect.name == "postgresql":
                # three queries, one snapshot (READ COMMITTED would give each query its own)
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            return _serialized_document(session, run_id)
    conn = sqlite_read_connection()
    try:
        return _sqlite_document(conn, run_id)
    except sqlite3.Error as exc:
        drop_sqlite_read_connection()
        raise OperationalError("run document", {"run_id": run_id}, exc) from exc


def run_document(session: Session, run_id: str) -> bytes:
    """The same document read inside `session`, by the rendering read_run_document picks."""
    if _renders_in_sql(session):
        return _sqlite_document(session.connection().connection.driver_connection, run_id)
    return _serialized_document(session, run_id)


def _renders_in_sql(session: Session | None = None) -> bool:
    """True where the document is rendered by the SQL statement: SQLite with its JSON functions."""
    if session is not None:
        return SQLITE_RENDERS and session.connection().dialect.name == "sqlite"
    return SQLITE_RENDERS and is_sqlite()


def _serialized_document(session: Session, run_id: str) -> bytes:
    return orjson.dumps(service.serialize_run(session, run_id))


def _sqlite_document(conn: sqlite3.Connection, run_id: str) -> bytes:
    row = conn.execute(_SQLITE_DOCUMENT, {"run_id": run_id}).fetchone()
    if row is None:
        raise NotFound(f"Run {run_id} not found")
    return row[0].encode()
