"""The Python client of Autopack: `Client` (sync) and `AsyncClient`, one error hierarchy.

    from autopack.client import Client
    with Client("http://127.0.0.1:8000", api_key="...") as client:
        run = client.start_run({"run": {"run_id": "r1"}, "tiers": [...], "phases": [...]})
"""

from autopack.client.aio import AsyncClient
from autopack.client.errors import (
    AutopackError,
    Conflict,
    ConnectionFailed,
    Forbidden,
    NotFound,
    RateLimited,
    ServerError,
    Unauthorized,
    ValidationFailed,
)
from autopack.client.sync import Client

__all__ = ["AsyncClient", "AutopackError", "Client", "Conflict", "ConnectionFailed", "Forbidden", "NotFound",
           "RateLimited", "ServerError", "Unauthorized", "ValidationFailed"]
