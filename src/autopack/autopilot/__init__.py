"""Autopilot: tenant-scoped, trust-gated automation of ad-campaign actions."""
