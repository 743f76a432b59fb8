"""Error reports: redacted JSON + text files and a database row for every unhandled error."""

from __future__ import annotations

import platform
import re
import sys
import traceback
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.requests import Request

from autopack.core.database import session_scope
from autopack.core.fs import json_text, open_under, refusals_logged, write_at
from autopack.core.ids import id_problem, safe_filename_part
from autopack.core.logging import get_logger
from autopack.core.settings import get_settings
from autopack.db.base import utcnow
from autopack.db.models import ErrorReport
from autopack.events import log as events

log = get_logger(__name__)

REDACTED = "[REDACTED]"
SENSITIVE_HEADERS = frozenset({
    "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key",
    "x-telegram-bot-api-secret-token",
})
SENSITIVE_NAME = re.compile(r"(key|token|secret|passw|pwd|auth|session|cookie|signature|credential)", re.IGNORECASE)
# The password may contain "/" (SQLAlchemy accepts it unencoded), so it runs up to the last "@".
URL_CREDENTIALS = re.compile(r"(://)([^/@:\s]+):([^@\s]*)@")
BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")
# `token=...`, `password=...` in free text (URLs with query strings inside exception messages).
SECRET_ASSIGNMENT = re.compile(
    r"(?i)(\b[\w.-]*(?:token|secret|passw|pwd|api[_-]?key|apikey|access[_-]?key|private[_-]?key"
    r"|signature|credential|session[_-]?id)[\w.-]*=)([^\s&;,'\"]+)"
)


# NUL and unpaired surrogates: PostgreSQL refuses NUL in text/JSONB, UTF-8 encoders refuse surrogates.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def is_storable(value: str) -> bool:
    """True when `value` can be written to either database (and so can match a stored id)."""
    return UNSTORABLE.search(value) is None


def _storable(value: Any) -> Any:
    """Escape NUL and unpaired surrogates in every string of a report, so saving it cannot fail."""
    if isinstance(value, str):
        if not is_storable(value):
            value = value.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")
        return value
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable(v) for v in value]
    return value


def _secret_values() -> list[str]:
    settings = get_settings()
    values = []
    if settings.api_key is not None:
        values.append(settings.api_key.get_secret_value())
    match = URL_CREDENTIALS.search(settings.database_url or "")
    if match and match.group(3):
        values += [match.group(3), unquote(match.group(3))]
    return [v for v in values if len(v) >= 4]


def redact_text(text: str) -> str:
    """Mask URL credentials, bearer tokens and configured secret values in free text."""
    text = URL_CREDENTIALS.sub(r"\1***:***@", text)
    text = BEARER.sub(r"\1" + REDACTED, text)
    text = SECRET_ASSIGNMENT.sub(r"\1" + REDACTED, text)
    for value in _secret_values():
        text = text.replace(value, REDACTED)
    return text


def redact_mapping(items: dict[str, str], sensitive: frozenset[str] = frozenset()) -> dict[str, str]:
    """Redact values whose names are sensitive."""
    out = {}
    for name, value in items.items():
        if name.lower() in sensitive or SENSITIVE_NAME.search(name):
            out[name] = REDACTED
        else:
            out[name] = redact_text(str(value))[:500]
    return out


def ids_from_path(path: str) -> tuple[str | None, str | None]:
    """run_id is the segment after `runs`, phase_id the one after `phases` (as the reference)."""
    parts = [p for p in path.split("/") if p]
    run_id = phase_id = None
    for i, part in enumerate(parts[:-1]):
        if part == "runs" and run_id is None:
            run_id = parts[i + 1]
        elif part == "phases" and phase_id is None:
            phase_id = parts[i + 1]
    if run_id is not None and id_problem(run_id, "run_id"):
        run_id = None
    if phase_id is not None and id_problem(phase_id, "phase_id"):
        phase_id = None
    return run_id, phase_id


def build_report(exc: BaseException, *, error_id: str, method: str, path: str, url: str,
                 headers: dict[str, str], query: str, component: str = "api") -> dict[str, Any]:
    """The redacted report document for one exception."""
    run_id, phase_id = ids_from_path(path)
    frames = [
        {"filename": f.filename, "lineno": f.lineno, "function": f.name, "locals": "[REDACTED_BY_POLICY]"}
        for f in traceback.extract_tb(exc.__traceback__)
    ]
    return _storable({
        "timestamp": utcnow().isoformat(),
        "error_type": type(exc).__name__,
        "error_message": redact_text(str(exc))[:2000],
        "run_id": run_id,
        "phase_id": phase_id,
        "component": component,
        "operation": f"{method} {path}",
        "traceback": redact_text("".join(traceback.format_exception(exc)))[-20000:],
        "stack_frames": frames[-30:],
        "context_data": {
            "error_id": error_id,
            "method": method,
            "url": redact_text(url.split("?", 1)[0]),
            "headers": redact_mapping(headers, SENSITIVE_HEADERS),
            "query_params": redact_mapping(dict(parse_qsl(query, keep_blank_values=True))),
        },
        "python_version": sys.version.split()[0],
        "platform": platform.platform(),
    })


def request_report(exc: BaseException, request: Request, error_id: str) -> dict[str, Any]:
    """The redacted report of an exception raised while answering `request` (the 500 handler's)."""
    return build_report(exc, error_id=error_id, method=request.method, path=request.url.path,
                        url=str(request.url), headers=dict(request.headers), query=request.url.query)


def summary_text(report: dict[str, Any]) -> str:
    """The .txt companion of a report."""
    return (
        f"Error ID: {report['context_data']['error_id']}\nTimestamp: {report['timestamp']}\n"
        f"Type: {report['error_type']}\nComponent: {report['component']}\n"
        f"Operation: {report['operation']}\nRun: {report['run_id']}\nPhase: {report['phase_id']}\n"
        f"Message: {report['error_message']}\n\n{report['traceback']}"
    )


def save_report(report: dict[str, Any]) -> None:
    """Store the report in the database and as JSON + text files; never raises."""
    error_id = report["context_data"]["error_id"]
    try:
        with session_scope(writer=True) as session:
            session.add(ErrorReport(
                error_id=error_id, run_id=report["run_id"], phase_id=report["phase_id"],
                component=report["component"], operation=report["operation"][:2000],
                error_type=report["error_type"][:255], error_message=report["error_message"],
                report=report, created_at=datetime.fromisoformat(report["timestamp"]),
            ))
            events.record(session, "error.reported", run_id=report["run_id"], payload={
                "error_id": error_id, "phase_id": report["phase_id"], "error_type": report["error_type"][:255],
                "component": report["component"]})
    except Exception as exc:  # the database may be the thing that failed
        log.warning("error_report_db_write_failed", error_id=error_id, error=redact_text(str(exc))[:200])
    try:
        _write_report_files(report, error_id)
    except Exception as exc:
        log.warning("error_report_file_write_failed", error_id=error_id, error=str(exc)[:200])


def _write_report_files(report: dict[str, Any], error_id: str) -> None:
    """`<runs>/[<run_id>/]errors/<stem>.json|.txt` (0600); a symlink on the way is refused and logged."""
    base = get_settings().autonomous_runs_dir
    folder = f"{report['run_id']}/errors" if report["run_id"] else "errors"
    stamp = datetime.fromisoformat(report["timestamp"]).strftime("%Y%m%d_%H%M%S")
    # The exception's class name is free text: no "/" may turn it into folders.
    stem = safe_filename_part(f"{stamp}_{report['component']}_{report['error_type']}_{error_id}")
    with refusals_logged(base, folder), open_under(base, folder) as folder_fd:
        write_at(folder_fd, f"{stem}.json", json_text(report), mode=0o600)
        write_at(folder_fd, f"{stem}.txt", summary_text(report), mode=0o600)
