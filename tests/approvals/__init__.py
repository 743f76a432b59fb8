"""Approval request tests (BUILD-117)."""
