"""Users: registration, authentication and lookup."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from autopack.auth.passwords import burn_verification, hash_password, verify_password
from autopack.core.errors import BadRequest
from autopack.db.models import User


def username_key(username: str) -> str:
    """The case-folded form that must be unique ("Alice" and "alice" are one user)."""
    return username.casefold()


def create_user(session: Session, *, username: str, email: str, password: str,
                is_superuser: bool = False, is_active: bool = True) -> User:
    """Create a user; duplicate username (any case) or email → 400 as the reference words it."""
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


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with these credentials, or None (same work whether or not the user exists)."""
    user = session.scalars(select(User).where(User.username_key == username_key(username))).one_or_none()
    if user is None:
        burn_verification(password)
        return None
    if not verify_password(password, user.hashed_password):
        return None
    return user


def get_user(session: Session, user_id: int) -> User | None:
    """A user by id."""
    return session.get(User, user_id)


def find_user(session: Session, username: str) -> User | None:
    """A user by username (case-insensitive)."""
    return session.scalars(select(User).where(User.username_key == username_key(username))).one_or_none()


def set_password(session: Session, user: User, password: str) -> None:
    """Replace a user's password."""
    user.hashed_password = hash_password(password)
