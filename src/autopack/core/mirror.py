"""File mirrors of database state, written in commit order by one background thread.

Run summaries and issue JSON files are copies for tools that read files; the database is the
record. Writing them after the response keeps a 200-phase run start as cheap as a 1-phase one.
One thread per process keeps them in commit order (a job given a `not_before` time waits for it
while the jobs after it go ahead); `flush()` waits until everything queued is on disk (tests,
shutdown). `AUTOPACK_MIRROR_SYNC=1` writes them inline instead. Jobs write through
core/fs.py, which refuses (logs and skips) a path that a symlink below its root would redirect.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

from sqlalchemy.orm import Session

from autopack.core.database import on_commit
from autopack.core.logging import get_logger
from autopack.core.settings import get_settings

log = get_logger(__name__)
Job = Callable[[], None]
# Jobs waiting, in commit order, each with the monotonic time it may run from. A keyed job replaces
# the waiting job of the same key in its place: the file it writes gets the newest content once
# instead of every version in turn.
_pending: OrderedDict[object, tuple[Job, float]] = OrderedDict()
_cond = threading.Condition()
_busy = False
_thread: threading.Thread | None = None
_start_lock = threading.Lock()


def _next_due() -> Job | None:
    """Take the first waiting job whose time has come; None (having waited a while) when there is none."""
    now = time.monotonic()
    for key, (job, not_before) in _pending.items():
        if not_before <= now:
            del _pending[key]
            return job
    _cond.wait(min(not_before for _, not_before in _pending.values()) - now if _pending else None)
    return None


def _run() -> None:
    global _busy
    while True:
        with _cond:
            job = None
            while job is None:
                job = _next_due()
            _busy = True
        try:
            job()
        except Exception:  # a failed mirror must not stop the ones after it
            log.exception("mirror_write_failed")
        finally:
            with _cond:
                _busy = False
                _cond.notify_all()


def _ensure_thread() -> None:
    global _thread
    if _thread is None or not _thread.is_alive():
        with _start_lock:
            if _thread is None or not _thread.is_alive():
                _thread = threading.Thread(target=_run, name="autopack-mirror", daemon=True)
                _thread.start()


def submit(job: Job, key: Hashable | None = None, not_before: float = 0.0) -> None:
    """Queue a file write (or run it now when mirrors are synchronous); `key` names the file it
    rewrites whole, so a newer job of that key replaces one still waiting (keeping its place and
    time); `not_before` (time.monotonic()) holds the job back until then."""
    if get_settings().mirror_sync:
        job()
        return
    _ensure_thread()
    with _cond:
        if key is None:
            key = object()  # its own slot
        elif key in _pending:
            _pending[key] = (job, _pending[key][1])
            return
        _pending[key] = (job, not_before)
        _cond.notify_all()


def mirror_after_commit(session: Session, job: Job, key: Hashable | None = None, hold: float = 0.0) -> None:
    """Write a mirror once the session's transaction has committed (`hold` seconds later at the earliest)."""
    on_commit(session, lambda: submit(job, key, time.monotonic() + hold if hold else 0.0))


def flush() -> None:
    """Block until every queued mirror is written."""
    if _thread is None:
        return
    with _cond:
        while _pending or _busy:
            _cond.wait()
