"""Users: registration, authentication (behind the failed-login throttle) and lookup."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from autopack.audit import service as audit
from autopack.auth.passwords import burn_verification, hash_password, needs_rehash, verify_password
from autopack.auth.usernames import normalize_username, username_key, username_problem
from autopack.core.errors import BadRequest, Forbidden, Unprocessable
from autopack.core.ratelimit import Attempt, FailureGate
from autopack.core.settings import get_settings
from autopack.db.models import User

REGISTRATION_CLOSED = (
    "Registration is disabled on this server; an administrator creates accounts with "
    "`autopack users create` (or sets AUTOPACK_ALLOW_REGISTRATION=1)"
)
LOGIN_THROTTLED = "Too many failed login attempts"


def create_user(session: Session, *, username: str, email: str, password: str,
                is_superuser: bool = False, is_active: bool = True) -> User:
    """Create a user; duplicate username (any case or width) or email → 400 as the reference words it."""
    problem = username_problem(username)
    if problem:
        raise Unprocessable(problem)
    username = normalize_username(username)
    email = email.strip().lower()
    if session.scalar(select(User.id).where(User.username_key == username_key(username))) is not None:
        raise BadRequest("Username already registered")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise BadRequest("Email already registered")
    user = User(username=username, username_key=username_key(username), email=email,
                hashed_password=hash_password(password), is_superuser=is_superuser, is_active=is_active)
    try:
        with session.begin_nested():
            session.add(user)
    except IntegrityError:  # a concurrent registration took the name or email
        raise BadRequest("Username already registered") from None
    return user


def register(session: Session, *, username: str, email: str, password: str) -> User:
    """Self-registration: closed in production unless allowed; never a superuser, never a role."""
    settings = get_settings()
    if settings.is_production and not settings.allow_registration:
        raise Forbidden(REGISTRATION_CLOSED)
    user = create_user(session, username=username, email=email, password=password)
    audit.append_event(session, action="auth.user_registered", actor=f"user:{user.username}",
                       target_type="user", target_id=str(user.id))
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with these credentials, or None (same work whether or not the user exists)."""
    user = session.scalars(select(User).where(User.username_key == username_key(username))).one_or_none()
    if user is None:
        burn_verification(password)
        return None
    if not verify_password(password, user.hashed_password):
        return None
    if needs_rehash(user.hashed_password):  # a reference bcrypt hash: Argon2 from now on
        user.hashed_password = hash_password(password)
        session.flush()
    return user


def login_gate() -> FailureGate:
    """The failed-login throttle, from the AUTOPACK_LOGIN_* settings."""
    settings = get_settings()
    return FailureGate("login", limit=settings.login_max_failures,
                       window=settings.login_failure_window_seconds,
                       max_lock=settings.login_lockout_max_seconds, message=LOGIN_THROTTLED)


def admit_login(username: str, client: str) -> Attempt:
    """Count a login attempt under its username key and client address; 429 while either is locked."""
    return login_gate().enter({"username": username_key(username), "client": client})


def login(session: Session, attempt: Attempt, username: str, password: str) -> User | None:
    """The user these credentials name (an admitted attempt); audits the attempt and any lockout it starts."""
    gate = login_gate()
    user = authenticate(session, username, password)
    if user is None or not user.is_active:
        audit.append_event(session, action="auth.login_failed", actor="anonymous",
                           target_type="user", target_id=username[:64],
                           details={"reason": "inactive" if user is not None else "bad_credentials"})
        for label, (failures, seconds) in gate.failed(attempt).items():
            audit.append_event(session, action="auth.login_locked", actor="anonymous",
                               target_type="user" if label == "username" else "client",
                               target_id=username[:64] if label == "username" else attempt.keys[label][:64],
                               details={"failures": failures, "locked_seconds": seconds})
        return None
    gate.succeeded(attempt, reset=("username",))
    audit.append_event(session, action="auth.login_succeeded", actor=f"user:{user.username}",
                       target_type="user", target_id=str(user.id))
    return user


def abandon_login(attempt: Attempt) -> None:
    """Uncount an attempt that failed for a reason of ours (the database), not the caller's."""
    login_gate().abandon(attempt)


def get_user(session: Session, user_id: int) -> User | None:
    """A user by id."""
    return session.get(User, user_id)


def find_user(session: Session, username: str) -> User | None:
    """A user by username (case- and width-insensitive)."""
    return session.scalars(select(User).where(User.username_key == username_key(username))).one_or_none()


def set_password(session: Session, user: User, password: str) -> None:
    """Replace a user's password."""
    user.hashed_password = hash_password(password)
