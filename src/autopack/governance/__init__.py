"""Governance requests and the governed apply of maintenance patches."""
