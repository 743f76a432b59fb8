"""`autopack telegram ...`: register the webhook with Telegram."""

from __future__ import annotations

import re

import typer

app = typer.Typer(help="Telegram channel.", no_args_is_help=True)
# Telegram's own rule for secret_token: 1-256 characters of A-Z, a-z, 0-9, _ and -.
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(1)


@app.command("set-webhook")
def set_webhook(url: str = typer.Argument(..., help="Public HTTPS URL of POST /telegram/webhook.")) -> None:
    """Call setWebhook with TELEGRAM_WEBHOOK_SECRET and allowed_updates=["callback_query"]."""
    from autopack.core.settings import get_settings
    from autopack.telegram.client import TelegramError, bot_from_settings

    settings = get_settings()
    bot = bot_from_settings()
    if bot is None:
        _fail("TELEGRAM_BOT_TOKEN is not set.")
    if settings.telegram_webhook_secret is None:
        _fail("TELEGRAM_WEBHOOK_SECRET is not set: refusing to register a webhook anyone could call.")
    secret = settings.telegram_webhook_secret.get_secret_value()
    if not _SECRET_RE.match(secret):
        _fail("TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, '_' and '-' (Telegram's rule).")
    if not url.lower().startswith("https://"):
        _fail("The webhook URL must start with https:// (Telegram only calls HTTPS webhooks).")
    try:
        result = bot.set_webhook(url, secret, ["callback_query"])
    except TelegramError as exc:
        _fail(f"setWebhook failed: {exc.message}")
    typer.echo(f"webhook set to {url} (result: {result})")
