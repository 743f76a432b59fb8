"""GET /runs/{run_id}/progress for a read thread: one SQL statement on SQLite, the service elsewhere.

As with the run document (runs/document.py), SQLite's JSON functions build the phase list inside the
statement, so the thread steps through one row instead of one per phase; the answer is then the same
`service.progress_document` as on PostgreSQL, with the phase list embedded as it came.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
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
from autopack.db.base import UTCDateTime
from autopack.operator import service
from autopack.runs.document import SQLITE_RENDERS
from autopack.runs.states import BUCKET_NAMES, PhaseCounts

_RUN_KEYS = tuple(c.key for c in service._PROGRESS_RUN_COLUMNS) + BUCKET_NAMES
_TIMES = frozenset(c.key for c in service._PROGRESS_RUN_COLUMNS if isinstance(c.type, UTCDateTime))
_PHASE_OBJECT = ", ".join(f"'{c.key}', {c.key}" for c in service._PROGRESS_PHASE_COLUMNS)
_STATEMENT = (
    f"SELECT {', '.join(_RUN_KEYS)}, (SELECT '[' || coalesce(group_concat(doc, ','), '') || ']' FROM "
    f"(SELECT json_object({_PHASE_OBJECT}) AS doc FROM phases WHERE run_id = :run_id "
    "ORDER BY phase_index, id)) FROM runs WHERE id = :run_id"
)


def _time(text: str | None) -> datetime | None:
    # Stored by UTCDateTime as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC.
    return None if text is None else datetime.fromisoformat(text).replace(tzinfo=UTC)


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
    run = SimpleNamespace(**{key: _time(value) if key in _TIMES else value
                             for key, value in zip(_RUN_KEYS, row, strict=False)})
    counts = PhaseCounts.read(run)  # kept in step with the phases, read in the same statement
    return orjson.dumps(service.progress_document(run, orjson.Fragment(row[-1]), counts),
                        option=orjson.OPT_NON_STR_KEYS)
