"""The autonomous executor: drives a run's phases through the API (builder, apply, checks, auditor)."""
