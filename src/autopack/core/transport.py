"""How `autopack serve` runs uvicorn: bounded request heads, a header deadline, proxy-header trust.

The HTTP implementation is uvicorn's httptools one (the C parser `uvicorn[standard]` picks by default, so
`autopack serve` and the plain `uvicorn autopack.main:app` command parse requests alike), subclassed to add
what uvicorn lacks for it: a limit on the request head (request line + headers: 431 above
AUTOPACK_MAX_HEADER_BYTES, checked while the head arrives so a 50 MB header is never buffered) and a
deadline for it (AUTOPACK_HEADER_TIMEOUT_SECONDS from the connection or the first byte of a request
until its headers are complete; then 408 and close). Idle kept-alive connections close after
AUTOPACK_KEEPALIVE_TIMEOUT_SECONDS (uvicorn's own timer); a stalled body is the request guard's 408.
"""

from __future__ import annotations

import asyncio
import http
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from autopack.core.client_address import trusted_proxy_list
from autopack.core.settings import Settings, get_settings

PROTOCOL = "autopack.core.transport:BoundedHttpToolsProtocol"


class _HeadRejected(Exception):
    """Raised from a parser callback to stop parsing a request that is being refused."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a request-head size limit (431) and a head deadline (408)."""

    def __init__(self, config, server_state, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        settings = get_settings()
        self.max_head_bytes = settings.max_header_bytes
        self.head_timeout = settings.header_timeout_seconds
        self.head_timer: asyncio.TimerHandle | None = None
        self.head_pending = True  # the client owes a request head (the next one, or its first)
        self.head_started = False  # ... and has sent part of it
        self.head_raw = 0  # bytes received while a head was pending: the bound on what the parser buffers
        self.head_size = 0  # the parsed head: request target and header lines
        self.refusal: int | None = None

    def connection_made(self, transport) -> None:  # type: ignore[override]
        """Start the clock: the first request head must be complete within the header timeout."""
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        """Drop the head timer with the connection."""
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Feed the parser, refusing a head that outgrows the limit before it is complete."""
        self._unset_keepalive_if_required()
        if self.head_pending:
            self.head_raw += len(data)
            # uvicorn just dropped the keep-alive timer; bytes that start no request (a bare CRLF is
            # allowed between requests) must not keep the connection open without a clock.
            self._arm_head_timer()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError:
            if self.refusal is not None:
                self.refuse(self.refusal)
                return
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)
            return
        # Still inside a head after this chunk: everything counted since it began is head bytes.
        if self.head_pending and self.head_raw > self.max_head_bytes:
            self.refuse(431)

    def on_message_begin(self) -> None:
        """A new request: its head must now arrive within the header timeout."""
        super().on_message_begin()
        self.head_started = True
        self.head_size = len(b"GET  HTTP/1.1\r\n\r\n")
        self._arm_head_timer()

    def on_url(self, url: bytes) -> None:
        """Count the request target toward the head size."""
        self.head_size += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        """Count a header line toward the head size."""
        self.head_size += len(name) + len(value) + 4
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        """The head is in: stop its clock; refuse it when, whole, it is over the limit."""
        self._cancel_head_timer()
        self.head_pending = False
        self.head_started = False
        self.head_raw = 0
        if self.head_size > self.max_head_bytes:
            self.refusal = 431
            raise _HeadRejected
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        """The request is read: whatever comes next is the next head."""
        super().on_message_complete()
        self.head_pending = True
        self.head_raw = 0

    def refuse(self, status: int) -> None:
        """Answer `status` (unless a response is under way on this connection) and close."""
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:
            body = http.HTTPStatus(status).phrase.encode()
            head = [STATUS_LINE[status]]
            for name, value in self.server_state.default_headers:
                head += [name, b": ", value, b"\r\n"]
            head += [b"content-type: text/plain; charset=utf-8\r\n",
                     b"content-length: " + str(len(body)).encode() + b"\r\n",
                     b"connection: close\r\n\r\n", body]
            self.transport.write(b"".join(head))
        self.transport.close()

    def _arm_head_timer(self) -> None:
        if self.head_timer is None:
            self.head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_timed_out(self) -> None:
        self.head_timer = None
        if not self.head_started:  # a connection that never said anything is just closed
            self.transport.close()
        else:
            self.refuse(408)


def server_options(settings: Settings | None = None) -> dict[str, Any]:
    """uvicorn keyword arguments: the bounded protocol, keep-alive timeout and proxy-header trust.

    Proxy headers are on only when AUTOPACK_TRUSTED_PROXIES names proxies, and then believed only from
    them; uvicorn's own default (on, trusting 127.0.0.1) would let any local caller pick its address.
    """
    settings = settings or get_settings()
    proxies = trusted_proxy_list(settings.trusted_proxies)
    return {
        "http": PROTOCOL,
        "timeout_keep_alive": settings.keepalive_timeout_seconds,
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": proxies if proxies else [],
    }
