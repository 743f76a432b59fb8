"""Tenant administration models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Role = Literal["viewer", "operator", "admin"]


class TenantCreate(BaseModel):
    """POST /api/v1/tenants body."""

    model_config = ConfigDict(extra="forbid")
    slug: Annotated[str, Field(min_length=1, max_length=64)]
    name: Annotated[str, Field(min_length=1, max_length=255)]


class TenantOut(BaseModel):
    """A tenant."""

    model_config = ConfigDict(from_attributes=True)
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


class MemberOut(BaseModel):
    """A membership."""

    user_id: int
    username: str
    role: Role
    created_at: datetime
    updated_at: datetime
