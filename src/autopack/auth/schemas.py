"""Auth request and response models (reference §2.8 field names and bounds)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field

from autopack.auth.usernames import MAX_LENGTH, MIN_LENGTH, normalize_username, username_problem
from autopack.core.answers import Answer


def _clean_username(value: str) -> str:
    problem = username_problem(value)
    if problem:
        raise ValueError(problem)
    return normalize_username(value)


Username = Annotated[str, Field(min_length=MIN_LENGTH, max_length=MAX_LENGTH),
                     AfterValidator(_clean_username)]
Password = Annotated[str, Field(min_length=8, max_length=100)]


class RegisterRequest(BaseModel):
    """POST /api/auth/register body."""

    username: Username
    email: EmailStr
    password: Password


class UserResponse(BaseModel):
    """A user without secrets."""

    model_config = ConfigDict(from_attributes=True)
    username: str
    email: str
    id: int
    is_active: bool
    is_superuser: bool
    created_at: datetime
    updated_at: datetime


class MeResponse(UserResponse):
    """The signed-in user and the instance-level roles the user holds (approver, runner)."""

    roles: list[str] = []


class LoginRequest(BaseModel):
    """JSON login body (the form-encoded body of the reference is accepted too)."""

    username: Annotated[str, Field(min_length=1, max_length=255)]
    password: Annotated[str, Field(min_length=1, max_length=1024)]


class TokenResponse(BaseModel):
    """A bearer token."""

    access_token: str
    token_type: str = "bearer"


class KeyStatusResponse(BaseModel):
    """Whether signing keys are loaded and where they come from."""

    keys_loaded: bool
    source: str
    active_kid: str
    key_count: int


class Jwk(Answer):
    """One RSA public key (RFC 7517) that verifies tokens."""

    kty: Literal["RSA"]
    key_ops: list[str]
    n: str
    e: str
    alg: Literal["RS256"]
    use: Literal["sig"]
    kid: str


class Jwks(Answer):
    """GET /.well-known/jwks.json: the active key and those kept after rotation."""

    keys: list[Jwk]
