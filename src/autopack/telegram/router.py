"""`POST /telegram/webhook`: Telegram's callback for inline-button clicks (auth: its secret header)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from starlette.concurrency import run_in_threadpool

from autopack.core.errors import BadRequest
from autopack.core.responses import json_response
from autopack.telegram import webhook

router = APIRouter(tags=["telegram"])


def telegram_secret(
    token: Annotated[str | None, Header(alias="X-Telegram-Bot-Api-Secret-Token")] = None,
) -> None:
    """403 unless the request carries TELEGRAM_WEBHOOK_SECRET (see webhook.verify_secret)."""
    webhook.verify_secret(token)


@router.post("/telegram/webhook", dependencies=[Depends(telegram_secret)])
async def telegram_webhook(request: Request):
    """Handle one update: decisions from inline buttons, deduplicated on update_id; always 200 once verified."""
    # The body is read only after the secret check, so an unauthenticated caller learns nothing from it.
    raw = await request.body()
    try:
        update = json.loads(raw)
    except (ValueError, RecursionError):
        raise BadRequest("Invalid JSON body") from None
    # Database work and the replies to Telegram are synchronous: keep them off the event loop.
    return json_response(await run_in_threadpool(webhook.handle_update, update))
