"""A scripted Telegram Bot API on a free 127.0.0.1 port (http.server in a thread), recording every call."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.http_fakes import reply_json

TOKEN = "123456:TEST-bot-token-Secr3t"


@dataclass
class Scripted:
    """One scripted answer: status, JSON body, headers, and a delay before answering."""

    status: int = 200
    body: dict | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def server_error(status: int = 500) -> Scripted:
    """A 5xx in Telegram's error shape."""
    return Scripted(status, {"ok": False, "error_code": status, "description": "Internal Server Error"})


def rate_limited(retry_after: int) -> Scripted:
    """429 with `parameters.retry_after`, as Telegram sends it."""
    return Scripted(429, {"ok": False, "error_code": 429,
                          "description": f"Too Many Requests: retry after {retry_after}",
                          "parameters": {"retry_after": retry_after}})


def bad_request(description: str = "Bad Request: chat not found") -> Scripted:
    """A permanent 400."""
    return Scripted(400, {"ok": False, "error_code": 400, "description": description})


def slow(seconds: float) -> Scripted:
    """A success that arrives after `seconds` (longer than the client timeout → a timeout)."""
    return Scripted(200, None, delay=seconds)


class FakeBotApi:
    """Answers `/bot<TOKEN>/<method>` from per-method scripts, then with success; records calls."""

    def __init__(self, token: str = TOKEN):
        self.token = token
        self.calls: list[tuple[str, dict, float]] = []  # (method, JSON payload, monotonic time)
        self.script: dict[str, list[Scripted]] = defaultdict(list)
        self._lock = threading.Lock()
        self._message_id = 1000
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length) or b"{}")
                _, _, rest = self.path.partition("/bot")
                token, _, method = rest.partition("/")
                with fake._lock:
                    fake.calls.append((method, payload, time.monotonic()))
                    answer = fake.script[method].pop(0) if fake.script[method] else Scripted()
                    fake._message_id += 1
                    message_id = fake._message_id
                if token != fake.token:
                    answer = Scripted(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
                if answer.delay:
                    time.sleep(answer.delay)
                body = answer.body if answer.body is not None else fake.success(method, payload, message_id)
                data = json.dumps(body).encode()
                reply_json(self, answer.status, data, answer.headers)

            def log_message(self, *args):  # quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @staticmethod
    def success(method: str, payload: dict, message_id: int) -> dict:
        """Telegram's success body for `method`."""
        if method == "sendMessage":
            return {"ok": True, "result": {"message_id": message_id, "date": int(time.time()),
                                           "chat": {"id": payload.get("chat_id")}, "text": payload.get("text")}}
        if method == "setWebhook":
            return {"ok": True, "result": True, "description": "Webhook was set"}
        return {"ok": True, "result": True}

    def queue(self, method: str, *answers: Scripted) -> None:
        """Script the next answers to `method`."""
        with self._lock:
            self.script[method].extend(answers)

    def calls_to(self, method: str) -> list[dict]:
        """The payloads sent to `method`, in order."""
        with self._lock:
            return [payload for name, payload, _ in self.calls if name == method]

    def times_of(self, method: str) -> list[float]:
        """When each call to `method` arrived (monotonic seconds)."""
        with self._lock:
            return [at for name, _, at in self.calls if name == method]

    def start(self) -> FakeBotApi:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Shut down and free the port."""
        self._server.shutdown()
        self._server.server_close()
