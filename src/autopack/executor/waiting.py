"""Waiting for a human's decision: the run's event stream, falling back to polling with backoff."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from autopack.client.errors import AutopackError

T = TypeVar("T")
MAX_POLL_SECONDS = 30.0


def wait_for(client, run_id: str, prefixes: tuple[str, ...], decided: Callable[[], T | None],
             poll_seconds: float = 2.0) -> T:
    """`decided()` once, then again after each event whose type starts with one of `prefixes`."""
    answer = decided()
    if answer is not None:
        return answer
    try:
        for event in client.events(run_id=run_id):
            if event.type.startswith(prefixes):
                answer = decided()
                if answer is not None:
                    return answer
    except AutopackError:
        pass  # no stream (an old server, a proxy that buffers): poll instead
    delay = poll_seconds
    while True:
        answer = decided()
        if answer is not None:
            return answer
        time.sleep(delay)
        delay = min(delay * 2, MAX_POLL_SECONDS)
