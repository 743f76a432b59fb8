"""Bad input gets a 4xx, stores nothing, and never a 500 (on SQLite and PostgreSQL alike)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from autopack.approvals.payload import MAX_INFO_BYTES, MAX_PATCH_BYTES
from autopack.core.database import session_scope
from autopack.db.models import ApprovalRequest
from tests.approvals.helpers import create, request_body


def _stored() -> int:
    with session_scope(writer=False) as session:
        return session.scalar(select(func.count()).select_from(ApprovalRequest))


@pytest.mark.parametrize("body", [
    {},
    {"phase_id": "F1.1"},
    {"run_id": "run-1"},
    {"run_id": "", "phase_id": "F1.1"},
    {"run_id": "run-1", "phase_id": "a/b"},
    {"run_id": 5, "phase_id": "F1.1"},
    {"run_id": "run\x00", "phase_id": "F1.1"},
    {"run_id": "r" * 129, "phase_id": "F1.1"},
])
def test_missing_or_bad_ids_are_422(client, body):
    response = client.post("/approval/request", json=body)
    assert response.status_code == 422, response.text
    assert _stored() == 0


@pytest.mark.parametrize("field", ["decision_info", "deletion_info"])
@pytest.mark.parametrize("value", [[1, 2], "risky", 7, True])
def test_info_must_be_an_object(client, field, value):
    response = client.post("/approval/request", json=request_body(**{field: value}))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", field]
    assert _stored() == 0


@pytest.mark.parametrize("override", [
    {"decision_info": {"blob": "x" * (MAX_INFO_BYTES + 1)}},
    {"deletion_info": {"files": ["f" * 1000] * 70}},
    {"patch_preview": "+" * (MAX_PATCH_BYTES + 1)},
    {"patch": "é" * (MAX_PATCH_BYTES // 2 + 1)},  # the limit is in bytes, not characters
    {"context": "c" * 129},
])
def test_oversized_payloads_are_422(client, override):
    response = client.post("/approval/request", json=request_body(**override))
    assert response.status_code == 422, response.text[:300]
    assert _stored() == 0


@pytest.mark.parametrize("raw", [
    '{"run_id":"r","phase_id":"p","decision_info":{"k":"a\\u0000b"}}',
    '{"run_id":"r","phase_id":"p","decision_info":{"a\\u0000":1}}',
    '{"run_id":"r","phase_id":"p","deletion_info":{"k":"\\ud800"}}',
    '{"run_id":"r","phase_id":"p","decision_info":{"k":NaN}}',
    '{"run_id":"r","phase_id":"p","decision_info":{"k":1e400}}',
    '{"run_id":"r","phase_id":"p","patch_preview":"a\\u0000"}',
    '{"run_id":"r","phase_id":"p","context":"\\udfff"}',
])
def test_values_a_database_cannot_store_are_422(client, raw):
    response = client.post("/approval/request", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert _stored() == 0


@pytest.mark.parametrize("raw", ["[]", '"x"', "null", "not json", '{"run_id":'])
def test_body_that_is_not_an_object_is_422(client, raw):
    response = client.post("/approval/request", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 422


@pytest.mark.parametrize("depth", [900, 3000, 100_000])
def test_deeply_nested_info_is_refused_not_crashed(client, depth):
    raw = '{"run_id":"r","phase_id":"p","decision_info":' + '{"n":' * depth + "1" + "}" * depth + "}"
    response = client.post("/approval/request", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code in (400, 413, 422), response.text[:200]
    assert _stored() == 0


def test_unknown_keys_are_ignored_as_the_reference_does(client):
    answer = create(client, executor_version="1.2", extra={"a": 1})
    assert answer["status"] == "pending"


def test_decision_body_is_checked(client):
    from tests.auth.helpers import bearer, make_user

    headers = bearer(make_user("bob")[1])
    approval_id = create(client)["approval_id"]
    for body in ({"reason": "x" * 2001}, {"reason": 5}, {"reason": "a\x00"}, {"why": "no"}, [1]):
        response = client.post(f"/approval/{approval_id}/approve", json=body, headers=headers)
        assert response.status_code == 422, body
    assert client.get(f"/approval/status/{approval_id}").json()["status"] == "pending"
