"""A scripted OAuth2 token endpoint on a free 127.0.0.1 port (http.server in a thread)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from tests.http_fakes import reply_json


@dataclass
class Scripted:
    """One scripted answer: status, JSON (or raw text) body, headers, and a delay before answering."""

    status: int = 200
    body: dict | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def success(access_token: str = "new-access", refresh_token: str | None = None,
            expires_in: int | None = 3600) -> Scripted:
    """A token response."""
    body: dict = {"access_token": access_token, "token_type": "Bearer"}
    if refresh_token:
        body["refresh_token"] = refresh_token
    if expires_in is not None:
        body["expires_in"] = expires_in
    return Scripted(200, body)


def rate_limited(retry_after: str | None = None) -> Scripted:
    """429, optionally with Retry-After."""
    return Scripted(429, {"error": "slow_down"}, {"Retry-After": retry_after} if retry_after else {})


def server_error(status: int = 500) -> Scripted:
    """A 5xx."""
    return Scripted(status, {"error": "temporarily_unavailable"})


def invalid_grant() -> Scripted:
    """400 error=invalid_grant: the refresh token is dead."""
    return Scripted(400, {"error": "invalid_grant", "error_description": "Token has been revoked"})


class FakeTokenServer:
    """Answers POSTs with the scripted responses in order, then `default`; records every form."""

    def __init__(self, default: Scripted | None = None):
        self.default = default or success()
        self.script: list[Scripted] = []
        self.requests: list[dict[str, str]] = []
        self.request_times: list[float] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                with server._lock:
                    server.requests.append(form)
                    server.request_times.append(time.monotonic())
                    answer = server.script.pop(0) if server.script else server.default
                if answer.delay:
                    time.sleep(answer.delay)
                payload = answer.body if isinstance(answer.body, str) else json.dumps(answer.body or {})
                data = payload.encode()
                reply_json(self, answer.status, data, answer.headers)

            def log_message(self, *args):  # quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/oauth/token"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def queue(self, *answers: Scripted) -> None:
        """Append answers to the script."""
        with self._lock:
            self.script.extend(answers)

    def start(self) -> FakeTokenServer:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Shut down and free the port."""
        self._server.shutdown()
        self._server.server_close()
