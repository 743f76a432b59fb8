"""Group commit: writes queued together share one transaction; a failing one takes no other down."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest
from sqlalchemy import event, func, select

from autopack.core import database
from autopack.core.database import GroupWriter, get_engine, run_in_write_transaction, session_scope
from autopack.core.errors import NotFound
from autopack.db.models import Tenant

WAIT = 10


def _add(slug: str):
    def write(session):
        session.add(Tenant(slug=slug, name=slug))
        session.flush()
        return slug
    return write


def _slugs(prefix: str) -> set[str]:
    with session_scope(writer=False) as session:
        return set(session.scalars(select(Tenant.slug).where(Tenant.slug.like(f"{prefix}%"))))


def _on_writer_thread() -> bool:
    return threading.current_thread().name == "autopack-write_0"  # not the app's background workers


def _begins():
    """Count the transactions the writer begins (a list, appended to by a listener)."""
    seen: list[int] = []
    return seen, (lambda _conn: seen.append(1) if _on_writer_thread() else None)


def _queued_behind(writer: GroupWriter, writes: list, gate: threading.Event, futures: list | None = None) -> list:
    """Submit `writes` while the writer is held inside a first write, so they queue up together
    (their futures in `futures`, filled before the writer goes on)."""
    entered = threading.Event()

    def hold(_session):
        entered.set()
        assert gate.wait(WAIT)
        return "held"

    first = writer.submit(hold, (), contextvars.copy_context())
    assert entered.wait(WAIT)
    futures = [] if futures is None else futures
    futures.extend(writer.submit(fn, (), contextvars.copy_context()) for fn in writes)
    gate.set()
    assert first.result(WAIT) == "held"
    return futures


def test_writes_queued_together_commit_in_one_transaction(client):
    engine = get_engine()
    seen, listener = _begins()
    writer = GroupWriter()
    event.listen(engine, "begin", listener)
    try:
        futures = _queued_behind(writer, [_add(f"gw-one-{i}") for i in range(10)], threading.Event())
        assert [f.result(WAIT) for f in futures] == [f"gw-one-{i}" for i in range(10)]
    finally:
        event.remove(engine, "begin", listener)
    assert _slugs("gw-one-") == {f"gw-one-{i}" for i in range(10)}
    assert len(seen) == 1  # the ten together (the held write touched no table)


def test_a_failing_write_fails_alone_and_the_others_commit(client):
    def missing(_session):
        raise NotFound("no such thing")

    def half_then_fail(session):
        session.add(Tenant(slug="gw-two-half", name="half"))
        session.flush()
        raise ValueError("broken after writing")

    writes = [_add("gw-two-a"), missing, _add("gw-two-b"), half_then_fail, _add("gw-two-c")]
    futures = _queued_behind(GroupWriter(), writes, threading.Event())
    assert futures[0].result(WAIT) == "gw-two-a"
    with pytest.raises(NotFound):
        futures[1].result(WAIT)
    assert futures[2].result(WAIT) == "gw-two-b"
    with pytest.raises(ValueError, match="broken after writing"):
        futures[3].result(WAIT)
    assert futures[4].result(WAIT) == "gw-two-c"
    assert _slugs("gw-two-") == {"gw-two-a", "gw-two-b", "gw-two-c"}  # nothing of the failed ones


def test_a_write_sees_the_earlier_writes_of_its_group_but_not_their_objects(client):
    with session_scope() as session:
        tenant = Tenant(slug="gw-three", name="before")
        session.add(tenant)
        session.flush()
        tenant_id = tenant.id

    def rename(session):
        tenant = session.get(Tenant, tenant_id)
        tenant.name = "renamed"  # left for the writer to flush
        return tenant

    def read(session):
        return session.get(Tenant, tenant_id)

    first, second = _queued_behind(GroupWriter(), [rename, read], threading.Event())
    renamed, seen = first.result(WAIT), second.result(WAIT)
    assert seen is not renamed
    assert seen.name == renamed.name == "renamed"


def test_nothing_is_answered_before_the_group_commits(client):
    futures: list = []

    def peek(_session):
        return [f.done() for f in futures]

    _queued_behind(GroupWriter(), [_add("gw-four-a"), _add("gw-four-b"), peek], threading.Event(), futures)
    assert futures[2].result(WAIT) == [False, False, False]
    assert _slugs("gw-four-") == {"gw-four-a", "gw-four-b"}


def test_a_failing_commit_fails_each_write_alone(client, monkeypatch):
    calls = {"n": 0}
    real = database._session

    def failing_once(writer):
        if not _on_writer_thread():
            return real(writer)
        calls["n"] += 1
        if calls["n"] == 1:  # the group's session: its COMMIT fails
            return _failing_commit(real(writer))
        return real(writer)

    gate = threading.Event()
    writer = GroupWriter()
    entered = threading.Event()
    held = writer.submit(lambda _s: (entered.set(), gate.wait(WAIT)), (), contextvars.copy_context())
    assert entered.wait(WAIT)
    monkeypatch.setattr(database, "_session", failing_once)
    futures = [writer.submit(_add(f"gw-five-{i}"), (), contextvars.copy_context()) for i in range(3)]
    gate.set()
    held.result(WAIT)
    assert [f.result(WAIT) for f in futures] == ["gw-five-0", "gw-five-1", "gw-five-2"]
    assert calls["n"] == 4  # the failed group, then each write in its own transaction
    assert _slugs("gw-five-") == {"gw-five-0", "gw-five-1", "gw-five-2"}


class _failing_commit:  # noqa: N801 - stands in for the `_session` context manager
    def __init__(self, inner):
        self.inner = inner

    def __enter__(self):
        return self.inner.__enter__()

    def __exit__(self, *exc):
        if exc[0] is None:
            exc = (RuntimeError, RuntimeError("disk full"), None)
        self.inner.__exit__(*exc)
        raise exc[1]


def test_requests_write_through_the_group_writer(client):
    async def write():
        return await run_in_write_transaction(lambda session, slug: _add(slug)(session), "gw-six")

    assert asyncio.run(write()) == "gw-six"
    assert _slugs("gw-six") == {"gw-six"}
    on_sqlite = get_engine().dialect.name == "sqlite"
    assert database._writer().threads == (1 if on_sqlite else database.POSTGRES_WRITE_THREADS)
    with session_scope(writer=False) as session:
        assert session.scalar(select(func.count()).select_from(Tenant).where(Tenant.slug == "gw-six")) == 1


def test_several_write_threads_each_commit_their_own_groups(client):
    writer = GroupWriter(threads=3)
    futures = [writer.submit(_add(f"gw-seven-{i}"), (), contextvars.copy_context()) for i in range(60)]
    assert [f.result(WAIT) for f in futures] == [f"gw-seven-{i}" for i in range(60)]
    assert _slugs("gw-seven-") == {f"gw-seven-{i}" for i in range(60)}
