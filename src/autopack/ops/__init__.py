"""Operator tasks that work on a whole installation: backup and restore."""
