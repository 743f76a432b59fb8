"""The registry of inline-button callbacks: `<prefix>:<argument>` → the package that owns the prefix.

Approvals register `approve`, `reject`, `pr_approve` and `pr_reject`; governance registers
`gov_approve` and `gov_reject` the same way. The webhook parses, deduplicates and verifies; the
handler decides, inside the webhook's transaction, and says what to tell the person who clicked.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

_PREFIX = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_lock = threading.Lock()
_handlers: dict[str, CallbackHandler] = {}


@dataclass(frozen=True)
class CallbackContext:
    """Who clicked which button on which message."""

    prefix: str
    argument: str
    data: str
    username: str | None
    user_id: int | None
    chat_id: int | str | None
    message_id: int | None
    callback_query_id: str | None

    @property
    def who(self) -> str:
        """`@username` (or `id:<n>`) as it appears in reasons."""
        if self.username:
            return f"@{self.username}"
        return f"id:{self.user_id}" if self.user_id is not None else "@unknown"

    @property
    def actor(self) -> str:
        """The audit actor: `telegram:@<username>`."""
        return f"telegram:{self.who}"


@dataclass
class CallbackResult:
    """The webhook's JSON answer, what to tell the clicker, and the message's new text."""

    body: dict = field(default_factory=lambda: {"ok": True})
    answer: str | None = None  # answerCallbackQuery text
    edit_text: str | None = None  # editMessageText (HTML); removes the buttons
    alert: bool = False
    outcome: str = "handled"  # stored with the update_id, for the operator


CallbackHandler = Callable[[Session, CallbackContext], CallbackResult]


def malformed(error: str, answer: str = "Malformed request") -> CallbackResult:
    """`{"ok": false, "error": ...}` (HTTP 200, as the reference answers bad callback data)."""
    return CallbackResult({"ok": False, "error": error}, answer=answer, outcome="malformed")


def register_callback(prefix: str, handler: CallbackHandler) -> None:
    """Route callback data `<prefix>:<argument>` to `handler(session, context)`."""
    if not _PREFIX.match(prefix):
        raise ValueError(f"invalid callback prefix {prefix!r}")
    with _lock:
        _handlers[prefix] = handler


def unregister_callback(prefix: str) -> None:
    """Stop routing `prefix` (tests)."""
    with _lock:
        _handlers.pop(prefix, None)


def get_callback(prefix: str) -> CallbackHandler | None:
    """The handler registered for `prefix`, if any."""
    with _lock:
        return _handlers.get(prefix)


def registered_prefixes() -> list[str]:
    """Every prefix with a handler, sorted."""
    with _lock:
        return sorted(_handlers)
