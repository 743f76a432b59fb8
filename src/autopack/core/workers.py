"""Background polling workers: a daemon thread that runs a tick now and then every few seconds.

The work itself is claimed through the database (conditional UPDATEs, leases, `FOR UPDATE SKIP
LOCKED`), so any number of these threads in any number of app instances may run the same tick.
The thread only supplies the rhythm: start at once (to find what became due while the process was
down), survive errors, stop promptly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from autopack.core.instruments import WORKER_TICK_FAILURES, WORKER_TICKS
from autopack.core.logging import get_logger

log = get_logger(__name__)


class PollingWorker:
    """Runs `tick()` in a daemon thread immediately and then every `poll_seconds` until stopped."""

    def __init__(self, name: str, tick: Callable[[], object], poll_seconds: float):
        self.name = name
        self.tick = tick
        self.poll_seconds = poll_seconds
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> object:
        """One tick in the caller's thread; errors are logged, never raised (a DB hiccup is transient)."""
        WORKER_TICKS.labels(self.name).inc()
        try:
            return self.tick()
        except Exception as exc:  # noqa: BLE001 - the next tick retries
            WORKER_TICK_FAILURES.labels(self.name).inc()
            log.warning("worker_tick_failed", worker=self.name, error_type=type(exc).__name__,
                        error=str(exc)[:200])
            return None

    def _loop(self) -> None:
        while not self.stopping.is_set():
            self.run_once()
            self.stopping.wait(self.poll_seconds)

    def start(self) -> PollingWorker:
        """Start the thread (the first tick runs at once)."""
        self.stopping.clear()
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to stop and wait for the tick in progress to finish."""
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        """True while the thread is alive."""
        return self._thread is not None and self._thread.is_alive()
