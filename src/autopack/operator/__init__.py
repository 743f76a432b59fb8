"""The operator surface (GAP-8.10): run list, progress and the run artifacts on disk."""
