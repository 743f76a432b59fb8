"""The global 500 handler, the stored error reports and GET /runs/{run_id}/errors(/summary)."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from autopack.core.database import session_scope
from autopack.db.models import ErrorReport

HEX8 = re.compile(r"^[0-9a-f]{8}$")
SECRET_HEADERS = {"X-API-Key": "hdr-key-value-123456", "Authorization": "Bearer tok-abcdef123456",
                  "Cookie": "session=cookie-value-998877"}
SECRET_QUERY = {"token": "qtok-987654", "page": "2"}
LEAKS = ("s3cret", "hdr-key-value-123456", "tok-abcdef123456", "cookie-value-998877", "qtok-987654")


def _assert_no_leak(text: str) -> None:
    for secret in LEAKS:
        assert secret not in text, f"{secret!r} leaked"


def test_development_500_body(boom_client):
    response = boom_client.get("/runs/run-500/boom")
    assert response.status_code == 500
    body = response.json()
    assert set(body) == {"detail", "error_id", "error_type", "message", "error_report"}
    assert body["detail"] == "Internal server error"
    assert HEX8.match(body["error_id"])
    assert body["error_type"] == "RuntimeError"
    assert body["message"] == f"Check server logs for error_id={body['error_id']}"
    assert body["error_report"] == "Error report saved to .autonomous_runs/run-500/errors/"
    _assert_no_leak(response.text)


def test_error_ids_are_unique(boom_client):
    ids = {boom_client.get("/runs/r/boom").json()["error_id"] for _ in range(5)}
    assert len(ids) == 5


def test_500_without_run_id(boom_client, runs_dir):
    response = boom_client.get("/boom")
    assert response.status_code == 500
    body = response.json()
    assert body["error_report"] == "Error report saved"
    assert body["error_type"] == "ValueError"
    files = sorted(p.name for p in (runs_dir / "errors").iterdir())
    assert len(files) == 2
    assert files[0].endswith(f"_api_ValueError_{body['error_id']}.json")
    assert files[1].endswith(f"_api_ValueError_{body['error_id']}.txt")


def test_production_500_body(monkeypatch, make_boom_client):
    monkeypatch.setenv("AUTOPACK_ENV", "production")
    monkeypatch.setenv("AUTOPACK_API_KEY", "prod-key-abcdef123456")
    client = make_boom_client()
    response = client.get("/runs/prod-run/boom")
    assert response.status_code == 500
    body = response.json()
    assert set(body) == {"detail", "error_id", "message"}
    assert body["detail"] == "Internal server error"
    assert HEX8.match(body["error_id"])
    assert body["message"] == ("An unexpected error occurred. Reference this error_id when "
                               "reporting issues.")
    assert "RuntimeError" not in response.text
    listed = client.get("/runs/prod-run/errors").json()
    assert [e["context_data"]["error_id"] for e in listed["errors"]] == [body["error_id"]]


def test_report_is_listed_and_redacted(boom_client, runs_dir):
    response = boom_client.get("/runs/leaky-run/boom", headers=SECRET_HEADERS, params=SECRET_QUERY)
    assert response.status_code == 500
    error_id = response.json()["error_id"]

    listed = boom_client.get("/runs/leaky-run/errors")
    assert listed.status_code == 200
    body = listed.json()
    assert body["run_id"] == "leaky-run"
    assert body["error_count"] == 1
    assert body["total"] == 1
    [report] = body["errors"]
    assert report["error_type"] == "RuntimeError"
    assert report["run_id"] == "leaky-run"
    assert report["phase_id"] is None
    assert report["component"] == "api"
    assert report["operation"] == "GET /runs/leaky-run/boom"
    assert "could not reach postgresql://***:***@db.internal:5432/prod" in report["error_message"]
    assert "RuntimeError" in report["traceback"]
    assert report["context_data"]["error_id"] == error_id
    assert report["context_data"]["method"] == "GET"
    assert report["context_data"]["url"].endswith("/runs/leaky-run/boom")
    headers = {k.lower(): v for k, v in report["context_data"]["headers"].items()}
    assert headers["x-api-key"] == "[REDACTED]"
    assert headers["authorization"] == "[REDACTED]"
    assert headers["cookie"] == "[REDACTED]"
    assert report["context_data"]["query_params"] == {"token": "[REDACTED]", "page": "2"}
    assert all(frame["locals"] == "[REDACTED_BY_POLICY]" for frame in report["stack_frames"])
    assert report["stack_frames"] and report["python_version"] and report["platform"]
    _assert_no_leak(listed.text)

    folder = runs_dir / "leaky-run" / "errors"
    json_files = sorted(folder.glob("*.json"))
    txt_files = sorted(folder.glob("*.txt"))
    assert len(json_files) == len(txt_files) == 1
    assert re.match(rf"^\d{{8}}_\d{{6}}_api_RuntimeError_{error_id}\.json$", json_files[0].name)
    assert json_files[0].stem == txt_files[0].stem
    stored = json.loads(json_files[0].read_text(encoding="utf-8"))
    assert stored == report
    text = txt_files[0].read_text(encoding="utf-8")
    assert f"Error ID: {error_id}" in text
    assert "Operation: GET /runs/leaky-run/boom" in text
    _assert_no_leak(json_files[0].read_text(encoding="utf-8"))
    _assert_no_leak(text)


def test_phase_id_is_taken_from_the_path(boom_client):
    assert boom_client.get("/runs/run-p/phases/F1.1/boom").status_code == 500
    [report] = boom_client.get("/runs/run-p/errors").json()["errors"]
    assert report["phase_id"] == "F1.1"
    assert report["error_type"] == "KeyError"
    with session_scope(writer=False) as session:
        row = session.scalars(select(ErrorReport).where(ErrorReport.run_id == "run-p")).one()
        assert (row.phase_id, row.error_type, row.operation) == ("F1.1", "KeyError",
                                                                 "GET /runs/run-p/phases/F1.1/boom")


def test_configured_api_key_in_a_message_is_redacted(monkeypatch, make_boom_client, runs_dir):
    monkeypatch.setenv("AUTOPACK_API_KEY", "configured-key-5551234")
    client = make_boom_client()
    assert client.get("/runs/key-run/keyboom").status_code == 500
    listed = client.get("/runs/key-run/errors").text
    assert "configured-key-5551234" not in listed
    assert "[REDACTED]" in listed
    for path in (runs_dir / "key-run" / "errors").iterdir():
        assert "configured-key-5551234" not in path.read_text(encoding="utf-8")


def test_query_secret_inside_an_exception_message_is_redacted(boom_client, runs_dir):
    assert boom_client.get("/runs/url-run/urlboom").status_code == 500
    listed = boom_client.get("/runs/url-run/errors")
    [report] = listed.json()["errors"]
    assert "qtok-987654" not in listed.text
    assert "page=2" in report["error_message"]
    for path in (runs_dir / "url-run" / "errors").iterdir():
        assert "qtok-987654" not in path.read_text(encoding="utf-8")


def test_url_password_containing_a_slash_is_redacted(boom_client, runs_dir):
    assert boom_client.get("/runs/slash-run/slashboom").status_code == 500
    listed = boom_client.get("/runs/slash-run/errors")
    assert "pa/ss-w0rd" not in listed.text
    assert "ss-w0rd" not in listed.text
    assert "postgresql://***:***@db.internal/app" in listed.json()["errors"][0]["error_message"]
    for path in (runs_dir / "slash-run" / "errors").iterdir():
        assert "ss-w0rd" not in path.read_text(encoding="utf-8")


def test_a_failing_real_route_is_reported(monkeypatch, make_boom_client, started_run):
    from autopack.runs import document

    def broken(*_args, **_kwargs):
        raise ZeroDivisionError("bookkeeping failed")

    monkeypatch.setattr(document, "_postgres_document", broken)  # PostgreSQL
    monkeypatch.setattr(document, "_sqlite_document", broken)  # SQLite
    client = make_boom_client()
    response = client.get(f"/runs/{started_run}")
    assert response.status_code == 500
    assert response.json()["error_type"] == "ZeroDivisionError"
    errors = client.get(f"/runs/{started_run}/errors").json()["errors"]
    assert [e["operation"] for e in errors] == [f"GET /runs/{started_run}"]


def test_unsafe_run_id_in_path_does_not_escape_the_runs_dir(boom_client, runs_dir):
    response = boom_client.get("/runs/%2E%2E/boom")
    assert response.status_code == 500
    assert response.json()["error_report"] == "Error report saved"
    assert len(list((runs_dir / "errors").glob("*.json"))) == 1
    assert not (runs_dir.parent / "errors").exists()


def test_unstorable_text_still_gives_a_stored_report(boom_client, runs_dir):
    """NUL and lone surrogates (message, query) are escaped so both databases store the report."""
    response = boom_client.get("/runs/nul-run/nulboom", params={"q": "a\tb"})
    assert response.status_code == 500
    listed = boom_client.get("/runs/nul-run/errors")
    assert listed.status_code == 200
    [report] = listed.json()["errors"]
    assert report["context_data"]["error_id"] == response.json()["error_id"]
    assert report["error_message"] == "bad input: nul=\\x00 surrogate=\\ud800 end"
    assert report["context_data"]["query_params"] == {"q": "a\tb"}
    assert len(list((runs_dir / "nul-run" / "errors").glob("*.json"))) == 1


def test_nul_in_the_run_id_of_a_read(client):
    assert client.get("/runs/a%00b/errors").status_code == 422
    assert client.get("/runs/a%00b/errors/summary").status_code == 422


def test_errors_unknown_run_is_empty(client, runs_dir):
    response = client.get("/runs/never-failed/errors")
    assert response.status_code == 200
    assert response.json() == {"run_id": "never-failed", "error_count": 0, "errors": [],
                               "total": 0, "limit": 100, "offset": 0}
    assert not (runs_dir / "never-failed").exists()


def test_errors_are_per_run(boom_client):
    boom_client.get("/runs/run-a/boom")
    boom_client.get("/runs/run-b/boom")
    boom_client.get("/runs/run-b/boom")
    assert boom_client.get("/runs/run-a/errors").json()["error_count"] == 1
    assert boom_client.get("/runs/run-b/errors").json()["error_count"] == 2


def test_errors_pagination(boom_client):
    ids = [boom_client.get("/runs/paged/boom").json()["error_id"] for _ in range(3)]
    page = boom_client.get("/runs/paged/errors", params={"limit": 2, "offset": 1}).json()
    assert [e["context_data"]["error_id"] for e in page["errors"]] == ids[1:3]
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 1)
    assert page["error_count"] == len(page["errors"]) == 2
    everything = boom_client.get("/runs/paged/errors").json()
    assert [e["context_data"]["error_id"] for e in everything["errors"]] == ids


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 1001}, {"offset": -1}, {"limit": "x"}])
def test_errors_pagination_bounds(client, params):
    response = client.get("/runs/any/errors", params=params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "query"


def test_summary_without_errors(client):
    response = client.get("/runs/quiet-run/errors/summary")
    assert response.status_code == 200
    assert response.json() == {"run_id": "quiet-run", "summary": "No errors reported for run quiet-run"}


def test_summary_with_errors(boom_client):
    boom_client.get("/runs/sum-run/boom")
    boom_client.get("/runs/sum-run/phases/F9/boom")
    response = boom_client.get("/runs/sum-run/errors/summary")
    assert response.status_code == 200
    body = response.json()
    assert body["run_id"] == "sum-run"
    lines = body["summary"].splitlines()
    assert lines[0] == "ERROR SUMMARY FOR RUN: sum-run"
    assert lines[1] == "Total Errors: 2"
    assert lines[2] == "=" * 80
    assert re.match(r"^1\. \[.+\] RuntimeError$", lines[4])
    assert lines[5] == "   Component: api"
    assert lines[6] == "   Operation: GET /runs/sum-run/boom"
    assert lines[7].startswith("   Message: could not reach postgresql://***:***@")
    assert re.match(r"^2\. \[.+\] KeyError$", lines[9])
    assert "   Operation: GET /runs/sum-run/phases/F9/boom" in lines
    assert "s3cret" not in body["summary"]
