"""Failed logins are throttled per username key and per client address (in-memory counters)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from autopack.audit import service as audit
from autopack.core.database import session_scope
from autopack.core.ratelimit import FailureGate
from tests.auth.helpers import make_user

RIGHT, WRONG = "correct-horse", "wrong-password"


def login(client, username: str, password: str, *, as_json: bool = False):
    body = {"username": username, "password": password}
    return client.post("/api/auth/login", **({"json": body} if as_json else {"data": body}))


def events(action: str) -> list[dict]:
    with session_scope(writer=False) as session:
        page = audit.list_events(session, action=action).model_dump()["events"]
    return page


def test_thirty_wrong_passwords_then_the_right_one_is_refused(client):
    make_user("alice")
    codes = [login(client, "alice", WRONG).status_code for _ in range(30)]
    assert codes == [401] * 5 + [429] * 25
    right = login(client, "alice", RIGHT)
    assert right.status_code == 429
    assert right.json()["detail"] == (f"Too many failed login attempts; try again in "
                                      f"{right.headers['Retry-After']} seconds")
    assert 1 <= int(right.headers["Retry-After"]) <= 60


def test_the_lockout_passes_and_a_success_resets_the_username(make_client, monkeypatch):
    # A 4 s lockout: long enough that the refused attempts below still fall inside it on a loaded
    # machine (each login verifies a password hash), short enough to wait out.
    monkeypatch.setenv("AUTOPACK_LOGIN_LOCKOUT_MAX_SECONDS", "4")
    monkeypatch.setenv("AUTOPACK_LOGIN_MAX_FAILURES", "3")
    attacker = make_client(client=("203.0.113.10", 40000))
    owner = make_client(client=("198.51.100.20", 40000))
    later = make_client(client=("192.0.2.30", 40000))
    make_user("alice")
    assert [login(attacker, "alice", WRONG).status_code for _ in range(4)] == [401, 401, 401, 429]
    assert login(owner, "alice", RIGHT).status_code == 429  # locked for the owner's address too
    time.sleep(4.2)
    assert login(owner, "alice", RIGHT).status_code == 200
    # the success forgot the username's failures: two more are below the limit again
    assert [login(later, "alice", WRONG).status_code for _ in range(2)] == [401, 401]
    assert login(later, "alice", RIGHT).status_code == 200


def test_backoff_doubles_up_to_the_cap():
    gate = FailureGate("t", limit=5, window=900, max_lock=900, message="m")
    assert [gate.backoff(n) for n in range(3, 12)] == [0, 0, 60, 120, 240, 480, 900, 900, 900]
    assert FailureGate("t", limit=1, window=9, max_lock=10 ** 6, message="m").backoff(10 ** 6) == 10 ** 6


def test_one_client_address_spraying_many_usernames_is_stopped(make_client):
    sprayer = make_client(client=("203.0.113.11", 40000))
    elsewhere = make_client(client=("198.51.100.21", 40000))
    make_user("alice")
    codes = [login(sprayer, f"user{i}", WRONG).status_code for i in range(6)]
    assert codes == [401] * 5 + [429]
    assert login(sprayer, "alice", RIGHT).status_code == 429
    assert login(elsewhere, "alice", RIGHT).status_code == 200


def test_case_and_width_variants_share_one_counter(make_client):
    make_user("alice")
    variants = ["alice", "ALICE", "Ａｌｉｃｅ", "ａｌｉｃｅ", "AlIcE"]
    for i, name in enumerate(variants):
        assert login(make_client(client=(f"203.0.113.{50 + i}", 40000)), name, WRONG).status_code == 401
    assert login(make_client(client=("192.0.2.99", 40000)), "alice", RIGHT).status_code == 429


def test_form_and_json_logins_share_the_counter(client):
    make_user("alice")
    codes = [login(client, "alice", WRONG, as_json=i % 2 == 1).status_code for i in range(5)]
    assert codes == [401] * 5
    assert login(client, "alice", RIGHT, as_json=True).status_code == 429
    assert login(client, "alice", RIGHT).status_code == 429


def test_unknown_usernames_lock_like_known_ones(make_client):
    """The answer never tells whether the account exists."""
    make_user("alice")
    for i, name in enumerate(("alice", "ghost")):
        client = make_client(client=(f"203.0.113.{i + 1}", 40000))
        codes = [login(client, name, WRONG).status_code for _ in range(6)]
        assert codes == [401] * 5 + [429], name


def test_parallel_guesses_cannot_slip_between_two_failures(client):
    make_user("alice")
    with ThreadPoolExecutor(max_workers=10) as pool:
        codes = list(pool.map(lambda _: login(client, "alice", WRONG).status_code, range(30)))
    assert set(codes) == {401, 429}
    assert codes.count(401) <= 5  # at most `limit` passwords were ever checked
    assert login(client, "alice", RIGHT).status_code == 429


def test_lockouts_are_audited(client):
    make_user("alice")
    for _ in range(7):
        login(client, "alice", WRONG)
    locked = events("auth.login_locked")
    assert sorted((e["target_type"], e["target_id"], e["details"]["failures"], e["details"]["locked_seconds"])
                  for e in locked) == [("client", "testclient", 5, 60), ("user", "alice", 5, 60)]
    assert len(events("auth.login_failed")) == 5  # refused attempts never reach the password check


def test_limit_setting_is_honoured(make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_LOGIN_MAX_FAILURES", "2")
    client = make_client()
    make_user("alice")
    assert [login(client, "alice", WRONG).status_code for _ in range(3)] == [401, 401, 429]


def test_an_attempt_our_database_failed_is_not_counted(make_client, monkeypatch):
    from autopack.auth import service

    client = make_client(raise_server_exceptions=False)
    make_user("alice")
    real = service.authenticate

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(service, "authenticate", broken)
    assert [login(client, "alice", WRONG).status_code for _ in range(8)] == [500] * 8
    monkeypatch.setattr(service, "authenticate", real)
    assert login(client, "alice", RIGHT).status_code == 200
