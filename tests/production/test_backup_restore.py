"""`autopack backup` under write load, `autopack restore` into an empty installation that verifies and serves."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from tests.conftest import BACKEND, run_payload
from tests.production.conftest import cli, installation_env, login, new_database, register, run_here, serve

SEEDED = 12


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A migrated installation (`serve --workers 2`) with SEEDED runs and an approval request for each."""
    root = tmp_path_factory.mktemp("source")
    with new_database(root) as url:
        env = installation_env(root, url)
        assert run_here(env, "migrate").returncode == 0
        with serve(env, root / "server.log", "--workers", "2") as base:  # two processes write meanwhile
            register(base, "operator", "correct horse battery")
            for n in range(SEEDED):
                assert httpx.post(f"{base}/runs/start", json=run_payload(f"seed-{n}", 1, 2)).status_code == 201
                answer = httpx.post(f"{base}/approval/request", json={"run_id": f"seed-{n}", "phase_id": "F1.1"})
                assert answer.status_code == 200, answer.text
            token = login(base, "operator", "correct horse battery")
            yield {"root": root, "env": env, "base": base, "url": url, "token": token}


class Load:
    """Threads writing runs, approval requests and phase moves until stopped; what was answered 2xx."""

    def __init__(self, base: str, threads: int = 2):
        self.base, self.stopping, self.lock = base, threading.Event(), threading.Lock()
        self.created: list[str] = []
        self.errors: list[str] = []
        self.threads = [threading.Thread(target=self._work, args=(n,)) for n in range(threads)]

    def _work(self, n: int) -> None:
        with httpx.Client(base_url=self.base, timeout=30) as client:
            i = 0
            while not self.stopping.is_set():
                run_id = f"load-{n}-{i}"
                i += 1
                answers = [client.post("/runs/start", json=run_payload(run_id, 1, 1))]
                answers.append(client.post("/approval/request", json={"run_id": run_id, "phase_id": "F1.1"}))
                answers.append(client.post(f"/runs/{run_id}/phases/F1.1/update_status", json={"state": "COMPLETE"}))
                if any(a.status_code >= 300 for a in answers):
                    self.errors.append(f"{[a.status_code for a in answers]} {answers[-1].text[:200]}")
                with self.lock:
                    self.created.append(run_id)

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(60)

    def wait_for(self, count: int) -> None:
        """Block until at least `count` load runs were fully answered."""
        while len(self.created) < count and all(t.is_alive() for t in self.threads):
            threading.Event().wait(0.02)
        assert len(self.created) >= count, self.errors[:3]


def _all_run_ids(client: httpx.Client) -> set[str]:
    """Every run id GET /runs lists, page by page; the total it reports must match."""
    ids: set[str] = set()
    while True:
        page = client.get("/runs", params={"limit": 100, "offset": len(ids)}).json()
        ids.update(r["id"] for r in page["runs"])
        if not page["runs"] or len(ids) >= page["total"]:
            assert len(ids) == page["total"]
            return ids


def test_backup_under_load_restores_a_copy_that_verifies_and_serves_the_same_runs(source, tmp_path):
    archive = tmp_path / "autopack.tar.gz"
    with Load(source["base"]) as load:
        load.wait_for(3)
        with load.lock:
            answered_before = list(load.created)
        made = cli(source["env"], "backup", str(archive))
        load.wait_for(len(answered_before) + 3)  # writes went on while the copy was taken
    assert load.errors == []
    assert made.returncode == 0, made.stderr
    expected = "pg_dump" if BACKEND == "postgresql" else "online backup API"
    assert expected in made.stdout
    assert archive.stat().st_mode & 0o077 == 0  # it holds the server's keys

    with httpx.Client(base_url=source["base"]) as client:
        originals = {f"seed-{n}": client.get(f"/runs/seed-{n}").json() for n in range(SEEDED)}
        originals.update({run_id: client.get(f"/runs/{run_id}").json() for run_id in answered_before})
        all_source_runs = _all_run_ids(client)

    target = tmp_path / "restored"
    with new_database(target) as url:
        env = installation_env(target, url)
        restored = run_here(env, "restore", str(archive))
        assert restored.returncode == 0, restored.stderr
        assert "run `autopack migrate`" not in restored.stdout  # same version: nothing to migrate
        verified = run_here(env, "audit", "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        report = json.loads(verified.stdout)
        assert report["ok"] is True and report["anchor"]["status"] == "ok"
        with serve(env, target / "server.log") as base, httpx.Client(base_url=base) as client:
            for run_id, original in originals.items():
                assert client.get(f"/runs/{run_id}").json() == original
            copied = _all_run_ids(client)
            assert set(originals) <= copied <= all_source_runs
            # the JWT keys came along: a token the source issued before the backup is accepted
            me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {source['token']}"})
            assert me.status_code == 200 and me.json()["username"] == "operator"
        assert (target / "data" / "secret.key").read_bytes() == (source["root"] / "data" / "secret.key").read_bytes()


@pytest.fixture(scope="module")
def archive(source, tmp_path_factory):
    """A backup of the source installation, taken at rest."""
    path = tmp_path_factory.mktemp("archive") / "copy.tar.gz"
    made = run_here(source["env"], "backup", str(path))
    assert made.returncode == 0, made.stderr
    return path


def _autopack(monkeypatch, data_dir, database_url: str | None, *args: str):
    """`autopack <args>` in this process, with its own data directory and database."""
    from typer.testing import CliRunner

    from autopack.cli import app
    from autopack.core import database
    from autopack.core.settings import get_settings

    monkeypatch.setenv("AUTOPACK_DATA_DIR", str(data_dir))
    if database_url is None:
        monkeypatch.delenv("DATABASE_URL")
    else:
        monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    database.reset_engine()
    try:
        return CliRunner().invoke(app, list(args))
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        database.reset_engine()


def test_backup_refuses_to_replace_a_file(archive, monkeypatch, tmp_path):
    before = archive.read_bytes()
    again = _autopack(monkeypatch, tmp_path / "data", None, "backup", str(archive))
    assert again.exit_code == 2 and "exists already" in again.output
    assert archive.read_bytes() == before


def test_restore_refuses_a_data_directory_that_is_not_empty(archive, source, monkeypatch, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "keep.txt").write_text("mine")
    refused = _autopack(monkeypatch, data, None if BACKEND == "sqlite" else source["url"], "restore", str(archive))
    assert refused.exit_code == 2 and "not empty" in refused.output
    assert sorted(p.name for p in data.iterdir()) == ["keep.txt"]
    assert (data / "keep.txt").read_text() == "mine"


@pytest.mark.skipif(BACKEND != "postgresql", reason="a PostgreSQL database of its own")
def test_restore_refuses_a_postgresql_database_that_is_not_empty(archive, source, monkeypatch, tmp_path):
    refused = _autopack(monkeypatch, tmp_path / "data", source["url"], "restore", str(archive))
    assert refused.exit_code == 2 and "not empty" in refused.output
    assert not (tmp_path / "data").exists()


def test_restore_refuses_an_archive_that_is_not_a_backup(monkeypatch, tmp_path):
    import io
    import tarfile

    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        info = tarfile.TarInfo("data/../../escape.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    refused = _autopack(monkeypatch, tmp_path / "x" / "data", f"sqlite:///{tmp_path / 'x' / 'db.sqlite'}",
                        "restore", str(evil))
    assert refused.exit_code == 2 and "not an autopack backup" in refused.output
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "x").exists()
