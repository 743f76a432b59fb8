"""The sealed anchor in the data directory: erasure and rollback of the ledger become visible."""

from __future__ import annotations

import json
import os
import stat

import pytest
from sqlalchemy import insert, update
from typer.testing import CliRunner

from autopack.audit import service
from autopack.audit.anchor import refresh_anchor
from autopack.audit.anchor_file import anchor_path, read_anchor
from autopack.audit.chain import link_hash
from autopack.cli import app as cli_app
from autopack.core.database import session_scope
from autopack.db.models import AuditChainHead, AuditEvent
from tests.audit.helpers import attacker, events, head, restore, seed, snapshot, verify_report, wipe_ledger

ADMIN_KEY = "anchor-admin-key-0123456789"


def _anchor_break(chain: str, seq: int, event_id: int | None = None) -> dict:
    return {"chain": chain, "seq": seq, "event_id": event_id, "reason": "anchor_mismatch"}


def _stored() -> dict:
    return json.loads(anchor_path().read_text())


def test_every_commit_that_appends_refreshes_the_sealed_anchor():
    seed(["3", None, "3"])
    stored = _stored()
    assert stored["chains"] == {"global": {"seq": 3, "hash": head("global").last_hash},
                                "tenant:3": {"seq": 2, "hash": head("tenant:3").last_hash}}
    assert len(stored["seal"]) == 64
    assert stat.S_IMODE(os.stat(anchor_path()).st_mode) == 0o600
    report = verify_report()
    assert report["ok"] is True
    assert report["anchor"]["status"] == "ok" and report["anchor"]["chains_compared"] == 2


def test_wiping_every_ledger_row_is_an_anchor_mismatch():
    seed(["3", None, "3"])
    wipe_ledger()
    report = verify_report()
    assert report["ok"] is False
    assert report["first_break"] == _anchor_break("global", 3)
    assert report["anchor"]["status"] == "mismatch"
    tenant = verify_report("3")
    assert (tenant["ok"], tenant["first_break"]) == (False, _anchor_break("tenant:3", 2))


def test_restoring_an_earlier_backup_after_truncation_is_an_anchor_mismatch():
    seed([None, "4", "4"])
    saved = snapshot()  # sealed heads and the rows they cover: consistent on their own
    seed([None, "4", None])
    restore(saved)
    report = verify_report()
    assert report["events_checked"] == 3  # every link and seal of the restored ledger checks out
    assert report["ok"] is False
    assert report["first_break"] == _anchor_break("global", 6)
    assert verify_report("4")["first_break"] == _anchor_break("tenant:4", 3)


def test_appends_after_a_rollback_never_move_the_anchor_past_it():
    seed([None, None])
    saved = snapshot()
    seed([None, None])
    anchored = _stored()["chains"]["global"]
    restore(saved)
    seed([None, None, None])  # the chain grows past the anchored seq again, along another path
    assert _stored()["chains"]["global"] == anchored
    report = verify_report()
    assert report["events_checked"] == 5
    assert report["first_break"] == _anchor_break("global", 4, events()[3].id)  # another event at seq 4


def test_an_anchor_behind_the_database_is_fine(tmp_path):
    seed([None, "5"])
    older = tmp_path / "older.json"
    older.write_text(anchor_path().read_text())
    seed(["5", None, "5"])
    report = verify_report(anchor_file=older)
    assert report["ok"] is True
    assert report["anchor"] == {"status": "ok", "source": "file", "written_at": _written_at(older),
                                "chains_compared": 2, "detail": None}


def _written_at(path) -> str:
    return json.loads(path.read_text())["written_at"]


@pytest.mark.parametrize("forge", [
    lambda doc: doc["chains"]["global"].update(seq=99),
    lambda doc: doc["chains"].pop("tenant:6"),
    lambda doc: doc.update(seal="0" * 64),
    lambda doc: doc.update(written_at="2020-01-01T00:00:00.000000+00:00"),
])
def test_a_forged_anchor_is_reported_and_never_overwritten(forge):
    seed([None, "6"])
    doc = _stored()
    forge(doc)
    anchor_path().write_text(json.dumps(doc))
    report = verify_report()
    assert report["ok"] is False
    assert report["first_break"] is None  # the chains are intact; the anchor is not to be trusted
    assert report["anchor"]["status"] == "invalid"
    assert "seal" in report["anchor"]["detail"]
    seed([None])
    assert _stored() == doc  # the writer keeps the evidence instead of sealing over it


@pytest.mark.parametrize("content", ["", "{not json", "[]", '{"version": 1}'])
def test_an_unreadable_anchor_is_reported(content):
    seed([None])
    anchor_path().write_text(content)
    report = verify_report()
    assert (report["ok"], report["anchor"]["status"]) == (False, "invalid")


def test_a_symlink_at_the_anchor_path_is_refused_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    anchor_path().parent.mkdir(parents=True, exist_ok=True)
    anchor_path().symlink_to(victim)
    seed([None])
    assert victim.read_text() == "keep me"
    assert anchor_path().is_symlink()
    report = verify_report()
    assert (report["ok"], report["anchor"]["status"]) == (False, "invalid")


def test_no_anchor_yet_is_reported_but_not_a_failure():
    seed([None])
    anchor_path().unlink()
    report = verify_report()
    assert report["ok"] is True
    assert report["anchor"] == {"status": "missing", "source": "data_dir", "written_at": None,
                                "chains_compared": 0, "detail": None}


def test_a_rolled_back_append_does_not_move_the_anchor():
    seed([None])
    before = _stored()
    with pytest.raises(LookupError), session_scope() as session:
        service.append_event(session, action="test.rolled_back", actor="system")
        raise LookupError("the recorded change failed")
    assert _stored() == before


def test_cli_anchor_exports_the_anchor_and_verify_compares_with_an_exported_copy(tmp_path):
    runner = CliRunner()
    seed(["2", "2"])
    anchor_path().unlink()  # the CLI writes it when it is missing
    exported = runner.invoke(cli_app, ["audit", "anchor"])
    assert exported.exit_code == 0, exported.output
    document = json.loads(exported.output)
    assert document["chains"]["global"] == {"seq": 2, "hash": head("global").last_hash}
    assert document == _stored()
    copy = tmp_path / "offsite-anchor.json"
    copy.write_text(exported.output)

    wipe_ledger()
    anchor_path().unlink()  # someone who could also delete files: the operator's copy still knows
    result = runner.invoke(cli_app, ["audit", "verify", "--anchor", str(copy)])
    assert result.exit_code == 1
    body = json.loads(result.output)
    assert body["first_break"] == _anchor_break("global", 2)
    assert body["anchor"]["source"] == "file"
    missing = runner.invoke(cli_app, ["audit", "verify", "--anchor", str(tmp_path / "nope.json")])
    assert missing.exit_code == 1
    assert json.loads(missing.output)["anchor"]["status"] == "invalid"


def test_cli_anchor_refuses_a_forged_stored_anchor():
    seed([None])
    doc = _stored()
    doc["chains"]["global"]["seq"] = 7
    anchor_path().write_text(json.dumps(doc))
    result = CliRunner().invoke(cli_app, ["audit", "anchor"])
    assert result.exit_code == 1
    assert "seal" in result.output


def test_verify_endpoint_reports_an_erased_ledger(make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_API_KEY", ADMIN_KEY)
    client = make_client(headers={"X-API-Key": ADMIN_KEY})
    seed([None, "8"])
    assert client.get("/audit/verify").json()["ok"] is True
    wipe_ledger()
    body = client.get("/audit/verify").json()
    assert body["ok"] is False
    assert body["first_break"] == _anchor_break("global", 2)
    assert body["anchor"]["status"] == "mismatch"
    assert "path" not in body["anchor"]  # no file system paths over HTTP


def test_appends_across_requests_with_the_background_writer_stay_ok(make_client, monkeypatch):
    from autopack.core import mirror
    from tests.auth.helpers import make_user

    monkeypatch.setenv("AUTOPACK_MIRROR_SYNC", "0")
    monkeypatch.setenv("AUTOPACK_API_KEY", ADMIN_KEY)
    client = make_client()
    make_user("anchored", "correct-horse")
    for _ in range(4):
        response = client.post("/api/auth/login", json={"username": "anchored", "password": "correct-horse"})
        assert response.status_code == 200, response.text
        report = client.get("/audit/verify", headers={"X-API-Key": ADMIN_KEY}).json()
        assert report["ok"] is True, report  # an anchor behind the database is fine
    mirror.flush()
    assert head("global").last_seq >= 4
    assert _stored()["chains"]["global"] == {"seq": head("global").last_seq, "hash": head("global").last_hash}
    assert client.get("/audit/verify", headers={"X-API-Key": ADMIN_KEY}).json()["anchor"]["status"] == "ok"


def test_an_older_head_never_overwrites_a_newer_anchor():
    seed([None])
    old = head("global")  # sealed by the server: a valid head, only an old one
    seed([None, None])
    newer = _stored()
    with attacker() as session:  # a writer that sees an older database (a stale replica, a restored head)
        session.execute(update(AuditChainHead).values(last_seq=old.last_seq, last_hash=old.last_hash, seal=old.seal))
    refresh_anchor()
    assert _stored() == newer
    assert read_anchor(anchor_path()).chains["global"][0] == 3


def test_a_head_without_a_valid_seal_is_never_anchored():
    seed([None, None])
    anchored = _stored()
    last = events()[-1]
    fields = {"occurred_at": last.occurred_at, "actor": "user:mallory", "action": "test.forged",
              "tenant_id": None, "target_type": None, "target_id": None, "details": {}}
    digest = link_hash(chain="global", seq=3, prev_hash=last.global_hash, **fields)
    with attacker() as session:  # a consistent extension, but sealed without the server secret
        session.execute(insert(AuditEvent).values(global_seq=3, global_prev_hash=last.global_hash,
                                                  global_hash=digest, **fields))
        session.execute(update(AuditChainHead).values(last_seq=3, last_hash=digest, seal="0" * 64))
    refresh_anchor()
    assert _stored() == anchored
    assert verify_report()["first_break"]["reason"] == "head_seal_mismatch"


def test_concurrent_writers_leave_the_newest_heads_anchored():
    import threading

    errors: list[BaseException] = []

    def append_some(n: int) -> None:
        try:
            seed([None if i % 2 else str(n % 3) for i in range(8)])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=append_some, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    anchored = read_anchor(anchor_path()).chains
    assert anchored == {key: (head(key).last_seq, head(key).last_hash)
                        for key in ("global", "tenant:0", "tenant:1", "tenant:2")}
    assert anchored["global"][0] == 48
    assert verify_report()["ok"] is True
