"""Sign-in, users, API tokens and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from service.api.schemas import Request, Response
from service.auth.password_policy import MAX_LENGTH, MIN_LENGTH
from service.auth.principal import Scope
from service.core.site import Slug
from service.store.models import Role, TokenKind

UserName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$", description="1-64 characters")]
Password = Annotated[str, Field(min_length=MIN_LENGTH, max_length=MAX_LENGTH)]
GridIds = Annotated[list[Slug], Field(max_length=500)]


class LoginRequest(Request):
    # Any string up to the bounds: a wrong name must read as a failed login (401), not a 422.
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=MAX_LENGTH)]


class UserOut(Response):
    name: str
    role: Role
    grids: list[str] = Field(validation_alias="grid_ids")
    unit: str | None = Field(validation_alias="unit_id", description="a unit handler's own unit")
    active: bool
    created_at: datetime


class LoginResponse(Response):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    user: UserOut


class Me(Response):
    name: str
    kind: TokenKind
    role: Role | None
    grids: list[str] | None = Field(description="the grids a unit handler is limited to; null: every grid")
    scopes: list[Scope]


class UserCreate(Request):
    name: UserName
    role: Role
    password: Password
    grids: GridIds = Field(default_factory=list, description="unit handlers only: the grids it works in")
    unit: Slug | None = Field(None, description="unit handlers only: its unit (a handler needs a unit or a grid)")


class UserUpdate(Request):
    role: Role | None = None
    grids: GridIds | None = None
    unit: Slug | None = Field(None, description="a unit handler's unit; null clears it, leaving it out keeps it")
    password: Password | None = None
    active: bool | None = None


class TokenCreate(Request):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    scopes: Annotated[list[Scope], Field(default_factory=lambda: [Scope.INGEST], min_length=1, max_length=len(Scope))]
    days: Annotated[float, Field(gt=0, le=366)] = 90


class TokenOut(Response):
    id: int
    kind: TokenKind
    name: str
    user_id: int | None
    scopes: list[Scope]
    created_by: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="the secret, shown only in this response")


class AuditOut(Response):
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    details: dict[str, Any]
