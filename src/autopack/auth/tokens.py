"""Access tokens: RS256 JWTs with `kid`, verified with a pinned algorithm and required claims."""

from __future__ import annotations

import re
import secrets
import threading
import time
from datetime import timedelta
from typing import Any

import jwt

from autopack.auth.keys import keyring, verification_ring
from autopack.core.settings import get_settings
from autopack.db.base import utcnow
from autopack.db.models import User

# `sub` is a users.id: ASCII digits only (int() also reads "١" and " 1_0 "), no leading zero, and
# within the 32-bit integer column, so no lookup can overflow. `uk` is the user's token_key.
_SUBJECT = re.compile(r"[1-9][0-9]{0,9}")
MAX_USER_ID = 2**31 - 1
USER_KEY_CLAIM = "uk"
_USER_KEY = re.compile(r"[0-9a-f]{32}")


LEEWAY_SECONDS = 5
# Tokens verified lately (see decode_access_token), oldest first; bounded.
_VERIFIED_KEPT = 4096
_verified: dict[tuple, tuple[dict[str, Any], str]] = {}
_verified_lock = threading.Lock()


class InvalidToken(Exception):
    """The token is not acceptable (signature, algorithm, kid, claims or expiry)."""


def issue_access_token(user: User, *, expires_minutes: int | None = None) -> str:
    """A signed access token for `user`."""
    settings = get_settings()
    now = utcnow()
    minutes = expires_minutes or settings.access_token_expire_minutes
    key = keyring().active
    claims = {
        "iss": settings.jwt_issuer, "aud": settings.jwt_audience, "sub": str(user.id),
        "user_id": user.id, "username": user.username, "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=minutes)).timestamp()), "jti": secrets.token_hex(16),
        USER_KEY_CLAIM: user.token_key,
    }
    return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid})


def decode_access_token(token: str) -> dict[str, Any]:
    """The verified claims of `token` (`sub` a users.id in ASCII digits, `uk` present), or InvalidToken.

    A token verified before is taken again without its signature checked (an RSA check and the JWT
    parsing cost about 0.3 ms a request) while its key is still in the ring and it has not expired:
    the other checks gave the same answer then and cannot change, since the token cannot.
    """
    settings = get_settings()
    memo = (token, settings.jwt_audience, settings.jwt_issuer)
    known = _verified.get(memo)
    if known is not None:
        claims, kid = known
        if kid in verification_ring().keys and time.time() < claims["exp"] + LEEWAY_SECONDS:
            return dict(claims)
    claims, kid = _verify(token, settings)
    with _verified_lock:
        if len(_verified) >= _VERIFIED_KEPT:
            _verified.pop(next(iter(_verified)))  # the oldest
        _verified[memo] = (claims, kid)
    return dict(claims)


def _verify(token: str, settings: Any) -> tuple[dict[str, Any], str]:
    """The token's claims and key id after every check; InvalidToken otherwise."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidToken("malformed token") from exc
    if header.get("alg") != "RS256":
        raise InvalidToken("unexpected algorithm")
    ring = verification_ring()
    kid = header.get("kid") or ""
    key = ring.keys.get(kid)
    if key is None:
        raise InvalidToken("unknown key id")
    try:
        claims = jwt.decode(
            token, key.private_key.public_key(), algorithms=["RS256"], audience=settings.jwt_audience,
            issuer=settings.jwt_issuer, options={"require": ["exp", "iat", "aud", "iss", "sub"]},
            leeway=LEEWAY_SECONDS,
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    subject = claims.get("sub")
    if not isinstance(subject, str) or not _SUBJECT.fullmatch(subject) or int(subject) > MAX_USER_ID:
        raise InvalidToken("bad subject")
    user_key = claims.get(USER_KEY_CLAIM)
    if not isinstance(user_key, str) or not _USER_KEY.fullmatch(user_key):
        raise InvalidToken("missing or malformed user key")  # tokens issued before the claim existed
    return claims, kid
