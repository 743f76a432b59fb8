"""The autopilot's hot writes skip the routing, and the fast path answers exactly what the router answers.

One scenario (accepted, refused, malformed and rate-limited calls to check, queue, approve and dismiss)
runs through the app and through the same app without the fast path, each on tenants and users of its
own in the one database; every answer must be the same, ids and times masked.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from datetime import date

import pytest
from fastapi import APIRouter, Depends, FastAPI, Path, Request
from fastapi.testclient import TestClient
from pydantic import BaseModel

from autopack.autopilot.actions.router import approve_action, dismiss_action, queue_action
from autopack.autopilot.enforcement.router import check
from autopack.core import fastpath
from autopack.core.database import session_scope
from autopack.core.fastpath import OwnResponse, RouteFastPath, path_guard, served_route
from autopack.core.handlers import envelope
from autopack.db.base import Base
from autopack.db.models import AutopilotAction, User
from autopack.main import fast_routes
from autopack.tenants import service as tenants
from tests.auth.helpers import bearer, make_user
from tests.autopilot.core.conftest import create_tenant

JSON = {"Content-Type": "application/json"}
CHECK = "/enforcement/check"
MISSING = 999_999  # no such tenant on either side


def _routed_app():
    """The app without the fast path: the router answers everything."""
    from autopack.main import create_app

    app = create_app()
    app.user_middleware = [m for m in app.user_middleware if m.cls is not RouteFastPath]
    return app


def _fast_path_of(client: TestClient) -> RouteFastPath:
    layer = client.app.middleware_stack
    while not isinstance(layer, RouteFastPath):
        layer = layer.app
    return layer


def _record_passed_on(client: TestClient) -> list[str]:
    """The paths the app's fast path passes on to the router from now on."""
    passed_on: list[str] = []
    fast = _fast_path_of(client)
    inner = fast.app

    async def recorder(scope, receive, send):
        passed_on.append(scope["path"])
        await inner(scope, receive, send)

    fast.app = recorder
    return passed_on


@dataclass
class Side:
    """One side's tenants, callers and the action ids it has seen (masked by their order)."""

    tag: str
    tenant: int
    other: int
    callers: dict[str, dict]
    actions: list[str] = field(default_factory=list)

    def url(self, path: str, tenant: int | str | None = None) -> str:
        tenant = self.tenant if tenant is None else tenant
        return f"/api/v1/tenant/{tenant}/autopilot{path}"


def _side(client: TestClient, tag: str) -> Side:
    """Tenant fp{tag} (admin, operator, viewer and a busy operator) and fp{tag}g with one queued action."""
    own, other = create_tenant(f"fp{tag}"), create_tenant(f"fp{tag}g")
    extra = {}
    for name in ("second", "busy"):  # operators with write budgets of their own (30 a minute each)
        user_id, token = make_user(f"fp{tag}-{name}")
        with session_scope() as session:
            tenants.set_member(session, tenants.get_tenant(session, own.id), session.get(User, user_id),
                               "operator", "test")
        extra[name] = bearer(token)
    side = Side(tag, own.id, other.id, {
        "operator": own.operator, "viewer": own.viewer, "admin": own.admin, **extra,
        "none": {}, "bad token": {"Authorization": "Bearer not-a-token"},
        "bad key": {"X-API-Key": "autopack_sk_no_such_key"},
        "outsider": bearer(make_user(f"fp{tag}-out")[1]),
        "root": bearer(make_user(f"fp{tag}-root", superuser=True)[1]),
        "other operator": other.operator})
    foreign = client.post(side.url("/actions", other.id), json=_pause("foreign"), headers=other.operator)
    assert foreign.status_code == 201, foreign.text
    side.actions.append(foreign.json()["data"]["action"]["id"])
    return side


def _pause(entity: str) -> dict:
    return {"action_type": "pause_campaign", "entity_type": "campaign", "entity_id": entity, "entity_name": "P",
            "platform": "meta", "action_json": {"type": "pause_campaign"}}


def _check(new: float, current: float = 500.0) -> dict:
    return {"action_type": "budget_increase", "entity_type": "campaign", "entity_id": "c-1",
            "proposed_value": {"daily_budget": new}, "current_value": {"daily_budget": current}}


def _raw(value) -> bytes:
    return json.dumps(value).encode()


ACCEPTED_CHECK = _raw(_check(510.0))
# (method, path ({t} own tenant, {g} the other, {A0}.. actions seen), body, content type, caller)
TENANT_IDS = ["0", "-1", "2147483648", "abc", "1.5", "1e3", "0{t}", "+{t}", "{t}.0", "{t}_0", "%20{t}",
              "2147483647", "{g}"]
SCENARIO = [
    # check: accepted, refused by the caller's standing, then by the path and the body
    ("POST", CHECK, ACCEPTED_CHECK, "application/json", "operator"),
    ("POST", CHECK, _raw(_check(5000.0)), "application/json", "operator"),
    ("POST", CHECK, ACCEPTED_CHECK, "application/json; charset=utf-8", "admin"),
    *[("POST", CHECK, ACCEPTED_CHECK, "application/json", who)
      for who in ("none", "bad token", "bad key", "outsider", "viewer", "other operator")],
    ("POST", f"/api/v1/tenant/{MISSING}/autopilot{CHECK}", ACCEPTED_CHECK, "application/json", "root"),
    ("POST", CHECK, ACCEPTED_CHECK, "application/json", "root"),
    *[("POST", f"/api/v1/tenant/{tenant}/autopilot{CHECK}", ACCEPTED_CHECK, "application/json", "operator")
      for tenant in TENANT_IDS],
    ("POST", CHECK, b'{"action_type": "budget_increase"}', "application/json", "operator"),
    ("POST", CHECK, _raw({**_check(510.0), "extra": 1}), "application/json", "operator"),
    ("POST", CHECK, _raw({**_check(510.0), "entity_id": ""}), "application/json", "operator"),
    ("POST", CHECK, _raw({**_check(510.0), "proposed_value": {"daily_budget": "NaN"}}), "application/json", "operator"),
    ("POST", CHECK, b'{"action_type": ', "application/json", "operator"),
    ("POST", CHECK, b'[]', "application/json", "operator"),
    ("POST", CHECK, b'', "application/json", "operator"),
    ("POST", CHECK, ACCEPTED_CHECK, None, "operator"),
    ("POST", CHECK, ACCEPTED_CHECK, "text/plain", "operator"),
    ("POST", CHECK, ACCEPTED_CHECK, "application/merge-patch+json", "operator"),
    ("POST", CHECK, b'{"action_type": ', "application/json", "none"),
    ("POST", "/api/v1/tenant/0/autopilot" + CHECK, b'{}', "application/json", "none"),
    # queue
    ("POST", "/actions", _raw(_pause("a1")), "application/json", "admin"),
    ("POST", "/actions", _raw(_pause("a2")), "application/json", "admin"),
    ("POST", "/actions", _raw(_pause("a1")), "application/json", "admin"),
    ("POST", "/actions", _raw({**_pause("a3"), "action_type": "budget_increase",
                               "action_json": {"type": "budget_increase", "new_budget": 9000.0},
                               "before_value": {"daily_budget": 100.0}}), "application/json", "admin"),
    ("POST", "/actions", _raw({**_pause("a4"), "platform": "myspace"}), "application/json", "admin"),
    ("POST", "/actions", _raw({**_pause("a4"), "confirmation_token": ""}), "application/json", "admin"),
    ("POST", "/actions", b'{"action_type": "pause_campaign"}', "application/json", "admin"),
    ("POST", "/actions", _raw(_pause("a5")), "text/plain", "admin"),
    ("POST", "/actions", b'', "application/json", "admin"),
    *[("POST", "/actions", _raw(_pause("a6")), "application/json", who)
      for who in ("none", "bad token", "outsider", "viewer")],
    ("POST", f"/api/v1/tenant/{MISSING}/autopilot/actions", _raw(_pause("a7")), "application/json", "root"),
    ("POST", "/api/v1/tenant/-1/autopilot/actions", _raw(_pause("a7")), "application/json", "admin"),
    # approve and dismiss (A0: the other tenant's action, A1 and A2: queued above)
    ("POST", "/actions/{A1}/approve", b'', None, "viewer"),
    ("POST", "/actions/{A1}/approve", b'', None, "none"),
    ("POST", "/actions/{A1}/approve", b'', None, "outsider"),
    ("POST", "/actions/{A1}/approve", b'not json at all', "application/json", "second"),
    ("POST", "/actions/{A1}/approve", b'', None, "second"),
    ("POST", "/actions/{A1}/approve", b'', None, "second"),
    ("POST", "/actions/{A1}/dismiss", b'', None, "second"),
    ("POST", "/actions/{A2}/dismiss", b'', None, "viewer"),
    ("POST", "/actions/{A2}/dismiss", b'', None, "second"),
    ("POST", "/actions/{A2}/dismiss", b'', None, "second"),
    ("POST", "/actions/{A2}/approve", b'', None, "second"),
    ("POST", "/actions/{A0}/approve", b'', None, "second"),
    ("POST", "/actions/{A0}/dismiss", b'', None, "second"),
    ("POST", "/api/v1/tenant/{g}/autopilot/actions/{A0}/approve", b'', None, "second"),
    ("POST", "/api/v1/tenant/{g}/autopilot/actions/{A0}/dismiss", b'', None, "second"),
    ("POST", "/actions/00000000-0000-4000-8000-000000000000/approve", b'', None, "second"),
    ("POST", "/actions/00000000-0000-4000-8000-000000000000/dismiss", b'', None, "second"),
    ("POST", "/actions/not-a-uuid/approve", b'', None, "second"),
    ("POST", "/api/v1/tenant/abc/autopilot/actions/{A1}/approve", b'', None, "second"),
    ("POST", "/api/v1/tenant/2147483648/autopilot/actions/{A1}/dismiss", b'', None, "second"),
    ("POST", f"/api/v1/tenant/{MISSING}/autopilot/actions/{{A1}}/approve", b'', None, "root"),
    ("POST", "/actions/{A1}/approve/", b'', None, "second"),
    ("GET", "/actions/{A1}/approve", b'', None, "second"),
    # the write limit: 30 a minute per (tenant, caller), then 429 whatever the body
    *[("POST", CHECK, ACCEPTED_CHECK, "application/json", "busy")] * 30,
    ("POST", CHECK, ACCEPTED_CHECK, "application/json", "busy"),
    ("POST", CHECK, b'{}', "application/json", "busy"),
    ("POST", "/actions", _raw(_pause("b1")), "application/json", "busy"),
    ("POST", "/actions/{A0}/approve", b'', None, "busy"),
    ("POST", "/api/v1/tenant/0/autopilot/actions", _raw(_pause("b1")), "application/json", "busy"),
]
# The rate limits' clock headers: the two sides' windows start at different times (compared for sense only).
TIMED = ("x-ratelimit-reset", "retry-after")


def _masked(value):
    """Row ids, tokens and times differ between the two sides: masked, everything else (and key order) kept."""
    if isinstance(value, dict):
        return [(k, "*" if (k.endswith(("_at", "_id")) or k in ("id", "confirmation_token", "date"))
                 and v is not None else _masked(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def _answer(response, side: Side):
    text = response.content.replace(f"fp{side.tag}".encode(), b"fpX")
    for n, action_id in enumerate(side.actions):
        text = text.replace(action_id.encode(), f"A{n}".encode())
    headers = {k: v for k, v in response.headers.items() if k not in ("content-length", "x-request-id", *TIMED)}
    timed = {k: int(response.headers[k]) for k in TIMED if k in response.headers}
    if timed:  # the window's end, and the wait until then, within the minute the limit counts
        assert 0 < timed["retry-after"] <= 60 and 0 <= timed["x-ratelimit-reset"] - time.time() <= 61, timed
        timed = sorted(timed)
    body = text
    if response.headers.get("content-type", "").startswith("application/json"):
        body = (_masked(json.loads(text)), b'": ' in text or b', "' in text)  # the same JSON layout too
    return response.status_code, headers, timed, body


def _run(client: TestClient, side: Side, passed_on: list | None = None) -> list:
    """The scenario's answers: ((method, path, caller), answer, taken by the fast path)."""
    answers = []
    for method, path, body, content_type, who in SCENARIO:
        if not path.startswith("/api/"):
            path = side.url(path)
        path = path.replace("{t}", str(side.tenant)).replace("{g}", str(side.other))
        for n, action_id in enumerate(side.actions):
            path = path.replace(f"{{A{n}}}", action_id)
        headers = {**side.callers[who], **({"Content-Type": content_type} if content_type else {})}
        seen = len(passed_on) if passed_on is not None else 0
        response = client.request(method, path, content=body, headers=headers)
        if response.status_code == 201 and path.endswith("/actions"):
            side.actions.append(response.json()["data"]["action"]["id"])
        taken = passed_on is not None and len(passed_on) == seen
        answers.append(((method, path, who), _answer(response, side), taken))
    return answers


def _same(fast: list, routed: list) -> None:
    assert len(fast) == len(routed)
    for (request, (status, headers, timed, body), _), (_, (status_b, headers_b, timed_b, body_b), _) in \
            zip(fast, routed):
        assert (status, headers, body) == (status_b, headers_b, body_b), request
        assert timed == timed_b, request


def test_the_fast_path_answers_the_autopilot_writes_as_the_router_does(make_client):
    fast = make_client()
    with TestClient(_routed_app()) as routed:
        side_a, side_b = _side(fast, "a"), _side(routed, "b")
        answers = _run(fast, side_a, _record_passed_on(fast))
        _same(answers, _run(routed, side_b))
    statuses = [answer[0] for _, answer, _ in answers]
    assert {200, 201, 400, 401, 403, 404, 405, 422, 429} <= set(statuses), statuses
    # plain calls were the fast path's own, whatever their answer; the malformed ones the router's
    taken = {(request, answer[0]) for request, answer, took in answers if took}
    passed = {(request, answer[0]) for request, answer, took in answers if not took}
    a0, a1, a2 = side_a.actions[:3]
    for request, status in [
            (("POST", side_a.url(CHECK), "operator"), 200), (("POST", side_a.url(CHECK), "none"), 401),
            (("POST", side_a.url(CHECK), "outsider"), 403), (("POST", side_a.url(CHECK), "busy"), 429),
            (("POST", side_a.url(CHECK, MISSING), "root"), 404), (("POST", side_a.url("/actions"), "admin"), 201),
            (("POST", side_a.url(f"/actions/{a1}/approve"), "second"), 200),
            (("POST", side_a.url(f"/actions/{a1}/approve"), "second"), 400),
            (("POST", side_a.url(f"/actions/{a2}/dismiss"), "second"), 200),
            (("POST", side_a.url(f"/actions/{a0}/approve"), "second"), 404),
            (("POST", side_a.url(f"/actions/{a0}/approve", side_a.other), "second"), 403)]:
        assert (request, status) in taken, (request, status)
    own = side_a.tenant
    for tenant, status in [("0", 422), ("-1", 422), ("2147483648", 422), ("abc", 422), ("1.5", 422), ("1e3", 422),
                           (f"+{own}", 200), (f"{own}.0", 200), (f"{own}_0", 403)]:
        assert (("POST", side_a.url(CHECK, tenant), "operator"), status) in passed, tenant
    assert (("POST", side_a.url(CHECK, f"0{own}"), "operator"), 200) in taken  # pydantic reads it as the same int
    assert (("POST", side_a.url(CHECK), "operator"), 422) in passed  # a body the model refuses
    assert not [request for request, status in taken if status == 422]


def _rows() -> dict[str, int]:
    from sqlalchemy import func, select

    with session_scope(writer=False) as session:
        return {table.name: session.scalar(select(func.count()).select_from(table))
                for table in Base.metadata.sorted_tables}


def _statuses(tenant_ids) -> dict[str, str]:
    from sqlalchemy import select

    with session_scope(writer=False) as session:
        return dict(session.execute(select(AutopilotAction.id, AutopilotAction.status)
                                    .where(AutopilotAction.tenant_id.in_(tenant_ids))).all())


def test_a_refusal_on_the_fast_path_writes_nothing(make_client):
    client = make_client()
    side = _side(client, "r")
    queued = client.post(side.url("/actions"), json=_pause("mine"), headers=side.callers["operator"])
    assert queued.status_code == 201
    mine, foreign = queued.json()["data"]["action"]["id"], side.actions[0]
    for _ in range(30):
        assert client.post(side.url(CHECK), content=ACCEPTED_CHECK, headers={**side.callers["busy"], **JSON}
                           ).status_code == 200
    before, statuses = _rows(), _statuses([side.tenant, side.other])
    assert statuses == {mine: "queued", foreign: "queued"}
    passed_on = _record_passed_on(client)
    refusals = []
    for who in ("none", "bad token", "bad key", "outsider", "viewer", "other operator", "busy"):
        headers = {**side.callers[who], **JSON}
        refusals += [client.post(side.url(CHECK), content=ACCEPTED_CHECK, headers=headers),
                     client.post(side.url("/actions"), json=_pause("refused"), headers=headers),
                     client.post(side.url(f"/actions/{mine}/approve"), headers=headers),
                     client.post(side.url(f"/actions/{mine}/dismiss"), headers=headers)]
    operator = side.callers["operator"]
    refusals += [client.post(side.url(f"/actions/{foreign}/approve"), headers=operator),
                 client.post(side.url(f"/actions/{foreign}/dismiss"), headers=operator),
                 client.post(side.url("/actions/00000000-0000-4000-8000-000000000000/approve"), headers=operator),
                 client.post(side.url(CHECK, MISSING), content=ACCEPTED_CHECK, headers={**side.callers["root"], **JSON}),
                 client.post(side.url("/actions", MISSING), json=_pause("x"), headers=side.callers["root"])]
    assert {r.status_code for r in refusals} == {401, 403, 404, 429}, [r.status_code for r in refusals]
    assert not passed_on  # every one of them the fast path's own refusal
    assert _rows() == before and _statuses([side.tenant, side.other]) == statuses
    assert client.post(side.url(f"/actions/{mine}/approve"), headers=operator).status_code == 200
    assert _statuses([side.tenant]) == {mine: "approved"}


def test_the_app_serves_each_autopilot_fast_route_where_the_fast_path_takes_it(client):
    paths = client.app.openapi()["paths"]
    routes = [plan.route for plan in RouteFastPath(None, fast_routes()).plans if plan.own_response]
    assert [(route.path, route.endpoint) for route in routes] == [
        ("/api/v1/tenant/{tenant_id}/autopilot/enforcement/check", check),
        ("/api/v1/tenant/{tenant_id}/autopilot/actions", queue_action),
        ("/api/v1/tenant/{tenant_id}/autopilot/actions/{action_id}/approve", approve_action),
        ("/api/v1/tenant/{tenant_id}/autopilot/actions/{action_id}/dismiss", dismiss_action)]
    for route in routes:
        (method,) = route.methods
        assert paths[route.path][method.lower()]["operationId"] == route.unique_id
    # the fast path repeats no path of its own
    assert not [line for line in open(fastpath.__file__, encoding="utf-8") if '"/api' in line]


# Made-up routes: what the fast path refuses at start-up, and how it answers what an endpoint returns.
def _guard_of(**path):
    @path_guard
    async def guard(request: Request, tenant_id: int = Path(**path)) -> int:
        return tenant_id

    return guard


TOY_PREFIX = "/api/v1/tenant/{tenant_id}"


def _toy(path: str, endpoint, **options) -> OwnResponse:
    """`endpoint` declared at `path` and served under TOY_PREFIX, declared to answer with its own Response."""
    router = APIRouter()
    router.add_api_route(path, endpoint, methods=["POST"], **options)
    serving = APIRouter(prefix=TOY_PREFIX)
    serving.include_router(router)
    return OwnResponse(served_route(serving, router, endpoint))


@pytest.mark.parametrize("path", [{"multiple_of": 2}, {"strict": True}, {"ge": 1, "allow_inf_nan": False}])
def test_a_path_constraint_the_fast_path_does_not_check_refuses_the_route(path):
    async def endpoint(tenant: int = Depends(_guard_of(**path))):
        return envelope(200, "OK", "ok")

    with pytest.raises(ValueError, match="constraint the fast path does not check"):
        RouteFastPath(None, [_toy("/x", endpoint)])


def test_a_text_path_parameter_with_a_constraint_refuses_the_route():
    async def endpoint(item: str = Path(max_length=3), tenant: int = Depends(_guard_of(ge=1))):
        return envelope(200, "OK", "ok")

    with pytest.raises(ValueError, match="other than plain text or an int"):
        RouteFastPath(None, [_toy("/x/{item}", endpoint)])


def test_a_dependency_not_marked_for_the_fast_path_refuses_the_route():
    async def unmarked(request: Request, tenant_id: int = Path(ge=1)) -> int:
        return tenant_id

    async def extra(tenant: int = Depends(_guard_of(ge=1)), other: int = Depends(unmarked)):
        return envelope(200, "OK", "ok")

    async def marked_with_a_query(request: Request, tenant_id: int = Path(ge=1), q: int = 0) -> int:
        return tenant_id

    async def query(tenant: int = Depends(path_guard(marked_with_a_query))):
        return envelope(200, "OK", "ok")

    async def sub(tenant: int = Depends(_guard_of(ge=1))) -> int:
        return tenant

    async def nested_sub(request: Request, tenant_id: int = Path(ge=1), _: int = Depends(sub)) -> int:
        return tenant_id

    async def nested(tenant: int = Depends(path_guard(nested_sub))):
        return envelope(200, "OK", "ok")

    guard = _guard_of(ge=1)

    async def twice(tenant: int = Depends(guard), again: int = Depends(guard)):
        return envelope(200, "OK", "ok")

    for endpoint in (extra, query, nested, twice):
        with pytest.raises(ValueError, match="cannot skip routing"):
            RouteFastPath(None, [_toy("/x", endpoint)])


def test_a_modelled_route_declared_to_answer_itself_is_refused():
    async def endpoint(tenant: int = Depends(_guard_of(ge=1))) -> dict:
        return {}

    with pytest.raises(ValueError, match="has a response model"):
        RouteFastPath(None, [_toy("/x", endpoint, response_model=dict)])


def _through(declared, method: str, path: str, body: bytes = b"", content_type: bytes = b"application/json"):
    """(answered by the fast path, status, headers, body) for one request to RouteFastPath on `declared`."""
    passed_on, sent = [], []

    async def inner(scope, receive, send):
        passed_on.append(scope["path"])

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {"type": "http", "method": method, "path": path, "root_path": "", "query_string": b"",
             "headers": [(b"content-type", content_type)], fastpath.BODY_KEY: body}
    asyncio.run(RouteFastPath(inner, [declared])(scope, receive, send))
    if passed_on:
        return False, None, None, None
    return True, sent[0]["status"], dict(sent[0]["headers"]), b"".join(m.get("body", b"") for m in sent[1:])


class Item(BaseModel):
    """A returned model, encoded without a response model."""

    name: str
    size: float


RETURNS = {"dict": {"a": 1, "when": date(2026, 1, 2), "big": 1e16, "é": "ü"}, "list": [1, "x", 0.1],
           "none": None, "text": "plain", "model": Item(name="n", size=2.5)}


@pytest.mark.parametrize("kind", sorted(RETURNS))
@pytest.mark.parametrize("status", [None, 201, 204])
def test_an_own_response_route_returning_a_value_answers_as_the_router(kind, status):
    async def endpoint(tenant: int = Depends(_guard_of(ge=1, le=10))):
        return RETURNS[kind]

    options = {"status_code": status} if status else {}
    declared = _toy("/x/{item}", endpoint, **options)
    answered, code, headers, body = _through(declared, "POST", "/api/v1/tenant/3/x/y")
    assert answered
    app = FastAPI()
    router = APIRouter()
    router.add_api_route("/x/{item}", endpoint, methods=["POST"], **options)
    app.include_router(router, prefix=TOY_PREFIX)
    with TestClient(app) as routed:
        expected = routed.post("/api/v1/tenant/3/x/y")
    assert (code, headers.get(b"content-type", b"").decode(), body) == \
        (expected.status_code, expected.headers.get("content-type", ""), expected.content)
    assert headers.get(b"content-length", b"").decode() == expected.headers.get("content-length", "")


@pytest.mark.parametrize("tenant,answered", [
    ("3", True), ("1", True), ("10", True), ("03", True), ("0", False), ("11", False), ("-1", False),
    ("+3", False), ("3.0", False), ("1e1", False), (" 3", False), ("3_0", False), ("abc", False),
    ("99999999999999999999999", False), ("\u0663", False)])
def test_an_int_path_parameter_is_taken_only_plain_and_within_bounds(tenant, answered):
    seen = []

    async def endpoint(request: Request, tenant: int = Depends(_guard_of(ge=1, le=10))):
        seen.append((tenant, request.path_params["tenant_id"]))
        return envelope(200, "OK", "ok")

    assert _through(_toy("/x", endpoint), "POST", f"/api/v1/tenant/{tenant}/x")[0] is answered
    if answered:
        assert seen == [(int(tenant), tenant)]  # read as pydantic reads it; the path keeps the text


def test_exclusive_bounds_are_checked_too():
    async def endpoint(tenant: int = Depends(_guard_of(gt=1, lt=5))):
        return envelope(200, "OK", "ok")

    declared = _toy("/x", endpoint)
    taken = [n for n in range(-1, 8) if _through(declared, "POST", f"/api/v1/tenant/{n}/x")[0]]
    assert taken == [2, 3, 4]
