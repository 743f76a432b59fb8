"""Autopilot actions: queue, list, approve, dismiss, summarise; every transition an event."""
