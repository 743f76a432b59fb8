"""Property-based requests from the OpenAPI document (schemathesis): no request shape gives a 5xx.

Every operation gets generated requests twice: anonymous, then as a superuser (API key + Bearer),
so the checks behind authentication are reached too. Bounded: 8 examples per operation and pass.
"""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.auth.helpers import bearer, make_user

EXAMPLES = 8
API_KEY = "fuzz-compat-key-0123456789"


def _fuzz(app, headers: dict[str, str], only: str | None = None) -> tuple[Counter, list]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    statuses: Counter = Counter()
    failures: list = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if only is not None and f"{operation.method.upper()} {operation.path}" != only:
            continue

        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None,
                  derandomize=True)
        @given(case=operation.as_strategy())
        def probe(case):
            response = case.call(headers=headers)
            statuses[response.status_code // 100] += 1
            if response.status_code >= 500:
                failures.append((case.method, case.formatted_path, response.status_code, response.text[:300]))

        probe()
    return statuses, failures


@pytest.fixture
def fuzz_app(monkeypatch, make_client):
    monkeypatch.setenv("AUTOPACK_API_KEY", API_KEY)
    monkeypatch.setenv("AUTOPACK_RATE_LIMIT_ENABLED", "0")
    # on, so the endpoint behind the switch is fuzzed too (off, it answers 503 by design)
    monkeypatch.setenv("AUTOPACK_ENABLE_CONSOLIDATED_METRICS", "1")
    return make_client().app


def test_no_request_shape_is_a_server_error(fuzz_app):
    anonymous, failures = _fuzz(fuzz_app, {})
    root = {"X-API-Key": API_KEY, **bearer(make_user("fuzz-root", superuser=True)[1])}
    authenticated, more = _fuzz(fuzz_app, root)
    assert failures + more == []
    assert sum(anonymous.values()) >= 70 * 2 and authenticated[2] > 50  # real traffic, much of it accepted


def test_the_probe_sees_a_server_error(fuzz_app, monkeypatch):
    from autopack.runs import document, service

    def boom(*_args, **_kwargs):
        raise ZeroDivisionError("planted failure")

    monkeypatch.setattr(document, "_sqlite_document", boom)
    monkeypatch.setattr(document, "_postgres_document", boom)
    monkeypatch.setattr(service, "serialize_run", boom)
    statuses, failures = _fuzz(fuzz_app, {}, only="GET /runs/{run_id}")
    assert failures and statuses[5] == len(failures)
    assert {f[2] for f in failures} == {500}
