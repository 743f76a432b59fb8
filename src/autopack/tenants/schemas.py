"""Tenant administration: request bodies and answers (inside the /api/v1 envelope's `data`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from autopack.core.answers import Answer

Role = Literal["viewer", "operator", "admin"]


class TenantCreate(BaseModel):
    """POST /api/v1/tenants body."""

    model_config = ConfigDict(extra="forbid")
    slug: Annotated[str, Field(min_length=1, max_length=64)]
    name: Annotated[str, Field(min_length=1, max_length=255)]


class TenantOut(Answer):
    """A tenant."""

    model_config = ConfigDict(from_attributes=True, extra="forbid")
    id: int
    slug: str
    name: str
    created_at: datetime


class MemberSet(BaseModel):
    """Add a member or change a member's role: by user_id or username."""

    model_config = ConfigDict(extra="forbid")
    user_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    username: Annotated[str, Field(min_length=1, max_length=50)] | None = None
    role: Role

    @model_validator(mode="after")
    def _one_user(self) -> MemberSet:
        if (self.user_id is None) == (self.username is None):
            raise ValueError("give exactly one of user_id or username")
        return self


class MemberOut(Answer):
    """A membership."""

    user_id: int
    username: str
    role: Role
    created_at: datetime
    updated_at: datetime


class TenantPage(Answer):
    """GET /tenants: a page of tenants."""

    tenants: list[TenantOut]
    total: int
    limit: int
    offset: int


class MemberPage(Answer):
    """GET /tenants/{id}/members: a page of memberships."""

    members: list[MemberOut]
    total: int
    limit: int
    offset: int


class MemberRemoved(Answer):
    """DELETE /tenants/{id}/members/{user_id}."""

    removed: bool
    user_id: int


class Membership(Answer):
    """GET /tenant/{id}/membership: the caller's role in the tenant."""

    tenant_id: int
    role: str
    actor: str
