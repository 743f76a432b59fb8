"""Approval request tests."""
