"""Approvals: human decisions with timeouts, through the web and Telegram."""
