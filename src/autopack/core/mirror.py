"""File mirrors of database state, written in commit order by one background thread.

Run summaries and issue JSON files are copies for tools that read files; the database is the
record. Writing them after the response keeps a 200-phase run start as cheap as a 1-phase one.
One thread per process keeps them in commit order; `flush()` waits until everything queued is on
disk (tests, shutdown). `AUTOPACK_MIRROR_SYNC=1` writes them inline instead. Jobs write through
core/fs.py, which refuses (logs and skips) a path that a symlink below its root would redirect.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from sqlalchemy.orm import Session

from autopack.core.database import on_commit
from autopack.core.logging import get_logger
from autopack.core.settings import get_settings

log = get_logger(__name__)
_queue: queue.Queue[Callable[[], None] | None] = queue.Queue()
_thread: threading.Thread | None = None
_start_lock = threading.Lock()


def _run() -> None:
    while True:
        job = _queue.get()
        try:
            if job is not None:
                job()
        except Exception:  # a failed mirror must not stop the ones after it
            log.exception("mirror_write_failed")
        finally:
            _queue.task_done()


def _ensure_thread() -> None:
    global _thread
    if _thread is None or not _thread.is_alive():
        with _start_lock:
            if _thread is None or not _thread.is_alive():
                _thread = threading.Thread(target=_run, name="autopack-mirror", daemon=True)
                _thread.start()


def submit(job: Callable[[], None]) -> None:
    """Queue a file write (or run it now when mirrors are synchronous)."""
    if get_settings().mirror_sync:
        job()
        return
    _ensure_thread()
    _queue.put(job)


def mirror_after_commit(session: Session, job: Callable[[], None]) -> None:
    """Write a mirror once the session's transaction has committed."""
    on_commit(session, lambda: submit(job))


def flush() -> None:
    """Block until every queued mirror is written."""
    if _thread is not None:
        _queue.join()
