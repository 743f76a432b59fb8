"""Autopack: a control plane for governed autonomy."""

__version__ = "0.6.0"
