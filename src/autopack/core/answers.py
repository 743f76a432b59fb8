"""What answer schemas share: a strict base and the /api/v1 success envelope (pydantic only, no FastAPI).

Answer schemas describe bodies exactly as served; unknown keys are refused, so a field renamed on the
server fails the client's tests instead of reaching a user as a silently missing value.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class Answer(BaseModel):
    """A response body: every key declared, none unknown."""

    model_config = ConfigDict(extra="forbid")


class Envelope(Answer, Generic[T]):
    """The /api/v1 contract's success envelope: `{"success": true, "data": ...}`."""

    success: Literal[True]
    data: T


def documented(model: Any, status: int = 200, *more: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route answering prebuilt JSON: the schema is documented, never re-validated."""
    return {code: {"model": model} for code in (status, *more)}
