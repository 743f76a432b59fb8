"""Look-alike names: usernames are NFKC-normalised and refuse invisible and bidirectional characters;
so do run, tier and phase ids (one helper, core/ids.py)."""

from __future__ import annotations

import pytest

from autopack.core.ids import hidden_characters, id_problem
from autopack.db.models import Run, User
from tests.conftest import run_payload
from tests.runs.helpers import count, rows

HIDDEN = ["\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
          "\u2060", "\u2063", "\u2066", "\u2067", "\u2068", "\u2069", "\ufeff", "\u00ad", "\u0085", "\u2028",
          "\u2029", "\u180e", "\u061c", "\U000e0041", "\u3164", "\u034f"]


def register(client, username: str, email: str | None = None):
    email = email or f"u{len(username)}{ord(username[-1])}@example.com"
    return client.post("/api/auth/register", json={"username": username, "password": "correct-horse",
                                                   "email": email})


@pytest.mark.parametrize("char", HIDDEN, ids=[f"U+{ord(c):04X}" for c in HIDDEN])
def test_usernames_with_hidden_characters_are_422(client, char):
    response = register(client, f"root{char}")
    assert response.status_code == 422
    message = response.json()["detail"][0]["msg"]
    assert "must not contain invisible or bidirectional control characters" in message
    assert f"U+{ord(char):04X}" in message
    assert register(client, f"ad{char}min").status_code == 422
    assert count(User) == 0


@pytest.mark.parametrize("lookalike", ["ｒｏｏｔ", "ＲＯＯＴ", "Root", "ʳᵒᵒᵗ"])
def test_width_and_case_variants_collide_with_the_existing_user(client, lookalike):
    assert register(client, "root", "root@example.com").status_code == 201
    response = register(client, lookalike, "other@example.com")
    assert response.status_code == 400
    assert response.json() == {"detail": "Username already registered"}
    assert count(User) == 1


def test_a_full_width_name_is_stored_in_its_normal_form(client):
    response = register(client, "ｒｏｏｔ", "root@example.com")
    assert response.status_code == 201 and response.json()["username"] == "root"
    assert [(u.username, u.username_key) for u in rows(User)] == [("root", "root")]


def test_logging_in_with_a_full_width_name_is_logging_in_as_that_user(client):
    register(client, "root", "root@example.com")
    response = client.post("/api/auth/login", data={"username": "ｒｏｏｔ", "password": "correct-horse"})
    assert response.status_code == 200
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {response.json()['access_token']}"})
    assert me.json()["username"] == "root"
    hidden = client.post("/api/auth/login", data={"username": "root\u200b", "password": "correct-horse"})
    assert hidden.status_code == 401


def test_normalisation_cannot_stretch_a_name_past_the_column():
    from autopack.auth.usernames import username_problem

    assert username_problem("ß" * 30) is not None  # the key ("ss" * 30) would not fit in 50 characters
    assert username_problem("\ufdfa" * 3) is not None  # one character, 18 once normalised
    assert username_problem("Zoë Smith") is None


def test_the_cli_path_normalises_too(client):
    from autopack.auth import service
    from autopack.core.database import session_scope
    from autopack.core.errors import Unprocessable

    with session_scope() as session, pytest.raises(Unprocessable):
        service.create_user(session, username="ad\u202emin", email="a@example.com", password="correct-horse")
    with session_scope() as session:
        assert service.create_user(session, username="ａｄｍｉｎ", email="a@example.com",
                                   password="correct-horse").username == "admin"


@pytest.mark.parametrize("char", ["\u202e", "\u200b", "\u2066", "\ufeff", "\u00ad"])
def test_run_ids_with_hidden_characters_are_422(client, runs_dir, char):
    response = client.post("/runs/start", json=run_payload(f"demo{char}exe.txt"))
    assert response.status_code == 422
    assert "invisible or bidirectional" in str(response.json())
    assert count(Run) == 0
    assert not runs_dir.exists()


@pytest.mark.parametrize("field", ["tier_id", "phase_id"])
def test_tier_and_phase_ids_with_hidden_characters_are_422(client, field):
    payload = run_payload(tiers=1, phases_per_tier=1)
    payload["phases"][0][field] = "F1\u202e"
    if field == "tier_id":
        payload["tiers"][0]["tier_id"] = "F1\u202e"
    assert client.post("/runs/start", json=payload).status_code == 422
    assert count(Run) == 0


@pytest.mark.parametrize("field", ["run_id", "phase_id"])
def test_approval_ids_with_hidden_characters_are_422(client, field):
    body = {"run_id": "run-1", "phase_id": "F1.1", field: "x\u202e1"}
    assert client.post("/approval/request", json={"run_id": "run-1", "phase_id": "F1.1"}).status_code != 422
    response = client.post("/approval/request", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", field]
    assert "invisible or bidirectional" in response.json()["detail"][0]["msg"]


def test_the_helper_names_what_it_found():
    assert hidden_characters("a\u200bb\u202ec\u200b") == ["U+200B", "U+202E"]
    assert hidden_characters("plain-id_1.2 é 漢字 🚀") == []
    assert hidden_characters("trailing\n") == ["U+000A"]
    assert id_problem("run\u202e", "run_id") == (
        "run_id must not contain invisible or bidirectional control characters (U+202E)")
