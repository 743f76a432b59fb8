"""Telegram channel tests (fake Bot API)."""
