"""Autopilot execution: the worker that applies approved actions through platform adapters."""
