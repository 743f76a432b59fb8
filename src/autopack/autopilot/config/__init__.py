"""Autopilot configuration: level, caps, feature flags, trust thresholds and the freeze."""
