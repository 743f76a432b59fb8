"""The event document: the `data:` of every server-sent event (`events.service.event_document`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class EventOut(BaseModel):
    """One event of the log: its id (resume after it with `Last-Event-ID`), type, run or tenant, payload."""

    id: int
    type: str
    created_at: datetime
    run_id: str | None = None
    tenant_id: int | None = None
    payload: dict[str, Any] = {}
