"""GET /runs and GET /runs/{run_id}/progress for a read thread: one SQL statement each on SQLite, the
service elsewhere.

As with the run document (runs/document.py), SQLite's JSON functions build the lists inside the
statement, so the thread steps through one row instead of one per run or phase; the answer is then
the same document as the service's on PostgreSQL, with the list embedded as it came.
"""

from __future__ import annotations

import sqlite3
from types import SimpleNamespace

import orjson
from sqlalchemy.exc import OperationalError

from autopack.core.database import (
    drop_sqlite_read_connection,
    is_sqlite,
    session_scope,
    sqlite_read_connection,
)
from autopack.core.errors import NotFound
from autopack.core.responses import FastJSONResponse
from autopack.db.base import UTCDateTime, sqlite_utc
from autopack.db.models import Run
from autopack.operator import service
from autopack.runs.document import SQLITE_RENDERS, json_value_sql
from autopack.runs.states import BUCKET_NAMES, PhaseCounts

_RUN_KEYS = tuple(c.key for c in service._PROGRESS_RUN_COLUMNS) + BUCKET_NAMES
_TIMES = frozenset(c.key for c in service._PROGRESS_RUN_COLUMNS if isinstance(c.type, UTCDateTime))
_PHASE_OBJECT = ", ".join(f"'{c.key}', {c.key}" for c in service._PROGRESS_PHASE_COLUMNS)
_STATEMENT = (
    f"SELECT {', '.join(_RUN_KEYS)}, (SELECT '[' || coalesce(group_concat(doc, ','), '') || ']' FROM "
    f"(SELECT json_object({_PHASE_OBJECT}) AS doc FROM phases WHERE run_id = :run_id "
    "ORDER BY phase_index, id)) FROM runs WHERE id = :run_id"
)


def read_progress(run_id: str) -> bytes:
    """The progress answer as JSON bytes; NotFound when there is no such run."""
    if not (SQLITE_RENDERS and is_sqlite()):
        with session_scope(writer=False) as session:
            return FastJSONResponse(service.run_progress(session, run_id)).body
    conn = sqlite_read_connection()
    try:
        row = conn.execute(_STATEMENT, {"run_id": run_id}).fetchone()
    except sqlite3.Error as exc:
        drop_sqlite_read_connection()
        raise OperationalError("run progress", {"run_id": run_id}, exc) from exc
    if row is None:
        raise NotFound(f"Run {run_id} not found")
    run = SimpleNamespace(**{key: sqlite_utc(value) if key in _TIMES else value
                             for key, value in zip(_RUN_KEYS, row, strict=False)})
    counts = PhaseCounts.read(run)  # kept in step with the phases, read in the same statement
    return orjson.dumps(service.progress_document(run, orjson.Fragment(row[-1]), counts),
                        option=orjson.OPT_NON_STR_KEYS)


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


def read_run_list(limit: int, offset: int) -> bytes:
    """A page of runs as JSON bytes (limit and offset clamped as the reference)."""
    limit, offset = service.clamp_page(limit, offset)
    if not (SQLITE_RENDERS and is_sqlite()):
        with session_scope(writer=False) as session:
            return FastJSONResponse(service.list_runs(session, limit, offset)).body
    conn = sqlite_read_connection()
    try:
        total, runs = conn.execute(_LIST_STATEMENT, {"limit": limit, "offset": offset}).fetchone()
    except sqlite3.Error as exc:
        drop_sqlite_read_connection()
        raise OperationalError("run list", {"limit": limit, "offset": offset}, exc) from exc
    return orjson.dumps({"runs": orjson.Fragment(runs), "total": total, "limit": limit, "offset": offset})
