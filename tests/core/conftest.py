"""Fixtures for the file-safety tests: a root to write under and a directory beside it."""

from __future__ import annotations

import pytest


@pytest.fixture
def root(tmp_path):
    """The directory writes must stay under."""
    path = tmp_path / "root"
    path.mkdir()
    return path


@pytest.fixture
def outside(tmp_path):
    """A directory beside the root that no write may reach (it holds keep.txt)."""
    path = tmp_path / "outside"
    path.mkdir()
    (path / "keep.txt").write_text("outside data")
    return path
