"""The operator surface: run list, progress and the run artifacts on disk."""
