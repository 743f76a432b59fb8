"""Message texts and inline keyboards (HTML parse mode: every caller-supplied value is escaped).

The reference used Markdown; HTML is used here because an underscore in a phase id breaks legacy
Markdown (Telegram then refuses the message) and escaping HTML is exact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape
from typing import Any

from autopack.telegram.client import MAX_TEXT

MAX_CALLBACK_DATA = 64  # bytes, Telegram's limit
RISK_EMOJI = {"critical": "🚨", "high": "🔴", "medium": "⚠️", "low": "✅"}
STATUS_EMOJI = {"approved": "✅", "rejected": "❌", "timeout": "⏱️"}
TROUBLESHOOT_CONTEXTS = {"troubleshoot", "debug", "fix"}
PREVIEW_CHARS = 1200


def _h(value: Any, limit: int = 200) -> str:
    text = str(value)
    return escape(text if len(text) <= limit else text[: limit - 1] + "…")


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return default


def _utc(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "n/a"


def inline_keyboard(buttons: Sequence[tuple[str, str]]) -> dict | None:
    """One row of (label, callback_data) buttons; callback_data must fit Telegram's 64 bytes."""
    if not buttons:
        return None
    for _, data in buttons:
        if not data or len(data.encode()) > MAX_CALLBACK_DATA:
            raise ValueError(f"callback_data must be 1..{MAX_CALLBACK_DATA} bytes: {data!r}")
    return {"inline_keyboard": [[{"text": label, "callback_data": data} for label, data in buttons]]}


def _deletion_lines(deletion: Mapping[str, Any]) -> list[str]:
    removed, added = _int(deletion.get("loc_removed")), _int(deletion.get("loc_added"))
    lines = [f"Net Deletion: <b>{_int(deletion.get('net_deletion'))}</b> lines",
             f"├ Removed: {removed}", f"└ Added: {added}"]
    files = deletion.get("files")
    if isinstance(files, list) and files:
        lines.append("Files:")
        lines += [f"• <code>{_h(f, 120)}</code>" for f in files[:3]]
        if len(files) > 3:
            lines.append(f"…and {len(files) - 3} more")
    return lines


def _decision_lines(decision: Mapping[str, Any]) -> list[str]:
    # Scalars only, a few of them: the full payload is on the dashboard, covered by the hash.
    shown = [(k, v) for k, v in decision.items()
             if isinstance(v, (str, int, float, bool)) and k not in {"risk_level", "risk_score"}][:6]
    return [f"{_h(k, 40)}: {_h(v, 160)}" for k, v in shown]


def approval_text(*, approval_id: int, run_id: str, phase_id: str, context: str,
                  decision_info: Mapping[str, Any] | None, deletion_info: Mapping[str, Any] | None,
                  payload_sha256: str, timeout_at: datetime | None, sent_at: datetime,
                  patch_preview: str | None = None) -> str:
    """The "Approval Needed" message for a new pending approval request."""
    decision = decision_info or {}
    deletion = deletion_info or {"net_deletion": 0, "loc_removed": 0, "loc_added": 0, "files": [],
                                 "risk_level": decision.get("risk_level") or "medium",
                                 "risk_score": decision.get("risk_score") or 50}
    level = str(deletion.get("risk_level") or "medium").lower()
    core = ["⚠️ <b>Autopack Approval Needed</b>", "",
            f"Request: <b>#{approval_id}</b>",
            f"Phase: <code>{_h(phase_id)}</code>",
            f"Run: <code>{_h(run_id or 'N/A')}</code>",
            f"Context: {_h(context, 64)}",
            (f"Risk: {RISK_EMOJI.get(level, '❓')} <b>{_h(level.upper(), 20)}</b> "
             f"({_int(deletion.get('risk_score'), 50)}/100)")]
    footer = ["", f"Payload SHA-256: <code>{payload_sha256[:16]}</code>",
              f"Times out: {_utc(timeout_at)} (not approved on timeout)", f"Sent: {_utc(sent_at)}"]
    extra = _decision_lines(decision)
    optional = [
        ["", *_deletion_lines(deletion)],
        ["", "🔧 Troubleshooting request: the executor is blocked until you decide."]
        if context.lower() in TROUBLESHOOT_CONTEXTS else [],
        ["", *extra] if extra else [],
        ["", "Patch preview:", f"<pre>{_h(patch_preview, PREVIEW_CHARS)}</pre>"] if patch_preview else [],
    ]
    # Escaping can multiply caller-supplied text: keep whole sections, in this order, while they fit.
    lines, budget = list(core), MAX_TEXT - len("\n".join(core + footer))
    for section in optional:
        size = len("\n".join(section)) + 1
        if section and size <= budget:
            lines += section
            budget -= size
    return "\n".join(lines + footer)


def decision_text(*, approval_id: int, run_id: str, phase_id: str, status: str, actor: str) -> str:
    """The approval message after a decision (it replaces the text and removes the buttons)."""
    emoji = STATUS_EMOJI.get(status, "ℹ️")
    return "\n".join([f"{emoji} <b>Autopack Update</b>", "",
                      f"Request: <b>#{approval_id}</b>", f"Phase: <code>{_h(phase_id)}</code>",
                      f"Run: <code>{_h(run_id or 'N/A')}</code>", f"Status: <b>{_h(status.upper(), 20)}</b>",
                      f"By: {_h(actor, 80)}"])


def timeout_text(*, approval_id: int, phase_id: str, default_on_timeout: str) -> str:
    """The notice sent when a pending request times out (fail closed, whatever the default says)."""
    note = "" if default_on_timeout == "reject" else " (APPROVAL_DEFAULT_ON_TIMEOUT=approve is ignored)"
    return (f"⏱️ Approval #{approval_id} timed out (phase <code>{_h(phase_id)}</code>). "
            f"Status: <b>TIMEOUT</b>, not approved{note}.")
