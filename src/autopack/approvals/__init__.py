"""Approvals (BUILD-117): human decisions with timeouts, through the web and Telegram."""
