"""Governance requests on Telegram: a message with Approve/Deny buttons, and the button handlers.

`gov_approve:<request_id>` / `gov_reject:<request_id>` decide through the function `register` is
handed, the same one `POST /governance/approve/{id}` calls (exactly once, audited, stale workspaces
refused, the phase moved by its owner). The app registers them where it is assembled.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from html import escape
from typing import Any

from sqlalchemy.orm import Session

from autopack.core.errors import AutopackError
from autopack.db.models import GovernanceRequest
from autopack.telegram.callbacks import CallbackContext, CallbackResult, malformed, register_callback
from autopack.telegram.messages import RISK_EMOJI
from autopack.telegram.notifier import notify_pending

KIND = "governance"
# (session, request_id, *, approved, actor, claimed_user, reason) -> the decision's answer
Decide = Callable[..., dict[str, Any]]


def request_text(request: GovernanceRequest) -> str:
    """The HTML message for a new governance request (every value escaped)."""
    paths = json.loads(request.requested_paths or "[]")
    shown = "".join(f"\n• <code>{escape(p[:150])}</code>" for p in paths[:5])
    more = f"\n…and {len(paths) - 5} more" if len(paths) > 5 else ""
    sha = f"\nPatch SHA-256: <code>{request.patch_sha256[:16]}…</code>" if request.patch_sha256 else ""
    emoji = RISK_EMOJI.get(request.risk_level or "", "❓")
    return (
        f"🛡️ <b>Autopack Governance Request</b>\nRun: <code>{escape(request.run_id[:100])}</code>\n"
        f"Phase: <code>{escape(request.phase_id[:100])}</code>\n"
        f"Risk: {emoji} {escape((request.risk_level or 'unknown').upper())}\n"
        f"Protected paths:{shown}{more}{sha}\n"
        f"Justification: {escape((request.justification or '')[:300])}"
    )


def notify_new_request(session: Session, request: GovernanceRequest) -> None:
    """Queue the Telegram message for a pending request (sent after the commit, if configured)."""
    notify_pending(session, kind=KIND, ref_id=request.request_id, text=request_text(request),
                   buttons=[("✅ Approve", f"gov_approve:{request.request_id}"),
                            ("❌ Deny", f"gov_reject:{request.request_id}")])


def _handler(decide: Decide, approved: bool):
    def handle(session: Session, ctx: CallbackContext) -> CallbackResult:
        """Decide the request named by the button."""
        if not ctx.argument or len(ctx.argument) > 64 or not ctx.argument.isalnum():
            return malformed("invalid governance request id")
        verb = "Approved" if approved else "Denied"
        try:
            result = decide(session, ctx.argument, approved=approved, actor=ctx.actor,
                            claimed_user=ctx.who, reason=f"{verb} by Telegram user {ctx.who}")
        except AutopackError as exc:  # unknown, already decided, or stale: nothing changes
            return CallbackResult({"ok": True, "error": str(exc.detail)}, answer=str(exc.detail)[:180],
                                  outcome="refused")
        note = "" if not approved else (" and applied" if result["applied"] else "")
        text = f"🛡️ Governance request <code>{escape(ctx.argument)}</code> {result['status']}{note} by {escape(ctx.who)}"
        return CallbackResult({"ok": True, "action": result["status"], "request_id": ctx.argument},
                              answer=f"{verb}", edit_text=text, outcome=result["status"])
    return handle


def register(decide: Decide) -> None:
    """Route the Approve/Deny buttons of governance requests to `decide`."""
    register_callback("gov_approve", _handler(decide, True))
    register_callback("gov_reject", _handler(decide, False))
