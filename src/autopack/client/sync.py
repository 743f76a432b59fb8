"""`Client`: the synchronous Autopack client over httpx."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import httpx

from autopack import __version__
from autopack.client import config
from autopack.client.admin_api import AdminApi
from autopack.client.autopilot import Autopilot
from autopack.client.calls import Call, decode
from autopack.client.errors import ConnectionFailed, error_from_response
from autopack.client.retry import RetryPolicy, connection_failed
from autopack.client.runs_api import RunsApi
from autopack.client.sse import Decoder, event_of, resume_headers
from autopack.client.storage_api import StorageApi


class Client(RunsApi, AdminApi, StorageApi):
    """Every Autopack endpoint as a method; answers are the server's own pydantic schemas.

    `base_url`, `api_key` and `token` default to `AUTOPACK_URL`, `AUTOPACK_API_KEY`, `AUTOPACK_TOKEN`.
    Refusals raise `AutopackError` subclasses; 429 and 503 are retried (Retry-After honoured, at most
    `max_retry_wait` seconds), broken connections too for idempotent requests.
    """

    def __init__(self, base_url: str | None = None, *, api_key: str | None = None, token: str | None = None,
                 timeout: float = 10.0, max_retries: int = 3, max_retry_wait: float = 30.0,
                 backoff: float = 0.5, stream_read_timeout: float = 60.0, max_reconnects: int = 10):
        self.base_url = config.base_url(base_url)
        headers = config.auth_headers(api_key or os.environ.get("AUTOPACK_API_KEY"),
                                      token or os.environ.get("AUTOPACK_TOKEN"))
        self.retry = RetryPolicy(max_retries, backoff, max_retry_wait)
        self.stream_timeout = httpx.Timeout(timeout, read=stream_read_timeout)
        self.max_reconnects = max_reconnects
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout,
                                 headers={"User-Agent": f"autopack-client/{__version__}", **headers})

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def _set_token(self, token: str | None) -> None:
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"
        else:
            self.http.headers.pop("Authorization", None)

    def _send(self, call: Call) -> Any:
        attempt = 0
        while True:
            try:
                response = self.http.request(call.method, call.path, params=call.params, json=call.json,
                                             data=call.form, files=call.files,
                                             headers=call.headers or None)
            except httpx.TransportError as exc:
                wait = self.retry.after_error(call, exc, attempt)
                if wait is None:
                    raise connection_failed(self.base_url, call, exc) from exc
            else:
                wait = self.retry.after_response(call, response, attempt)
                if wait is None:
                    return decode(call, response)
            attempt += 1
            time.sleep(wait)

    def _iterate(self, call: Call | None, pager) -> Iterator[Any]:
        while call is not None:
            page = self._send(call)
            items, call = pager(call, page)
            yield from items

    def autopilot(self, tenant_id: int) -> Autopilot:
        """The tenant's Autopilot API."""
        return Autopilot(self, tenant_id)

    def events(self, run_id: str | None = None, last_event_id: int | None = None, *, once: bool = False):
        """Events (a run's, or all of them: the instance key or a superuser) as `EventOut`, forever.

        After a dropped or closed stream it reconnects with `Last-Event-ID`, so nothing is lost or
        repeated; `once=True` stops after the backlog. Gives up (ConnectionFailed) after
        `max_reconnects` failed attempts in a row.
        """
        return self._stream(f"/runs/{run_id}/events" if run_id else "/events", last_event_id, once)

    def _stream(self, path: str, after: int | None, once: bool) -> Iterator[Any]:
        failures = 0
        call = Call("GET", path)
        while True:
            decoder = Decoder()
            params = {"once": "true"} if once else None
            try:
                with self.http.stream("GET", path, params=params, headers=resume_headers(after),
                                      timeout=self.stream_timeout) as response:
                    if response.status_code >= 400:
                        response.read()
                        wait = self.retry.after_response(call, response, min(failures, self.retry.max_retries - 1))
                        if wait is None or failures >= self.max_reconnects:
                            raise error_from_response(response)
                        failures += 1
                        time.sleep(wait)
                        continue
                    for line in response.iter_lines():
                        message = decoder.feed(line)
                        if message is not None and message.data is not None:
                            event = event_of(message)
                            after, failures = event.id, 0
                            yield event
            except httpx.TransportError as exc:
                failures += 1
                if failures > self.max_reconnects:
                    raise ConnectionFailed(f"event stream {path} lost {failures} times in a row: {exc}",
                                           method="GET", url=f"{self.base_url}{path}") from exc
                time.sleep(min(self.retry.backoff * 2 ** (failures - 1), self.retry.max_wait))
                continue
            if once:
                return
            time.sleep(min((decoder.retry_ms or 1000) / 1000, self.retry.max_wait))
