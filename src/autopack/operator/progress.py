"""GET /runs and GET /runs/{run_id}/progress for a read thread: one SQL statement each (SQLite's or
PostgreSQL's), the service on SQLite before 3.38.

As with the run document (runs/document.py), the statement builds the lists as JSON text, so the
thread steps through one row instead of one per run or phase; the answer is then the same document
as the service's, with the list embedded as it came.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC
from types import SimpleNamespace

import orjson
from sqlalchemy.exc import OperationalError

from autopack.core.database import (
    drop_thread_read_connection,
    is_sqlite,
    postgres_read_row,
    session_scope,
    thread_read_connection,
)
from autopack.core.errors import NotFound
from autopack.core.ids import is_storable
from autopack.core.responses import FastJSONResponse
from autopack.db.base import UTCDateTime, sqlite_utc
from autopack.db.models import Run
from autopack.operator import service
from autopack.runs.document import SQLITE_RENDERS, json_value_sql, pg_object_sql
from autopack.runs.states import BUCKET_NAMES, PhaseCounts

_RUN_KEYS = tuple(c.key for c in service._PROGRESS_RUN_COLUMNS) + BUCKET_NAMES
_TIMES = frozenset(c.key for c in service._PROGRESS_RUN_COLUMNS if isinstance(c.type, UTCDateTime))
_PHASE_OBJECT = ", ".join(f"'{c.key}', {c.key}" for c in service._PROGRESS_PHASE_COLUMNS)
_STATEMENT = (
    f"SELECT {', '.join(_RUN_KEYS)}, (SELECT '[' || coalesce(group_concat(doc, ','), '') || ']' FROM "
    f"(SELECT json_object({_PHASE_OBJECT}) AS doc FROM phases WHERE run_id = :run_id "
    "ORDER BY phase_index, id)) FROM runs WHERE id = :run_id"
)


_PG_PHASE_OBJECT = pg_object_sql(((c.key, c) for c in service._PROGRESS_PHASE_COLUMNS), "p")
_PG_STATEMENT = (
    f"SELECT {', '.join(_RUN_KEYS)}, (SELECT '[' || coalesce(string_agg({_PG_PHASE_OBJECT}, ',' "
    "ORDER BY p.phase_index, p.id), '') || ']' FROM phases AS p WHERE p.run_id = %(run_id)s) "
    "FROM runs WHERE id = %(run_id)s"
)


def read_progress(run_id: str) -> bytes:
    """The progress answer as JSON bytes; NotFound when there is no such run.

    One statement reads the run's columns and its phase list as JSON text (on the thread's own
    connection, one round trip); Python adds what is computed (elapsed time, budget) around them.
    """
    if is_sqlite() and not SQLITE_RENDERS:
        with session_scope(writer=False) as session:
            return FastJSONResponse(service.run_progress(session, run_id)).body
    if not is_sqlite():
        row = postgres_read_row(_PG_STATEMENT, {"run_id": run_id}, "run progress") if is_storable(run_id) else None
        to_utc = _postgres_utc
    else:
        conn = thread_read_connection()
        try:
            row = conn.execute(_STATEMENT, {"run_id": run_id}).fetchone()
        except sqlite3.Error as exc:
            drop_thread_read_connection()
            raise OperationalError("run progress", {"run_id": run_id}, exc) from exc
        to_utc = sqlite_utc
    if row is None:
        raise NotFound(f"Run {run_id} not found")
    run = SimpleNamespace(**{key: to_utc(value) if key in _TIMES else value
                             for key, value in zip(_RUN_KEYS, row, strict=False)})
    counts = PhaseCounts.read(run)  # kept in step with the phases, read in the same statement
    return orjson.dumps(service.progress_document(run, orjson.Fragment(row[-1]), counts),
                        option=orjson.OPT_NON_STR_KEYS)


def _postgres_utc(value):  # noqa: ANN001, ANN202 - a datetime or None
    """psycopg's aware datetime (in the session's time zone) in UTC, as UTCDateTime returns it."""
    return None if value is None else value.astimezone(UTC)


_SUMMARY = ", ".join(
    f"'{c.key}', {'coalesce(r.tokens_used, 0)' if c.key == 'tokens_used' else json_value_sql(c, 'r')}"
    for c in service.SUMMARY_COLUMNS)
_LIST_STATEMENT = (
    "SELECT coalesce((SELECT runs FROM run_totals WHERE id = 1), 0), "
    "'[' || coalesce((SELECT group_concat(doc, ',') FROM (SELECT json_object("
    f"{_SUMMARY}, 'phases_total', {' + '.join(f'r.{name}' for name in BUCKET_NAMES)}, "
    "'current_phase_name', (SELECT p.name FROM phases AS p WHERE p.run_id = r.id "
    f"AND p.state NOT IN ({', '.join(repr(s) for s in service.NOT_CURRENT)}) "
    "ORDER BY p.phase_index, p.id LIMIT 1)) AS doc "
    f"FROM runs AS r ORDER BY r.{Run.created_at.key} DESC, r.id DESC LIMIT :limit OFFSET :offset)), '') || ']'"
)


_PG_SUMMARY = pg_object_sql(
    ((c.key, c) for c in service.SUMMARY_COLUMNS if c.key != "tokens_used"), "r").replace(
    ""","token_cap":""", ""","tokens_used":' || coalesce(r.tokens_used, 0)::text || ',"token_cap":""", 1)
_PG_LIST_STATEMENT = (
    "SELECT coalesce((SELECT runs FROM run_totals WHERE id = 1), 0), '[' || coalesce((SELECT string_agg("
    f"left({_PG_SUMMARY}, -1) || ',\"phases_total\":' || "
    f"({' + '.join(f'coalesce(r.{name}, 0)' for name in BUCKET_NAMES)})::text || "
    "',\"current_phase_name\":' || coalesce(to_json((SELECT p.name FROM phases AS p WHERE p.run_id = r.id "
    f"AND p.state NOT IN ({', '.join(repr(s) for s in service.NOT_CURRENT)}) "
    "ORDER BY p.phase_index, p.id LIMIT 1))::text, 'null') || '}', ',' "
    f"ORDER BY r.{Run.created_at.key} DESC, r.id DESC) FROM (SELECT * FROM runs "
    f"ORDER BY {Run.created_at.key} DESC, id DESC LIMIT %(limit)s OFFSET %(offset)s) AS r), '') || ']'"
)


def read_run_list(limit: int, offset: int) -> bytes:
    """A page of runs as JSON bytes (limit and offset clamped as the reference): one statement reads the
    total (a counter kept by triggers) and the page as JSON text, newest first through the index on
    (created_at, id), so the cost does not grow with the number of runs."""
    limit, offset = service.clamp_page(limit, offset)
    params = {"limit": limit, "offset": offset}
    if not is_sqlite():
        total, runs = postgres_read_row(_PG_LIST_STATEMENT, params, "run list")
    elif not SQLITE_RENDERS:
        with session_scope(writer=False) as session:
            return FastJSONResponse(service.list_runs(session, limit, offset)).body
    else:
        conn = thread_read_connection()
        try:
            total, runs = conn.execute(_LIST_STATEMENT, params).fetchone()
        except sqlite3.Error as exc:
            drop_thread_read_connection()
            raise OperationalError("run list", params, exc) from exc
    return orjson.dumps({"runs": orjson.Fragment(runs), "total": total, "limit": limit, "offset": offset})
