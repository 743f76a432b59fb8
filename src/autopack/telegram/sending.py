"""One delivery round: a few attempts with backoff, honouring Telegram's retry_after when it is short."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from autopack.core.settings import get_settings
from autopack.telegram.client import TelegramError


@dataclass(frozen=True)
class DeliveryResult:
    """The outcome of a round (or, once recorded, of the message): sent, failed, or retry later."""

    kind: str
    ref_id: str
    state: str  # sent | failed | pending (retry later) | sending (never returned)
    attempts: int
    message_id: int | None
    error: str | None
    retry_after: float | None = None


@dataclass(frozen=True)
class SendPolicy:
    """Attempts per round, backoff base, the longest wait spent in-round, per-call timeout."""

    attempts: int
    backoff: float
    max_wait: float
    timeout: float

    @classmethod
    def from_settings(cls) -> SendPolicy:
        """The TELEGRAM_* settings."""
        s = get_settings()
        return cls(s.telegram_send_attempts, s.telegram_retry_backoff_seconds,
                   s.telegram_max_retry_wait_seconds, s.telegram_timeout_seconds)

    @property
    def lease(self) -> float:
        """How long a claim lasts: longer than the slowest possible round."""
        return self.attempts * (self.timeout + self.max_wait) + 30.0


def send_round(send: Callable[[], int | None], kind: str, ref_id: str, policy: SendPolicy,
               sleep: Callable[[float], object]) -> DeliveryResult:
    """Call `send` up to `policy.attempts` times; stop early on a permanent error or a long retry_after."""
    last: TelegramError | None = None
    for attempt in range(policy.attempts):
        try:
            message_id = send()
            return DeliveryResult(kind, ref_id, "sent", attempt + 1, message_id, None)
        except TelegramError as exc:
            last = exc
            if not exc.retryable:  # bad token, unknown chat, bot blocked: asking again will not help
                return DeliveryResult(kind, ref_id, "failed", attempt + 1, None,
                                      f"Failed to send Telegram notification: {exc.message}")
            if attempt + 1 == policy.attempts:
                break
            wait = exc.retry_after if exc.retry_after is not None else policy.backoff * (2 ** attempt)
            if wait > policy.max_wait:  # leave it to the worker rather than hold this thread
                return DeliveryResult(kind, ref_id, "pending", attempt + 1, None,
                                      f"Failed to send Telegram notification: {exc.message}", wait)
            sleep(wait)
    assert last is not None
    return DeliveryResult(kind, ref_id, "pending", policy.attempts, None,
                          f"Failed to send Telegram notification: {last.message}", last.retry_after)
