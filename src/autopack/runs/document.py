"""The RunResponse document of `GET /runs/{run_id}`, rendered as JSON bytes: one document, two renderings.

`read_run_document` is the one function the endpoint calls; its docstring says which database takes
which rendering. `service.serialize_run` stays the definition of the document (the 201 answer of
`POST /runs/start` and SQLite before 3.38 render it); the one statement of each database renders the
same bytes, and tests render every run shape both ways and compare them.
"""

from __future__ import annotations

import sqlite3

import orjson
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.types import JSON

from autopack.core.database import (
    drop_thread_read_connection,
    is_sqlite,
    postgres_read_row,
    session_scope,
    thread_read_connection,
)
from autopack.core.errors import NotFound
from autopack.core.ids import is_storable
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


def pg_json_sql(attribute, alias: str) -> str:  # noqa: ANN001 - an ORM column attribute
    """PostgreSQL text of one column's JSON value, byte for byte what orjson makes of the ORM's value.

    Never NULL (a JSON null is the text 'null'), so values can be joined with ||. to_json escapes
    strings as orjson does (the two characters of \\" and \\\\, \\n and its kin, \\u00XX in lower case for
    other control characters, everything else as is); JSON columns are their stored JSON text, as the
    Python serializer embeds them.
    """
    column = attribute.expression
    ref = f"{alias}.{column.name}"
    if isinstance(column.type, UTCDateTime):
        return (f"CASE WHEN {ref} IS NULL THEN 'null' ELSE '\"' || replace(to_char({ref} AT TIME ZONE 'UTC', "
                f"'YYYY-MM-DD\"T\"HH24:MI:SS.US'), '.000000', '') || '+00:00\"' END")
    if isinstance(column.type, JSON):
        return f"coalesce({ref}::text, 'null')"
    return f"coalesce(to_json({ref})::text, 'null')"


def pg_object_sql(items, alias: str) -> str:  # noqa: ANN001 - (key, ORM column attribute) pairs
    """PostgreSQL text of a JSON object of `items`, written as orjson writes it (no spaces)."""
    parts = [f"'{',' if i else '{'}\"{key}\":' || {pg_json_sql(c, alias)}" for i, (key, c) in enumerate(items)]
    return " || ".join(parts) + " || '}'"


def _open(obj: str) -> str:
    """`obj` without its closing brace, for lists to be appended."""
    return f"left({obj}, -1)"


def _postgres_statement() -> str:
    """One statement, one row: the finished document, as the SQLite statement but in PostgreSQL's dialect.

    Objects are joined as text (json_build_object would put spaces after every key), lists with
    string_agg in the order of their ORDER BY; the phase objects are built once and grouped per tier.
    """
    phase = pg_object_sql(((c.key, c) for c in service.RESPONSE_PHASE_COLUMNS), "ph")
    summary = pg_object_sql(service.RESULTS_SUMMARY_COLUMNS, "ph")
    present = " OR ".join(f"ph.{c.expression.name} IS NOT NULL" for c in service.SUMMARY_PRESENT)
    phase_doc = f"{_open(phase)} || ',\"results_summary\":' || CASE WHEN {present} THEN {summary} ELSE 'null' END || '}}'"
    tier = pg_object_sql(((c.key, c) for c in service.TIER_COLUMNS), "t")
    run = pg_object_sql(((c.key, c) for c in service.RUN_COLUMNS), "r")
    tiers = (f"SELECT string_agg({_open(tier)} || ',\"phases\":[' || coalesce(tp.docs, '') || ']}}', ',' "
             "ORDER BY t.tier_index, t.id) FROM tiers AS t LEFT JOIN tp ON tp.tier_pk = t.id "
             "WHERE t.run_id = %(run_id)s")
    return (
        "WITH p AS MATERIALIZED (SELECT ph.id AS id, ph.phase_index AS phase_index, ph.tier_id AS tier_pk, "
        f"{phase_doc} AS doc FROM phases AS ph WHERE ph.run_id = %(run_id)s), "
        "tp AS (SELECT tier_pk, string_agg(doc, ',' ORDER BY phase_index, id) AS docs FROM p GROUP BY tier_pk) "
        f"SELECT {_open(run)} || ',\"tiers\":[' || coalesce(({tiers}), '') || '],\"phases\":[' || "
        "coalesce((SELECT string_agg(doc, ',' ORDER BY phase_index, id) FROM p), '') || ']}' "
        "FROM runs AS r WHERE r.id = %(run_id)s"
    )


_SQLITE_DOCUMENT = _sqlite_statement()
_POSTGRES_DOCUMENT = _postgres_statement()
# JSON functions are built in from SQLite 3.38 (MATERIALIZED needs 3.35); older libraries take the
# Python serializer.
SQLITE_RENDERS = sqlite3.sqlite_version_info >= (3, 38, 0)


def read_run_document(run_id: str) -> bytes:
    """The run as JSON bytes, for a read thread; NotFound when there is no such run.

    One SQL statement builds the whole document, in one round trip on the thread's own connection
    (`thread_read_connection`, `postgres_read_row`): Python's database drivers give up and take back
    the GIL on every row they step through, so fetching 60 rows from a worker thread while the event
    loop runs costs far more in GIL hand-offs than the query itself; one row holding the finished JSON
    costs one. On PostgreSQL the statement is its own snapshot (autocommit), where the serializer
    needs three queries in a REPEATABLE READ transaction. SQLite before 3.38 takes the serializer.
    """
    if not is_sqlite():
        return _postgres_document(run_id)
    if not SQLITE_RENDERS:
        with session_scope(writer=False) as session:
            return _serialized_document(session, run_id)
    conn = thread_read_connection()
    try:
        return _sqlite_document(conn, run_id)
    except sqlite3.Error as exc:
        drop_thread_read_connection()
        raise OperationalError("run document", {"run_id": run_id}, exc) from exc


def run_document(session: Session, run_id: str) -> bytes:
    """The same document read inside `session`, by the statement where there is one."""
    dialect = session.connection().dialect.name
    if dialect == "postgresql":
        return _postgres_document(run_id, session.connection().connection.driver_connection)
    if SQLITE_RENDERS and dialect == "sqlite":
        return _sqlite_document(session.connection().connection.driver_connection, run_id)
    return _serialized_document(session, run_id)


def _postgres_document(run_id: str, conn=None) -> bytes:  # noqa: ANN001 - a psycopg connection
    """The statement's document: on `conn` when given, else on the thread's own connection."""
    params = {"run_id": run_id}
    if not is_storable(run_id):  # PostgreSQL refuses such text as a parameter; no run has such an id
        row = None
    elif conn is None:
        row = postgres_read_row(_POSTGRES_DOCUMENT, params, "run document")
    else:
        row = conn.execute(_POSTGRES_DOCUMENT, params).fetchone()
    if row is None:
        raise NotFound(f"Run {run_id} not found")
    return row[0].encode()


def _serialized_document(session: Session, run_id: str) -> bytes:
    return orjson.dumps(service.serialize_run(session, run_id))


def _sqlite_document(conn: sqlite3.Connection, run_id: str) -> bytes:
    row = conn.execute(_SQLITE_DOCUMENT, {"run_id": run_id}).fetchone()
    if row is None:
        raise NotFound(f"Run {run_id} not found")
    return row[0].encode()
