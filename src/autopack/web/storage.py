"""Storage page: scans with their progress, candidates by category, approve / reject / defer,
execute as a dry run then for real, restore — through the storage API's own services and rules."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import ValidationError

from autopack.auth.privileges import auth_in_force, may_decide, require_signed_decider
from autopack.core.database import ReadSession, WriteSession
from autopack.core.errors import BadRequest
from autopack.storage import decisions, service
from autopack.storage.schemas import ApprovalRequest, ExecutionRequest, StorageScanRequest
from autopack.web.chrome import chrome
from autopack.web.deps import CheckedForm, PageRoute, SignedIn, field, see_other
from autopack.web.render import render

router = APIRouter(route_class=PageRoute)
SCANS_SHOWN = 50
CANDIDATES_SHOWN = 500
ScanId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _context(session, viewer, **extra) -> dict:
    return {"chrome": chrome(session, viewer.principal, viewer.csrf),
            "may_decide": not auth_in_force() or may_decide(viewer.principal), **extra}


@router.get("/storage")
def storage_page(request: Request, viewer: SignedIn, session: ReadSession):
    """Scans, newest first, with a form to start one."""
    scans = service.list_scans(session, limit=SCANS_SHOWN, offset=0, since_days=None, scan_type=None,
                               scan_target=None)
    return render(request, "storage.html", _context(session, viewer, scans=scans, scan=None))


def _scan_page(request: Request, viewer, session, scan_id: int, result: dict | None = None):
    detail = service.scan_detail(session, scan_id, CANDIDATES_SHOWN, 0)
    by_category: dict[str, list] = {}
    for candidate in detail["candidates"]:
        by_category.setdefault(candidate["category"], []).append(candidate)
    return render(request, "storage.html", _context(
        session, viewer, scans=None, scan=detail["scan"], by_category=by_category,
        stats=detail["stats_by_category"], total=detail["candidates_total"], result=result))


@router.get("/storage/scans/{scan_id}")
def scan_page(request: Request, scan_id: ScanId, viewer: SignedIn, session: ReadSession):
    """One scan: progress while it runs, then its candidates by category with the decision forms."""
    return _scan_page(request, viewer, session, scan_id)


def _int(form: CheckedForm, name: str, default: int) -> int:
    text = field(form, name)
    if not text:
        return default
    if not text.isdigit() or len(text) > 9:
        raise BadRequest(f"{name} must be a whole number")
    return int(text)


@router.post("/storage/scan")
def start_scan(request: Request, form: CheckedForm, session: WriteSession):
    """Start a scan (in the background when it is large) and open its page."""
    principal = require_signed_decider(request)
    try:
        body = StorageScanRequest(scan_type="directory", scan_target=field(form, "scan_target"),
                                  max_depth=_int(form, "max_depth", 5), max_items=_int(form, "max_items", 10_000),
                                  created_by=principal.actor[:255])
    except ValidationError:
        raise BadRequest("The target is required; depth 1-100, items 1-10,000,000") from None
    document, _ = service.create_scan(session, body, principal.actor)
    return see_other(f"/ui/storage/scans/{document['id']}")


@router.post("/storage/scans/{scan_id}/decide")
def decide(request: Request, scan_id: ScanId, form: CheckedForm, session: WriteSession):
    """Approve, reject or defer the ticked candidates."""
    principal = require_signed_decider(request)
    ids = form["fields"].get("candidate_id") or []
    try:
        body = ApprovalRequest(candidate_ids=[int(i) for i in ids if str(i).isdigit() and len(str(i)) < 10],
                               approved_by=principal.actor[:255], decision=field(form, "decision"),
                               approval_method="dashboard", notes=field(form, "notes") or None)
    except ValidationError:
        raise BadRequest("Tick at most 10,000 candidates; notes are at most 10,000 characters") from None
    decisions.decide(session, scan_id, body, principal.actor)
    return see_other(f"/ui/storage/scans/{scan_id}")


@router.post("/storage/scans/{scan_id}/execute")
def execute(request: Request, scan_id: ScanId, form: CheckedForm, session: WriteSession):
    """A dry run (the default) or the real move to the trash; the page shows what happened."""
    principal = require_signed_decider(request)
    result = decisions.execute(session, scan_id, ExecutionRequest(dry_run=field(form, "dry_run") != "0"),
                               principal.actor)
    session.flush()
    return _scan_page(request, form["viewer"], session, scan_id, result)


@router.post("/storage/scans/{scan_id}/restore")
def restore(request: Request, scan_id: ScanId, form: CheckedForm, session: WriteSession):
    """Put every executed candidate of the scan back."""
    principal = require_signed_decider(request)
    result = decisions.restore(session, scan_id, None, principal.actor)
    return _scan_page(request, form["viewer"], session, scan_id, result)


@router.post("/storage/scans/{scan_id}/cancel")
def cancel(request: Request, scan_id: ScanId, form: CheckedForm, session: WriteSession):
    """Stop a queued or running scan."""
    require_signed_decider(request)
    service.cancel_scan(session, scan_id)
    return see_other(f"/ui/storage/scans/{scan_id}")
