"""Engine, sessions and the request transaction (SQLite and PostgreSQL in lockstep)."""

from __future__ import annotations

import asyncio
import contextvars
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

from fastapi import Depends
from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from autopack.core.settings import get_settings
from autopack.core.startup import StartupRefused

_lock = threading.Lock()
_engine: Engine | None = None
_writer_bind: Engine | None = None  # the engine with the writer's options (SQLite's writer turns)
_sessionmaker: sessionmaker[Session] | None = None

AFTER_COMMIT_KEY = "autopack_after_commit"
T = TypeVar("T")


# SQLite has one writer at a time. This process's writers take turns on a lock from BEGIN until the
# connection goes back to the pool: fair and immediate, where SQLite's busy handler would make them
# sleep in growing steps (up to 100 ms each). Other processes still meet the busy timeout.
_sqlite_writer_lock = threading.Lock()
SQLITE_POOL_SIZE = 48  # above the 40 threads of the default thread pool
POSTGRES_POOL_SIZE = 10
# Read threads when AUTOPACK_READ_THREADS is 0 (auto). SQLite reads are CPU work, so threads beyond
# two only fight over the GIL and the two cores (measured: 1 thread 0.38x hello, 2 0.29x, 4 0.25x);
# PostgreSQL reads wait on the network, which more threads overlap.
SQLITE_READ_THREADS = 2
POSTGRES_READ_THREADS = 4
# Write threads when AUTOPACK_WRITE_THREADS is 0 (auto); each commits the writes waiting together
# (GroupWriter). SQLite runs one write at a time: one thread, no writer lock handed around. On
# PostgreSQL (measured, bench/README.md) one thread served the hot writes 1.3-2x as fast as eight
# (most of them wait on one run's row or the ledger's head anyway) and two nearly as fast as one; the
# second keeps writes moving while one waits on a lock or a long patch apply.
SQLITE_WRITE_THREADS = 1
POSTGRES_WRITE_THREADS = 2
_WRITER_TURN = "autopack_writer_turn"


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """WAL, foreign keys, busy timeout; writers take the lock up front with BEGIN IMMEDIATE."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        if not conn.get_execution_options().get("autopack_writer"):
            conn.exec_driver_sql("BEGIN DEFERRED")
            return
        info = conn.connection.info  # per pooled connection; released when it is checked in
        if not info.get(_WRITER_TURN):
            if not _sqlite_writer_lock.acquire(timeout=busy_timeout_ms / 1000):
                raise OperationalError("BEGIN IMMEDIATE", None, TimeoutError("database is locked"))
            info[_WRITER_TURN] = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            info.pop(_WRITER_TURN, None)
            _sqlite_writer_lock.release()
            raise

    def _end_turn(_dbapi_conn, record, *_args) -> None:
        if record is not None and record.info.pop(_WRITER_TURN, False):
            _sqlite_writer_lock.release()

    event.listen(engine.pool, "checkin", _end_turn)
    event.listen(engine.pool, "invalidate", _end_turn)


def build_engine(url: str) -> Engine:
    """Create an engine for `url` with the settings both databases need."""
    settings = get_settings()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            from pathlib import Path

            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": settings.sqlite_busy_timeout_ms / 1000},
            # Keep a connection per worker thread: a fresh SQLite connection must re-read the schema,
            # so connections closed on return (pool overflow) make every read slow.
            pool_size=settings.db_pool_size or SQLITE_POOL_SIZE,
            max_overflow=20,
        )
        _configure_sqlite(engine, settings.sqlite_busy_timeout_ms)
        return engine
    return create_engine(
        url,
        pool_size=settings.db_pool_size or POSTGRES_POOL_SIZE,
        max_overflow=20,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 5},
    )


def get_engine() -> Engine:
    """The process-wide engine, built on first use from settings."""
    global _engine, _sessionmaker, _writer_bind
    if _engine is None:
        with _lock:
            if _engine is None:
                _engine = build_engine(get_settings().sqlalchemy_url)
                _sessionmaker = sessionmaker(bind=_engine, expire_on_commit=False)
                _writer_bind = _engine.execution_options(autopack_writer=True)  # made once, not per write
    return _engine


def reset_engine() -> None:
    """Dispose of the engine (tests and settings changes)."""
    global _engine, _sessionmaker, _writer_bind
    with _lock:
        if _engine is not None:
            _engine.dispose()
        _engine = None
        _sessionmaker = None
        _writer_bind = None


def is_sqlite() -> bool:
    """True when the configured database is SQLite."""
    return get_engine().dialect.name == "sqlite"


def on_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once the session's transaction has committed (file mirrors, notifications)."""
    session.info.setdefault(AFTER_COMMIT_KEY, []).append(callback)


def _run_after_commit(session: Session) -> None:
    callbacks = session.info.pop(AFTER_COMMIT_KEY, [])
    for callback in callbacks:
        try:
            callback()
        except Exception:  # a mirror failing must not turn a committed change into an error
            from autopack.core.logging import get_logger

            get_logger(__name__).exception("after_commit_callback_failed")


@contextmanager
def session_scope(*, writer: bool = True) -> Iterator[Session]:
    """A session that commits on success and rolls back on error; the one transaction owner."""
    get_engine()
    assert _sessionmaker is not None
    with _session(writer) as session:
        yield session
    _run_after_commit(session)


@contextmanager
def _session(writer: bool) -> Iterator[Session]:
    bind = _writer_bind if writer else _engine
    session = _sessionmaker(bind=bind)
    try:
        yield session
        if writer:
            session.commit()
        # readers just close: that ends the transaction without expiring loaded objects
    except BaseException:
        session.rollback()
        session.info.pop(AFTER_COMMIT_KEY, None)
        raise
    finally:
        session.close()


def flushed_connection(session: Session) -> Connection:
    """The session's connection, its pending ORM changes written first (Core statements on it see them).

    Connection.execute costs about half what Session.execute does for a Core statement; unlike it,
    it does not flush, hence the flush here.
    """
    if session.new or session.dirty or session.deleted:
        session.flush()
    return session.connection()


def get_write_session() -> Iterator[Session]:
    """Request dependency for endpoints that change state."""
    with session_scope(writer=True) as session:
        yield session


def get_read_session() -> Iterator[Session]:
    """Request dependency for read-only endpoints (never takes the write lock)."""
    with session_scope(writer=False) as session:
        yield session


async def run_in_read_thread(fn: Callable[..., T], *args: Any) -> T:
    """Run `fn(*args)` on one of the read threads (which may use `thread_read_connection`)."""
    context = contextvars.copy_context()  # keep the request id in logs written by the thread
    return await asyncio.get_running_loop().run_in_executor(_read_executor(), context.run, fn, *args)


_thread_connection = threading.local()


def thread_read_connection() -> Any:
    """This thread's own connection, for reads made of one statement (on PostgreSQL through postgres_read_row).

    It is in autocommit mode, so each statement is its own read transaction and sees one consistent
    snapshot; no BEGIN, no ROLLBACK and no pool checkout around it (each of those gives up the GIL,
    and under load every hand-off of the GIL between threads costs more than the query).
    """
    engine = get_engine()
    held = getattr(_thread_connection, "held", None)
    if held is not None and held[0] is engine:
        return held[1].dbapi_connection
    drop_thread_read_connection()
    fairy = engine.raw_connection()  # configured by the engine's connect hook (WAL, busy timeout)
    fairy.detach()  # ours for the thread's lifetime, not the pool's
    _thread_connection.held = (engine, fairy)
    return fairy.dbapi_connection


def drop_thread_read_connection() -> None:
    """Close this thread's read connection (after an error, or when the engine changed)."""
    held = getattr(_thread_connection, "held", None)
    _thread_connection.held = None
    if held is not None:
        try:
            held[1].close()
        except Exception:  # noqa: BLE001 - a broken connection is being thrown away anyway
            pass


def postgres_read_row(statement: str, params: dict[str, Any], what: str) -> tuple | None:
    """The one row of one read statement on this thread's own PostgreSQL connection (None for no row).

    As on SQLite: the connection is the thread's, in autocommit mode, so the statement is
    its own snapshot and costs one round trip (no BEGIN, COMMIT, pool checkout or pre-ping; psycopg
    prepares a statement it sees repeatedly). A held connection that fails is closed and the statement
    tried once on a fresh one (the server may have restarted since); a fresh one failing is the
    OperationalError the app answers with 503.
    """
    import psycopg

    engine = get_engine()
    held = getattr(_thread_connection, "held", None)
    reused = held is not None and held[0] is engine
    try:
        try:
            return _postgres_read_connection().execute(statement, params).fetchone()
        except psycopg.OperationalError:
            if not reused:
                raise
            drop_thread_read_connection()
            return _postgres_read_connection().execute(statement, params).fetchone()
    except psycopg.Error as exc:
        drop_thread_read_connection()
        if isinstance(exc, psycopg.OperationalError):
            raise OperationalError(what, params, exc) from exc
        raise


def _postgres_read_connection() -> Any:
    held = getattr(_thread_connection, "held", None)
    conn = thread_read_connection()
    if held is None or held[1].dbapi_connection is not conn:
        conn.rollback()  # a pre-ping on checkout may have begun a transaction
        conn.autocommit = True
    return conn


_read_pool: ThreadPoolExecutor | None = None


def _read_executor() -> ThreadPoolExecutor:
    """The read threads: a few, sized per database (more only fight over the GIL)."""
    global _read_pool
    if _read_pool is None:
        threads = get_settings().read_threads or (SQLITE_READ_THREADS if is_sqlite() else POSTGRES_READ_THREADS)
        with _lock:
            if _read_pool is None:
                _read_pool = ThreadPoolExecutor(threads, thread_name_prefix="autopack-read")
    return _read_pool


def _in_transaction(fn: Callable[..., T], args: tuple) -> T:
    with session_scope(writer=True) as session:
        return fn(session, *args)


# The writes that queue up while a write thread is busy share its next transaction (at most this
# many): one BEGIN and one COMMIT for all of them.
GROUP_COMMIT_MAX = 32
_Job = tuple[Future, Callable[..., Any], tuple, contextvars.Context]


class GroupWriter:
    """The write threads: each takes the writes waiting (up to `limit`) and commits them together.

    Each write sees the ones before it in its group (one transaction, in order) and ORM objects of its
    own only (the session is flushed and cleared between writes). Nothing is answered before the
    group's COMMIT. A write that fails takes no other down: the group is rolled back and each of its
    writes run again alone, in order, each in its own transaction (the failing one fails alone).
    """

    def __init__(self, limit: int = GROUP_COMMIT_MAX, threads: int = 1) -> None:
        self.limit, self.threads = limit, threads
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        for number in range(threads):
            threading.Thread(target=self._loop, name=f"autopack-write_{number}", daemon=True).start()

    def submit(self, fn: Callable[..., T], args: tuple, context: contextvars.Context) -> Future:
        """Queue `fn(session, *args)`; its future is settled once its transaction has committed."""
        future: Future = Future()
        self._jobs.put((future, fn, args, context))
        return future

    def _loop(self) -> None:
        while True:
            group = [self._jobs.get()]
            while len(group) < self.limit:
                try:
                    group.append(self._jobs.get_nowait())
                except queue.Empty:
                    break
            group = [job for job in group if job[0].set_running_or_notify_cancel()]
            if len(group) == 1:
                _run_alone(group[0])
            elif group:
                self._run_group(group)

    @staticmethod
    def _run_group(group: list[_Job]) -> None:
        results = []
        get_engine()
        try:
            with _session(writer=True) as session:  # commits on leaving
                for _future, fn, args, context in group:
                    results.append(context.run(fn, session, *args))
                    if session.new or session.dirty or session.deleted:
                        session.flush()
                    session.expunge_all()  # the next write loads its own objects, as in its own session
        except BaseException:  # noqa: BLE001 - nothing committed: every write of the group is run again, alone
            for job in group:
                _run_alone(job)
            return
        _run_after_commit(session)
        for (future, *_rest), result in zip(group, results, strict=True):
            future.set_result(result)


def _run_alone(job: _Job) -> None:
    future, fn, args, context = job
    try:
        result = context.run(_in_transaction, fn, args)
    except BaseException as exc:  # noqa: BLE001 - handed to the request that asked for the write
        future.set_exception(exc)
    else:
        future.set_result(result)


_group_writer: GroupWriter | None = None


def _writer() -> GroupWriter:
    """The process's write threads (AUTOPACK_WRITE_THREADS, else SQLite's one or PostgreSQL's several)."""
    global _group_writer
    threads = get_settings().write_threads or (SQLITE_WRITE_THREADS if is_sqlite() else POSTGRES_WRITE_THREADS)
    writer = _group_writer
    if writer is None or writer.threads != threads:
        with _lock:
            if _group_writer is None or _group_writer.threads != threads:
                _group_writer = GroupWriter(threads=threads)
            writer = _group_writer
    return writer


async def run_in_write_transaction(fn: Callable[..., T], *args: Any) -> T:
    """`fn(session, *args)` in a write transaction on a write thread, committed before it returns.

    One thread hop for the whole write, where a `def` endpoint with a `WriteSession` takes three (the
    session opened, the endpoint, the commit), each handing the GIL between threads under load. The
    writes waiting together share one transaction (GroupWriter).
    """
    context = contextvars.copy_context()  # keep the request id in logs written by the thread
    return await asyncio.wrap_future(_writer().submit(fn, args, context))


# scope="function": commit happens when the endpoint returns, before the response is sent.
WriteSession = Annotated[Session, Depends(get_write_session, scope="function")]
ReadSession = Annotated[Session, Depends(get_read_session, scope="function")]


class SchemaNotMigrated(StartupRefused):
    """The database has not been migrated to the current revision."""


def _sqlite_file_missing(url: str) -> bool:
    """True for a file-backed SQLite URL whose file does not exist (connecting would create it)."""
    from pathlib import Path

    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return False
    return not Path(database).exists()


def check_schema_current() -> None:
    """Refuse to run on a database whose Alembic revision is not the head."""
    from autopack.core.migrate import current_revisions, head_revisions

    heads = head_revisions()
    # With no engine built yet, a SQLite file that is not there is un-migrated: checking must not
    # create an empty one (an engine already built is the one the app will use, so it is asked).
    missing = _engine is None and _sqlite_file_missing(get_settings().sqlalchemy_url)
    engine = None if missing else get_engine()
    current = frozenset() if engine is None else current_revisions(engine)
    if current != heads:
        url = make_url(get_settings().sqlalchemy_url).render_as_string(hide_password=True)
        raise SchemaNotMigrated(
            f"Database schema is not migrated (current revision {', '.join(sorted(current)) or 'none'}, "
            f"expected {', '.join(sorted(heads))}) at {url}. Run `autopack migrate` (or `make run`) first."
        )
    if "runs" not in inspect(engine).get_table_names():  # pragma: no cover - defensive
        raise SchemaNotMigrated("Database schema is missing the runs table; run `autopack migrate`.")
