"""on_loop: a credential check answered on the event loop unless resolving the caller must wait on a database."""

from __future__ import annotations

import asyncio
import threading

from starlette.requests import Request

from autopack.auth.deps import on_loop


def _request(headers: dict[str, str]) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "method": "POST", "path": "/", "headers": raw, "query_string": b""})


def _where(headers: dict[str, str]) -> tuple[str, str]:
    seen: list[str] = []

    def check(request: Request) -> None:
        seen.append(threading.current_thread().name)

    dependency = on_loop(check)
    assert dependency.__name__ == "check_on_loop"

    async def call() -> str:
        await dependency(_request(headers))
        return threading.current_thread().name

    loop_thread = asyncio.run(call())
    return seen[0], loop_thread


def test_no_credentials_and_the_instance_key_are_checked_on_the_loop(monkeypatch):
    monkeypatch.setenv("AUTOPACK_API_KEY", "instance-key-123456")
    from autopack.core.settings import get_settings

    get_settings.cache_clear()
    checked, loop = _where({})
    assert checked == loop
    checked, loop = _where({"X-API-Key": "instance-key-123456"})
    assert checked == loop


def test_a_stored_key_is_looked_up_on_a_worker_thread(monkeypatch):
    monkeypatch.setenv("AUTOPACK_API_KEY", "instance-key-123456")
    from autopack.core.settings import get_settings

    get_settings.cache_clear()
    checked, loop = _where({"X-API-Key": "autopack_sk_some_stored_key"})
    assert checked != loop


def test_a_token_is_looked_up_on_the_loop_on_sqlite_and_on_a_worker_thread_on_postgresql(client):
    from autopack.core.database import is_sqlite

    checked, loop = _where({"Authorization": "Bearer abc.def.ghi"})
    assert (checked == loop) == is_sqlite()
