"""Request plumbing: body size limit, malformed input, request ids, bad text."""

from __future__ import annotations

import os
import re

import pytest
from sqlalchemy import func, select

from autopack.core.database import session_scope
from autopack.db.models import Run

BACKEND = os.environ.get("AUTOPACK_TEST_DB", "sqlite")
HEX32 = re.compile(r"^[0-9a-f]{20}$")  # 12 hex of a per-process prefix + an 8-hex counter


def _run_count() -> int:
    with session_scope(writer=False) as session:
        return session.scalar(select(func.count()).select_from(Run))


def _start_body(run_id: str = "core-run", **run) -> dict:
    return {"run": {"run_id": run_id, **run},
            "tiers": [{"tier_id": "T1", "tier_index": 0, "name": "Tier"}],
            "phases": [{"phase_id": "P1", "phase_index": 0, "tier_id": "T1", "name": "Phase"}]}


@pytest.fixture
def small_body_client(monkeypatch, make_client):
    monkeypatch.setenv("AUTOPACK_MAX_BODY_BYTES", "512")
    return make_client()


def test_body_over_the_limit_is_413_and_writes_nothing(small_body_client, runs_dir):
    body = _start_body("too-big", goal_anchor="x" * 2000)
    response = small_body_client.post("/runs/start", json=body)
    assert response.status_code == 413
    assert _run_count() == 0
    assert not runs_dir.exists() or list(runs_dir.rglob("*")) == []


def test_streamed_body_over_the_limit_is_413(small_body_client, runs_dir):
    """No Content-Length: the limit is enforced while reading."""

    def chunks():
        yield b'{"run": {"run_id": "streamed", "goal_anchor": "'
        for _ in range(20):
            yield b"x" * 100
        yield b'"}}'

    response = small_body_client.post("/runs/start", content=chunks(),
                                      headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert _run_count() == 0
    assert not runs_dir.exists() or list(runs_dir.rglob("*")) == []


def test_body_limit_applies_to_other_endpoints(small_body_client, started_run_small):
    events = [{"provider": "p", "model": "m", "role": "r"}] * 50
    response = small_body_client.post(f"/runs/{started_run_small}/usage", json={"events": events})
    assert response.status_code == 413
    response = small_body_client.post(
        f"/runs/{started_run_small}/phases/P1/record_issue",
        params={"issue_key": "k", "severity": "minor", "source": "s", "category": "c"},
        json=["e" * 100] * 10)
    assert response.status_code == 413
    assert small_body_client.get(f"/runs/{started_run_small}/issues/index").json()["total"] == 0


@pytest.fixture
def started_run_small(small_body_client):
    response = small_body_client.post("/runs/start", json=_start_body("small-run"))
    assert response.status_code == 201, response.text
    return "small-run"


def test_body_under_the_limit_is_accepted(small_body_client):
    response = small_body_client.post("/runs/start", json=_start_body("fits"))
    assert response.status_code == 201, response.text
    assert _run_count() == 1


def test_413_uses_the_api_error_shape(small_body_client):
    response = small_body_client.post("/runs/start", json=_start_body("big", goal_anchor="x" * 2000),
                                      headers={"X-Request-ID": "req-413"})
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/json")
    assert isinstance(response.json()["detail"], str)
    assert response.headers.get("x-request-id") == "req-413"


@pytest.mark.parametrize("raw", [b'{"run": ', b"{'run': {}}", b'{"run": {"run_id": "x"}', b"nope"])
def test_malformed_json_is_422(client, raw):
    response = client.post("/runs/start", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"
    assert _run_count() == 0


@pytest.mark.parametrize("raw", [
    b'{"run": {"run_id": "\xff\xfe"}}',  # not UTF-8
    b"[" * 100_000 + b"]" * 100_000,  # nesting deeper than the parser allows
])
def test_unparseable_bodies_are_4xx_not_500(client, raw):
    response = client.post("/runs/start", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code in (400, 422)
    assert "detail" in response.json()
    assert _run_count() == 0


@pytest.mark.parametrize("body, loc", [
    ({"run": {"run_id": 123}}, ["body", "run", "run_id"]),
    ({"run": "demo"}, ["body", "run"]),
    ({"run": {"run_id": "x", "token_cap": "lots"}}, ["body", "run", "token_cap"]),
    ({"run": {"run_id": "x"}, "tiers": {"tier_id": "T1"}}, ["body", "tiers"]),
    ({"run": {"run_id": "x"}, "phases": [{"phase_id": "P", "phase_index": "first", "tier_id": "T",
                                          "name": "n"}]}, ["body", "phases", 0, "phase_index"]),
])
def test_wrong_json_types_are_422(client, body, loc):
    response = client.post("/runs/start", json=body)
    assert response.status_code == 422
    assert loc in [err["loc"] for err in response.json()["detail"]]
    assert _run_count() == 0


def test_json_array_instead_of_object_is_422(client, started_run):
    response = client.post(f"/runs/{started_run}/usage", json=[{"provider": "p"}])
    assert response.status_code == 422


def test_wrong_types_on_update_status(client, started_run):
    response = client.post(f"/runs/{started_run}/phases/F1.1/update_status",
                           json={"state": "EXECUTING", "tokens_used": "many"})
    assert response.status_code == 422
    assert client.get(f"/runs/{started_run}").json()["phases"][0]["state"] == "QUEUED"


@pytest.mark.parametrize("request_id", ["abc-123", "A.b_c-9", "x" * 64])
def test_valid_request_id_is_echoed(client, request_id):
    response = client.get("/health", headers={"X-Request-ID": request_id})
    assert response.headers["x-request-id"] == request_id


@pytest.mark.parametrize("request_id", ["has space", "x" * 65, "semi;colon", "new\tline", "ünï", ""])
def test_invalid_request_id_is_replaced(client, request_id):
    response = client.get("/health", headers={"X-Request-ID": request_id.encode("utf-8")})
    assert response.status_code == 200
    assert HEX32.match(response.headers["x-request-id"])


def test_request_id_generated_when_absent_and_unique(client):
    ids = {client.get("/health").headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3 and all(HEX32.match(i) for i in ids)


def test_request_id_on_errors(client):
    response = client.get("/runs/nope", headers={"X-Request-ID": "req-404"})
    assert response.status_code == 404
    assert response.headers["x-request-id"] == "req-404"
    response = client.post("/runs/start", json={}, headers={"X-Request-ID": "req-422"})
    assert response.status_code == 422
    assert response.headers["x-request-id"] == "req-422"


def test_request_id_on_500(make_client):
    client = make_client(raise_server_exceptions=False)

    def boom() -> None:
        raise RuntimeError("boom")

    client.app.add_api_route("/runs/{run_id}/core-boom", boom, methods=["GET"])
    response = client.get("/runs/r1/core-boom", headers={"X-Request-ID": "req-500"})
    assert response.status_code == 500
    assert response.headers.get("x-request-id") == "req-500"


# --- text that neither database can store -------------------------------------------------------

def test_lone_surrogate_in_run_id_is_422(make_client):
    client = make_client(raise_server_exceptions=False)
    response = client.post("/runs/start", content=b'{"run": {"run_id": "a\\ud800b"}}',
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert _run_count() == 0


def test_validation_error_echoing_a_lone_surrogate_is_422(make_client):
    client = make_client(raise_server_exceptions=False)
    response = client.post("/runs/start", content=b'{"run": {"run_id": "ok", "token_cap": "\\ud800"}}',
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 422


def test_nul_in_run_text_is_422_on_both_databases(make_client):
    client = make_client(raise_server_exceptions=False)
    response = client.post("/runs/start", json=_start_body("nul-run", goal_anchor="a\x00b"))
    assert response.status_code == 422
    assert _run_count() == 0


def test_nul_in_path_or_query_is_422(make_client):
    client = make_client(raise_server_exceptions=False)
    assert client.get("/runs/a%00b").status_code == 422
    response = client.post("/runs/a%00b/phases/P1/update_status", json={"state": "EXECUTING"})
    assert response.status_code == 422
    assert response.json() == {"detail": "NUL characters are not allowed"}
    assert client.get("/project/issues/backlog?limit=1%00").status_code == 422


# --- numbers that are not JSON ------------------------------------------------------------------

@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-2.5E+999", b"1" * 400 + b".5"])
def test_non_finite_numbers_are_422_and_store_nothing(make_client, number):
    client = make_client(raise_server_exceptions=False)
    body = (b'{"run": {"run_id": "nan-run"}, "tiers": [{"tier_id": "T1", "tier_index": 0, "name": "T"}],'
            b' "phases": [{"phase_id": "P1", "phase_index": 0, "tier_id": "T1", "name": "P",'
            b' "scope": {"deep": [1, {"x": ' + number + b'}]}}]}')
    response = client.post("/runs/start", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert "finite" in response.json()["detail"]
    assert _run_count() == 0
    assert client.get("/runs/nan-run").status_code == 404


def test_non_finite_number_on_api_v1_uses_the_envelope(make_client):
    client = make_client(raise_server_exceptions=False)
    response = client.post("/api/v1/tenants", content=b'{"name": "t", "x": NaN}',
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("text", ["NaN", "Infinity", "1e400", "size 2e5"])
def test_the_same_words_inside_strings_and_finite_exponents_pass(client, text):
    body = _start_body("words-run")
    # (PostgreSQL's JSONB writes 2.5e10 back as 25000000000: equal numbers, compared as such)
    body["phases"][0]["scope"] = {"note": text, "n": 2.5e10, "m": 2E-5}
    response = client.post("/runs/start", json=body)
    assert response.status_code == 201
    got = client.get("/runs/words-run").json()["phases"][0]["scope"]
    assert got == {"note": text, "n": 2.5e10, "m": 2e-5}
