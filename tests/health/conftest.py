"""A fake Qdrant on 127.0.0.1 (a tiny http.server in a thread) and a closed port."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class _FakeQdrant(BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.paths.append(self.path)
        status = self.server.status if self.path == "/healthz" else 404
        body = b"healthz check passed" if status == 200 else b"nope"
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep test output quiet
        pass


@pytest.fixture
def fake_qdrant():
    """A running fake Qdrant; set `.status` to choose the /healthz answer, read `.paths`."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeQdrant)
    server.status = 200
    server.paths = []
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port
