"""Telegram channel: Bot API client, notification outbox, webhook and callback registry."""
