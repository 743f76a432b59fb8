"""run_in_write_transaction: one write thread hop that commits on return and rolls back on error."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import select

from autopack.core.database import on_commit, run_in_write_transaction, session_scope
from autopack.db.models import Tenant


def _add_tenant(session, name: str, seen: list) -> str:
    session.add(Tenant(slug=name, name=name))
    session.flush()
    seen.append(threading.current_thread().name)
    on_commit(session, lambda: seen.append("committed"))
    return name


def _add_then_fail(session, name: str, seen: list) -> None:
    _add_tenant(session, name, seen)
    raise ValueError("refused after the insert")


def _names() -> list[str]:
    with session_scope(writer=False) as session:
        return list(session.scalars(select(Tenant.name).order_by(Tenant.name)))


def test_the_write_commits_on_a_write_thread_and_runs_the_after_commit_hooks():
    seen: list = []
    assert asyncio.run(run_in_write_transaction(_add_tenant, "t-one", seen)) == "t-one"
    assert _names() == ["t-one"]
    assert seen[0].startswith("autopack-write") and seen[1] == "committed"


def test_an_error_rolls_the_whole_write_back_and_reaches_the_caller():
    seen: list = []
    with pytest.raises(ValueError, match="refused after the insert"):
        asyncio.run(run_in_write_transaction(_add_then_fail, "t-two", seen))
    assert _names() == []
    assert "committed" not in seen


def test_concurrent_writes_all_land():
    async def many() -> list[str]:
        return await asyncio.gather(*(run_in_write_transaction(_add_tenant, f"t-{i:02d}", []) for i in range(20)))

    assert sorted(asyncio.run(many())) == [f"t-{i:02d}" for i in range(20)]
    assert _names() == [f"t-{i:02d}" for i in range(20)]
