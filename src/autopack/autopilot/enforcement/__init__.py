"""Autopilot enforcement: rules engine, confirmation tokens, settings, rules and the intervention log."""
