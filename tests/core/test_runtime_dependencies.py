"""The server runs on `pip install -e .` alone (`make run`): no runtime import of a test-only package."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# The `[test]` extra of pyproject.toml, by import name.
TEST_ONLY = ("pytest", "_pytest", "hypothesis", "schemathesis", "ruff", "pytest_timeout")
PROBE = f"""
import importlib.abc, sys
TEST_ONLY = {TEST_ONLY!r}

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in TEST_ONLY:
            raise ImportError("test-only package imported at run time: " + name)
        return None

sys.meta_path.insert(0, Refuse())
import importlib, pkgutil, autopack
import autopack.cli, autopack.main
for module in pkgutil.walk_packages(autopack.__path__, "autopack."):
    if not module.name.startswith("autopack.migrations"):
        importlib.import_module(module.name)
print("ok")
"""


def test_the_server_imports_nothing_from_the_test_extra(tmp_path):
    env = {**os.environ, "AUTOPACK_DATA_DIR": str(tmp_path / "data"),
           "AUTONOMOUS_RUNS_DIR": str(tmp_path / "runs"),
           "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok")
