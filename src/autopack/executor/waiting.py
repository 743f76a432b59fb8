"""Waiting for a human's decision: the run's event stream, falling back to polling with backoff."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from autopack.client.errors import AutopackError

T = TypeVar("T")
MAX_POLL_SECONDS = 30.0


def wait_for(client, run_id: str, prefixes: tuple[str, ...], decided: Callable[[], T | None],
             poll_seconds: float = 2.0, timeout: float | None = None) -> T | None:
    """`decided()` once, then again after each event whose type starts with one of `prefixes`.

    With a `timeout` (seconds) it polls instead (an event stream cannot be left between two events)
    and gives None when the time is up.
    """
    answer = decided()
    if answer is not None:
        return answer
    if timeout is not None:
        return _poll(decided, poll_seconds, time.monotonic() + timeout)
    try:
        for event in client.events(run_id=run_id):
            if event.type.startswith(prefixes):
                answer = decided()
                if answer is not None:
                    return answer
    except AutopackError:
        pass  # no stream (an old server, a proxy that buffers): poll instead
    return _poll(decided, poll_seconds, None)


def _poll(decided: Callable[[], T | None], poll_seconds: float, deadline: float | None) -> T | None:
    """`decided()` with backoff until it answers, or None once `deadline` (monotonic) has passed."""
    delay = poll_seconds
    while True:
        answer = decided()
        if answer is not None:
            return answer
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            return None
        time.sleep(delay if left is None else min(delay, left))
        delay = min(delay * 2, MAX_POLL_SECONDS)
