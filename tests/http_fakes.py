"""Shared plumbing of the local fake HTTP servers (Telegram, OAuth token endpoint, ad platforms)."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler


def reply_json(handler: BaseHTTPRequestHandler, status: int, data: bytes, headers: dict | None = None) -> None:
    """Send `data` as a JSON response; a client that already gave up is not an error."""
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client timed out first
