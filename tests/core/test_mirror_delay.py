"""Mirror jobs held back by `not_before` let the jobs after them go ahead, and flush() waits for them."""

from __future__ import annotations

import time

import pytest

from autopack.core import mirror
from autopack.core.settings import get_settings


@pytest.fixture(autouse=True)
def background_writer(monkeypatch):
    """Mirrors written by the background thread (the suite writes them inline)."""
    monkeypatch.setenv("AUTOPACK_MIRROR_SYNC", "0")
    get_settings.cache_clear()
    mirror.flush()
    yield
    mirror.flush()
    get_settings.cache_clear()


def test_a_held_job_lets_later_jobs_go_first_and_flush_waits_for_it():
    done: list[str] = []
    mirror.submit(lambda: done.append("held"), key="held-job", not_before=time.monotonic() + 2.0)
    mirror.submit(lambda: done.append("replaced"), key="held-job")  # keeps the place and the time
    mirror.submit(lambda: done.append("after"))
    mirror.flush()
    assert done == ["after", "replaced"]


def test_a_job_whose_time_has_come_keeps_commit_order():
    done: list[int] = []
    for n in range(5):
        mirror.submit(lambda n=n: done.append(n), not_before=time.monotonic() - 1.0)
    mirror.flush()
    assert done == [0, 1, 2, 3, 4]
