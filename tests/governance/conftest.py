"""Fixtures: a committed git repository (or a plain directory) as REPO_PATH, and a started run."""

from __future__ import annotations

import pytest

from tests.conftest import run_payload
from tests.governance.helpers import FILES, RUN_ID, init_repo, write_files


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A git repository with the standard files, configured as the workspace."""
    root = init_repo(tmp_path / "workspace")
    monkeypatch.setenv("REPO_PATH", str(root))
    return root


@pytest.fixture
def plain_workspace(tmp_path, monkeypatch):
    """A plain directory (no git) with the standard files, configured as the workspace."""
    root = tmp_path / "plain"
    write_files(root, FILES)
    monkeypatch.setenv("REPO_PATH", str(root))
    return root


@pytest.fixture
def outside(tmp_path):
    """A directory beside the workspace that no patch may reach."""
    path = tmp_path / "outside"
    path.mkdir()
    (path / "target.txt").write_text("outside\n")
    return path


@pytest.fixture
def gov_client(make_client, repo):
    """A client whose workspace is `repo`, with a started run."""
    client = make_client()
    response = client.post("/runs/start", json=run_payload(RUN_ID))
    assert response.status_code == 201, response.text
    return client
